package oauth

import (
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/keys"
	"github.com/fdxd/fdxd/internal/maintenance"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/password"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/sqlite"
	"github.com/fdxd/fdxd/internal/web"
)

// The fuzz targets drive the real handlers in-process (the package's own
// test cannot import servertest, which imports this package) on a SQLite
// store holding clients, a user, an unused code and a live refresh token,
// so that random input also reaches the deeper paths.
const (
	fuzzIssuer         = "http://127.0.0.1:9"
	fuzzClientID       = "fuzz-confidential"
	fuzzClientSecret   = "fuzz-client-secret-0123456789abcdef"
	fuzzPublicID       = "fuzz-public-app"
	fuzzPKCEClientID   = "fuzz-pkce-required"
	fuzzRedirectURI    = "https://agg.example/cb"
	fuzzLoopbackURI    = "http://127.0.0.1:8787/callback?keep=1"
	fuzzCode           = "fuzz-code-never-redeemed-0123456789"
	fuzzRefreshToken   = "fuzz-refresh-token-0123456789abcdef"
	fuzzCodeVerifier   = "fuzz-verifier-0123456789-0123456789-0123456789"
	fuzzCodeChallenge  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
	fuzzSubject        = "usr_fuzz_00001"
	fuzzPasswordForLog = "fuzz-user-password"
)

// fuzzErrorCodes are the error values an endpoint may answer with.
var fuzzErrorCodes = []string{ErrCodeInvalidRequest, ErrCodeInvalidClient, ErrCodeInvalidGrant, ErrCodeUnauthorizedClient,
	ErrCodeUnsupportedGrantType, ErrCodeUnsupportedResponseType, ErrCodeInvalidScope, ErrCodeAccessDenied,
	ErrCodeTemporarilyUnavailable, ErrCodeLoginRequired, ErrCodeConsentRequired, ErrCodeRequestNotSupported,
	ErrCodeRequestURINotSupported, ErrCodeInvalidToken, ErrCodeInsufficientScope, ErrCodeRedirectURIMismatch,
	ErrCodeUnknownClient}

type fuzzEnv struct {
	srv     *Server
	handler http.Handler
	clients map[string]store.Client
}

// newFuzzEnv builds the authorization server as server.New does, with a
// fixed clock and no client rate limit (a fuzzer's request rate would
// otherwise be answered, correctly, with 503).
func newFuzzEnv(tb testing.TB) *fuzzEnv {
	tb.Helper()
	ctx := tb.Context()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "fuzz.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	logger := slog.New(slog.DiscardHandler)
	sealer, err := secret.NewSealer(secret.NewKey())
	if err != nil {
		tb.Fatal(err)
	}
	km, err := keys.New(keys.Config{Keys: st, Settings: st, Sealer: sealer, SignedTokenLifetime: DefaultIDTokenTTL, Now: clock, Logger: logger})
	if err != nil {
		tb.Fatal(err)
	}
	if err := km.Step(ctx); err != nil {
		tb.Fatal(err)
	}
	tokens, err := NewAccessTokens(secret.NewKey(), st, DefaultAccessTokenTTL, clock)
	if err != nil {
		tb.Fatal(err)
	}
	pages, err := web.New("Fuzz Bank", "")
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := New(Config{Issuer: fuzzIssuer, Store: st, Keys: km, AccessTokens: tokens, Maintenance: maintenance.New(st, clock),
		Pages: pages, Observer: observe.New(logger, clock), Logger: logger, Now: clock, ClientRateLimit: -1,
		PasswordParams: password.Params{Memory: 1024, Time: 1, Threads: 1}})
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Mount(mux)

	env := &fuzzEnv{srv: srv, handler: mux, clients: map[string]store.Client{}}
	grantTypes := []string{GrantAuthorizationCode, GrantRefreshToken}
	for _, c := range []store.Client{
		{ID: fuzzClientID, SecretHash: secret.Hash(fuzzClientSecret), RedirectURIs: []string{fuzzRedirectURI, fuzzLoopbackURI}, GrantTypes: grantTypes},
		{ID: fuzzPublicID, Public: true, RedirectURIs: []string{"com.example.app:/cb"}, GrantTypes: grantTypes, Scopes: []string{ScopeOpenID}},
		{ID: fuzzPKCEClientID, SecretHash: secret.Hash(fuzzClientSecret), RequirePKCE: true, RedirectURIs: []string{fuzzRedirectURI},
			GrantTypes: []string{GrantAuthorizationCode}},
	} {
		c.Name, c.CreatedAt, c.UpdatedAt = c.ID, now, now
		if err := st.CreateClient(ctx, c); err != nil {
			tb.Fatal(err)
		}
		env.clients[c.ID] = c
	}
	user := store.User{ID: "u_fuzz", Subject: fuzzSubject, Username: "fuzz", CreatedAt: now, UpdatedAt: now,
		PasswordHash: password.Hash(fuzzPasswordForLog, password.Params{Memory: 1024, Time: 1, Threads: 1})}
	if err := st.CreateUser(ctx, user); err != nil {
		tb.Fatal(err)
	}
	code := func(value, grantID, challenge string) store.AuthCode {
		return store.AuthCode{Hash: secret.Hash(value), GrantID: grantID, OAuthSessionID: "ses_fuzz_" + grantID, ClientID: fuzzClientID,
			UserID: user.ID, Subject: user.Subject, RedirectURI: fuzzRedirectURI, Scopes: []string{ScopeOpenID, ScopeOfflineAccess},
			State: "fuzz-state", CodeChallenge: challenge, CodeChallengeMethod: map[bool]string{true: "S256"}[challenge != ""],
			AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(DefaultCodeTTL)}
	}
	// A code that stays unused until the fuzzer redeems it, one with PKCE,
	// and a redeemed one whose grant holds a live refresh token.
	for _, c := range []store.AuthCode{code(fuzzCode, "grant_fuzz_1", ""), code(fuzzCode+"-pkce", "grant_fuzz_2", fuzzCodeChallenge),
		code("fuzz-code-redeemed", "grant_fuzz_3", "")} {
		if err := st.CreateAuthCode(ctx, c); err != nil {
			tb.Fatal(err)
		}
	}
	g := store.Grant{ID: "grant_fuzz_3", OAuthSessionID: "ses_fuzz_grant_fuzz_3", ClientID: fuzzClientID, UserID: user.ID,
		Subject: user.Subject, Scopes: []string{ScopeOpenID, ScopeOfflineAccess}, AuthTime: now, CreatedAt: now,
		ExpiresAt: now.Add(DefaultRefreshTokenTTL)}
	err = st.RedeemAuthCode(ctx, store.CodeRedemption{CodeHash: secret.Hash("fuzz-code-redeemed"), Now: now, Grant: g,
		RefreshToken: &store.RefreshToken{Hash: secret.Hash(fuzzRefreshToken), GrantID: g.ID, ClientID: fuzzClientID,
			CreatedAt: now, ExpiresAt: g.ExpiresAt}})
	if err != nil {
		tb.Fatal(err)
	}
	return env
}

func (e *fuzzEnv) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

// checkJSONError checks an error answer of a JSON endpoint.
func checkJSONError(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("status %d with a body that is not JSON: %q", w.Code, w.Body.String())
	}
	if !slices.Contains(fuzzErrorCodes, body.Error) {
		t.Fatalf("status %d with error %q, not an OAuth error code", w.Code, body.Error)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error answered as %q", ct)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Fatal("error without Cache-Control: no-store")
	}
}

// checkAuthorizeAnswer checks what /authorize may answer: a redirect to
// the login page, an error redirect to a registered redirect URI (only when
// the request named it exactly), or an HTML error page.
func (e *fuzzEnv) checkAuthorizeAnswer(t *testing.T, w *httptest.ResponseRecorder, clientID, redirectURI, state string) {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("authorize answered %d: %s", w.Code, w.Body.String())
	}
	if w.Code == http.StatusSeeOther {
		loc := w.Header().Get("Location")
		if strings.HasPrefix(loc, "/login?ar=") {
			if !slices.Contains(e.clients[clientID].RedirectURIs, redirectURI) {
				t.Fatalf("sign-in started for client %q with an unregistered redirect_uri %q", clientID, redirectURI)
			}
			return
		}
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("Location %q does not parse: %v", loc, err)
		}
		c, ok := e.clients[clientID]
		if !ok || !slices.Contains(c.RedirectURIs, redirectURI) {
			t.Fatalf("redirected to %q for client %q, redirect_uri %q: only a registered URI may be redirected to", loc, clientID, redirectURI)
		}
		base := *u
		q := base.Query()
		base.RawQuery = ""
		registered, _ := url.Parse(redirectURI)
		registered.RawQuery = ""
		if base.String() != registered.String() {
			t.Fatalf("redirected to %q; want the registered %q", loc, redirectURI)
		}
		if q.Get("error") == "" || !slices.Contains(fuzzErrorCodes, q.Get("error")) || q.Get("iss") != fuzzIssuer {
			t.Fatalf("error redirect %q lacks an OAuth error or iss", loc)
		}
		if got := q.Get("state"); got != "" && got != state {
			t.Fatalf("state came back as %q; sent %q", got, state)
		}
		if strings.Contains(redirectURI, "keep=1") && q.Get("keep") != "1" {
			t.Fatalf("the registered URI's own query was lost: %q", loc)
		}
		return
	}
	if w.Code < 400 {
		t.Fatalf("authorize answered %d %v", w.Code, w.Header())
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("error page served as %q", ct)
	}
	if !strings.Contains(w.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatal("error page without frame-ancestors 'none'")
	}
}

// FuzzAuthorizeParams feeds raw query strings to the parameter parser, the
// validator (for a confidential, a public and a PKCE-requiring client) and
// the /authorize handler, by GET and by POST.
func FuzzAuthorizeParams(f *testing.F) {
	valid := url.Values{"response_type": {"code"}, "client_id": {fuzzClientID}, "redirect_uri": {fuzzRedirectURI},
		"scope": {"openid offline_access"}, "state": {"st-123"}}
	seeds := []string{
		valid.Encode(),
		valid.Encode() + "&code_challenge=" + fuzzCodeChallenge + "&code_challenge_method=S256&nonce=n-1&prompt=login&max_age=0&login_hint=alice",
		valid.Encode() + "&prompt=none",
		valid.Encode() + "&prompt=none%20login",
		valid.Encode() + "&code_challenge=" + fuzzCodeChallenge + "&code_challenge_method=plain",
		valid.Encode() + "&state=a&state=b",
		valid.Encode() + "&scope=openid",
		valid.Encode() + "&response_mode=fragment",
		valid.Encode() + "&request=eyJhbGciOiJub25lIn0.e30.",
		valid.Encode() + "&max_age=-1",
		valid.Encode() + "&max_age=99999999999999999999999",
		strings.Replace(valid.Encode(), "scope=openid+offline_access", "scope=openid+accounts", 1),
		strings.Replace(valid.Encode(), "response_type=code", "response_type=token", 1),
		strings.Replace(valid.Encode(), "response_type=code", "response_type=code+id_token", 1),
		strings.Replace(valid.Encode(), url.QueryEscape(fuzzRedirectURI), url.QueryEscape(fuzzRedirectURI+"/"), 1),
		strings.Replace(valid.Encode(), url.QueryEscape(fuzzRedirectURI), url.QueryEscape(fuzzLoopbackURI), 1),
		strings.Replace(valid.Encode(), url.QueryEscape(fuzzRedirectURI), url.QueryEscape("HTTPS://agg.example/cb"), 1),
		"response_type=code&client_id=" + fuzzPublicID + "&redirect_uri=com.example.app%3A%2Fcb&scope=openid&state=x",
		"response_type=code&client_id=" + fuzzPKCEClientID + "&redirect_uri=" + url.QueryEscape(fuzzRedirectURI) + "&scope=openid",
		"client_id=unknown-client&redirect_uri=https%3A%2F%2Fevil.example%2F",
		"client_id=" + fuzzClientID + "&client_id=" + fuzzClientID + "&redirect_uri=" + url.QueryEscape(fuzzRedirectURI),
		"client_id=" + fuzzClientID,
		"",
		"&&&==&",
		"%",
		"%zz=1",
		"a=%ff%fe",
		"state=%00%01%02&client_id=" + fuzzClientID + "&redirect_uri=" + url.QueryEscape(fuzzRedirectURI),
		"client_id=" + fuzzClientID + ";redirect_uri=x",
		"scope=" + strings.Repeat("openid+", 2000),
		"state=" + strings.Repeat("s", 3000) + "&" + valid.Encode(),
		"client_id=\u202e\u0000\uffff&redirect_uri=%C0%AF",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	env := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, query string) {
		raw, perr := parseRaw(query)
		if perr != nil {
			if perr.Status < 400 || perr.Status >= 500 || perr.Code != ErrCodeInvalidRequest {
				t.Fatalf("parseRaw error %+v", perr)
			}
		} else if p, perr := raw.single(); perr == nil {
			for _, c := range env.clients {
				ap, e := validateAuthorize(c, p)
				if e != nil {
					if e.Status < 400 || e.Status >= 500 || !slices.Contains(fuzzErrorCodes, e.Code) {
						t.Fatalf("validateAuthorize error %+v", e)
					}
					continue
				}
				if p["response_type"] != "code" || len(ap.scopes) == 0 {
					t.Fatalf("accepted response_type %q scopes %v", p["response_type"], ap.scopes)
				}
				for _, sc := range ap.scopes {
					if !slices.Contains(scopesAllowed(c), sc) {
						t.Fatalf("accepted scope %q for client %s", sc, c.ID)
					}
				}
				if (c.Public || c.RequirePKCE) && ap.codeChallenge == "" {
					t.Fatalf("client %s accepted without PKCE", c.ID)
				}
				if ap.codeChallenge != "" && (ap.codeChallengeMethod != "S256" || !validS256Challenge(ap.codeChallenge)) {
					t.Fatalf("accepted code_challenge %q method %q", ap.codeChallenge, ap.codeChallengeMethod)
				}
			}
		}

		var clientID, redirectURI, state string
		if raw != nil {
			clientID, redirectURI, state = raw.first("client_id"), raw.first("redirect_uri"), raw.first("state")
		}
		get := httptest.NewRequest(http.MethodGet, "/authorize", nil)
		get.URL.RawQuery = query
		env.checkAuthorizeAnswer(t, env.serve(get), clientID, redirectURI, state)

		post := httptest.NewRequest(http.MethodPost, "/authorize", strings.NewReader(query))
		post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		env.checkAuthorizeAnswer(t, env.serve(post), clientID, redirectURI, state)
	})
}

// fuzzEndpoints are the form endpoints FuzzTokenRequest drives.
var fuzzEndpoints = []string{"/token", "/revoke", "/introspect"}

// FuzzTokenRequest posts random bodies, content types and Authorization
// headers to /token, /revoke and /introspect: never a 5xx, never a panic,
// always an OAuth JSON error or a well-formed success.
func FuzzTokenRequest(f *testing.F) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(fuzzClientID+":"+fuzzClientSecret))
	form := "application/x-www-form-urlencoded"
	type seed struct {
		endpoint           uint8
		contentType, authz string
		body               string
	}
	seeds := []seed{
		{0, form, basic, "grant_type=authorization_code&code=" + fuzzCode + "&redirect_uri=" + url.QueryEscape(fuzzRedirectURI)},
		{0, form, basic, "grant_type=authorization_code&code=" + fuzzCode + "-pkce&redirect_uri=" + url.QueryEscape(fuzzRedirectURI) + "&code_verifier=" + fuzzCodeVerifier},
		{0, form, basic, "grant_type=authorization_code&code=fuzz-code-redeemed&redirect_uri=" + url.QueryEscape(fuzzRedirectURI)},
		{0, form, basic, "grant_type=refresh_token&refresh_token=" + fuzzRefreshToken},
		{0, form, basic, "grant_type=refresh_token&refresh_token=" + fuzzRefreshToken + "&scope=openid"},
		{0, form, basic, "grant_type=refresh_token&refresh_token=" + fuzzRefreshToken + "&scope=openid+email"},
		{0, form + "; charset=UTF-8", "", "grant_type=refresh_token&refresh_token=" + fuzzRefreshToken + "&client_id=" + fuzzClientID + "&client_secret=" + fuzzClientSecret},
		{0, form, "", "grant_type=refresh_token&refresh_token=x&client_id=" + fuzzPublicID},
		{0, form, basic, "grant_type=refresh_token&refresh_token=x&client_secret=" + fuzzClientSecret},
		{0, form, basic, "grant_type=refresh_token&refresh_token=x&client_id=other"},
		{0, form, basic, "grant_type=password&username=a&password=b"},
		{0, form, basic, "grant_type=authorization_code&grant_type=refresh_token"},
		{0, form, basic, ""},
		{0, form + "; charset=ISO-8859-1", basic, "grant_type=refresh_token"},
		{0, "multipart/form-data; boundary=x", basic, "--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nrefresh_token\r\n--x--"},
		{0, "application/json", basic, `{"grant_type":"refresh_token"}`},
		{0, "", "", "grant_type=refresh_token"},
		{0, form, "Bearer abc", "grant_type=refresh_token"},
		{0, form, "Basic", "grant_type=refresh_token"},
		{0, form, "Basic !!!", "grant_type=refresh_token"},
		{0, form, "Basic " + base64.StdEncoding.EncodeToString([]byte("no-colon")), "grant_type=refresh_token"},
		{0, form, "Basic " + base64.StdEncoding.EncodeToString([]byte("%zz:%zz")), "grant_type=refresh_token"},
		{0, form, basic, "grant_type=refresh_token&refresh_token=%ff%fe"},
		{0, form, basic, "grant_type=refresh_token&refresh_token=" + strings.Repeat("r", 9000)},
		{0, form, basic, strings.Repeat("a=1&", 20000)},
		{0, form, basic, "%"},
		{0, form, basic, "grant_type=authorization_code;code=x"},
		{1, form, basic, "token=" + fuzzRefreshToken + "&token_type_hint=refresh_token"},
		{1, form, basic, "token=fdxat1.AAAA.BBBB"},
		{1, form, "", "token=x"},
		{2, form, basic, "token=" + fuzzRefreshToken},
		{2, form, basic, "token=fdxat1." + strings.Repeat("A", 80)},
		{2, form, basic, "token="},
	}
	for _, s := range seeds {
		f.Add(s.endpoint, s.contentType, s.authz, s.body)
	}
	env := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, endpoint uint8, contentType, authorization, body string) {
		path := fuzzEndpoints[int(endpoint)%len(fuzzEndpoints)]
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		w := env.serve(r)
		if w.Code >= 500 {
			t.Fatalf("POST %s answered %d: %s", path, w.Code, w.Body.String())
		}
		if w.Code != http.StatusOK {
			checkJSONError(t, w)
			if w.Code == http.StatusUnauthorized && strings.HasPrefix(strings.ToLower(authorization), "basic ") &&
				!strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Basic ") {
				t.Fatal("401 to a Basic attempt without WWW-Authenticate: Basic")
			}
			return
		}
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("POST %s 200 without Cache-Control: no-store", path)
		}
		switch path {
		case "/token":
			var tok tokenResponse
			if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" || tok.TokenType != "Bearer" ||
				tok.ExpiresIn != int64(DefaultAccessTokenTTL/time.Second) {
				t.Fatalf("token success %q", w.Body.String())
			}
		case "/introspect":
			var in introspection
			if err := json.Unmarshal(w.Body.Bytes(), &in); err != nil {
				t.Fatalf("introspection %q: %v", w.Body.String(), err)
			}
		}
	})
}

// FuzzBasicAuth checks the Basic credentials decoder: any id and secret
// survive the RFC 6749 §2.3.1 encoding, no input panics, and through /token
// only the real pair authenticates.
func FuzzBasicAuth(f *testing.F) {
	f.Add(fuzzClientID, fuzzClientSecret, "")
	f.Add("id:with:colons", "secret with spaces+plus%", "")
	f.Add("", "", "Og==")
	f.Add("ünïcödé", "\x00\xff", "%%%")
	f.Add("a", "b", base64.StdEncoding.EncodeToString([]byte(fuzzClientID+":"+fuzzClientSecret)))
	f.Add("a", "b", base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(fuzzClientID)+":"+url.QueryEscape(fuzzClientSecret)+"%")))
	f.Add("a", "b", base64.RawStdEncoding.EncodeToString([]byte("x:y")))
	f.Add("a", "b", base64.URLEncoding.EncodeToString([]byte("\xfb\xff:\xfe")))
	f.Add("a", "b", " "+base64.StdEncoding.EncodeToString([]byte("x:y"))+" ")
	env := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, id, sec, raw string) {
		enc := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(sec)))
		gotID, gotSec, ok := parseBasic(enc)
		if !ok || gotID != id || gotSec != sec {
			t.Fatalf("parseBasic(encode(%q, %q)) = %q, %q, %v", id, sec, gotID, gotSec, ok)
		}

		if _, _, ok := parseBasic(raw); ok {
			decoded, err := base64.StdEncoding.DecodeString(raw)
			if err != nil || !strings.Contains(string(decoded), ":") {
				t.Fatalf("parseBasic accepted %q, which is not base64 of id:secret", raw)
			}
		}
		for _, header := range []string{"Basic " + raw, "basic " + enc} {
			r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader("grant_type=refresh_token&refresh_token=not-a-token"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Authorization", header)
			w := env.serve(r)
			checkJSONError(t, w)
			var body struct{ Error string }
			json.Unmarshal(w.Body.Bytes(), &body)
			hid, hsec, hok := id, sec, true
			if header == "Basic "+raw {
				hid, hsec, hok = parseBasic(strings.TrimSpace(raw))
			}
			authentic := hok && ((hid == fuzzClientID || hid == fuzzPKCEClientID) && hsec == fuzzClientSecret)
			switch {
			case authentic && body.Error != ErrCodeInvalidGrant && body.Error != ErrCodeUnauthorizedClient:
				t.Fatalf("Authorization %q: the real credentials got %d %s", header, w.Code, w.Body.String())
			case !authentic && (w.Code != http.StatusUnauthorized || body.Error != ErrCodeInvalidClient):
				t.Fatalf("Authorization %q (id %q): %d %s; want 401 invalid_client", header, hid, w.Code, w.Body.String())
			case !authentic && w.Header().Get("WWW-Authenticate") == "":
				t.Fatalf("Authorization %q (id %q): 401 without WWW-Authenticate: Basic; RFC 6749 §5.2 requires it whenever "+
					"the client tried Basic (authenticateClient must pass usedBasic to every invalidClient after Basic was seen)", header, hid)
			}
		}
	})
}
