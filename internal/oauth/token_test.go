package oauth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/server"
	"github.com/fdxd/fdxd/internal/server/servertest"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/sqlite"
)

type tokenCase struct {
	name        string
	contentType string
	body        string
	user, pass  string
	wantStatus  int
	wantError   string
	wantBasic   bool
}

func postRaw(t *testing.T, s *servertest.Server, path string, c tokenCase) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.Issuer+path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	ct := c.contentType
	if ct == "" {
		ct = "application/x-www-form-urlencoded"
	}
	req.Header.Set("Content-Type", ct)
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body []byte
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			break
		}
	}
	return resp, body
}

// checkTokenError asserts an RFC 6749 §5.2 error response.
func checkTokenError(t *testing.T, resp *http.Response, body []byte, c tokenCase) {
	t.Helper()
	if resp.StatusCode != c.wantStatus {
		t.Fatalf("status %d; want %d (body %s)", resp.StatusCode, c.wantStatus, body)
	}
	m := tokenJSON(t, body)
	if m["error"] != c.wantError {
		t.Fatalf("error = %v; want %s (body %s)", m["error"], c.wantError, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("Cache-Control = %q; want no-store", resp.Header.Get("Cache-Control"))
	}
	if got := resp.Header.Get("WWW-Authenticate") != ""; got != c.wantBasic {
		t.Fatalf("WWW-Authenticate present = %v; want %v", got, c.wantBasic)
	}
}

func TestTokenErrors(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	noRefresh := store.Client{ID: "code-only-client", SecretHash: s.Client.SecretHash, RedirectURIs: s.Client.RedirectURIs,
		GrantTypes: []string{"authorization_code"}}
	if err := s.Store.CreateClient(t.Context(), noRefresh); err != nil {
		t.Fatal(err)
	}
	id, sec := servertest.ClientID, servertest.ClientSecret
	cases := []tokenCase{
		{name: "no client authentication", body: "grant_type=authorization_code&code=x&redirect_uri=y",
			wantStatus: 401, wantError: "invalid_client"},
		{name: "wrong secret (Basic)", body: "grant_type=authorization_code&code=x&redirect_uri=y", user: id, pass: "wrong",
			wantStatus: 401, wantError: "invalid_client", wantBasic: true},
		{name: "unknown client (Basic)", body: "grant_type=authorization_code&code=x&redirect_uri=y", user: "nobody-here", pass: sec,
			wantStatus: 401, wantError: "invalid_client", wantBasic: true},
		{name: "wrong secret (post)", body: "grant_type=authorization_code&code=x&redirect_uri=y&client_id=" + id + "&client_secret=wrong",
			wantStatus: 401, wantError: "invalid_client"},
		{name: "unknown client (post)", body: "grant_type=authorization_code&code=x&redirect_uri=y&client_id=nobody&client_secret=x",
			wantStatus: 401, wantError: "invalid_client"},
		{name: "two authentication methods", body: "grant_type=authorization_code&client_secret=" + sec, user: id, pass: sec,
			wantStatus: 400, wantError: "invalid_request"},
		{name: "missing grant_type", body: "code=x", user: id, pass: sec, wantStatus: 400, wantError: "invalid_request"},
		{name: "password grant", body: "grant_type=password&username=a&password=b", user: id, pass: sec,
			wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "client credentials grant", body: "grant_type=client_credentials", user: id, pass: sec,
			wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "refresh grant not allowed", body: "grant_type=refresh_token&refresh_token=x", user: "code-only-client", pass: sec,
			wantStatus: 400, wantError: "unauthorized_client"},
		{name: "missing code", body: "grant_type=authorization_code&redirect_uri=y", user: id, pass: sec,
			wantStatus: 400, wantError: "invalid_request"},
		{name: "unknown code", body: "grant_type=authorization_code&code=nope&redirect_uri=" + url.QueryEscape(servertest.RedirectURI),
			user: id, pass: sec, wantStatus: 400, wantError: "invalid_grant"},
		{name: "unknown refresh token", body: "grant_type=refresh_token&refresh_token=nope", user: id, pass: sec,
			wantStatus: 400, wantError: "invalid_grant"},
		{name: "missing refresh token", body: "grant_type=refresh_token", user: id, pass: sec,
			wantStatus: 400, wantError: "invalid_request"},
		{name: "repeated parameter", body: "grant_type=authorization_code&grant_type=refresh_token", user: id, pass: sec,
			wantStatus: 400, wantError: "invalid_request"},
		{name: "JSON body", contentType: "application/json", body: `{"grant_type":"refresh_token"}`, user: id, pass: sec,
			wantStatus: 400, wantError: "invalid_request"},
		{name: "no content type", contentType: "text/plain", body: "grant_type=refresh_token", user: id, pass: sec,
			wantStatus: 400, wantError: "invalid_request"},
		{name: "not UTF-8", body: "grant_type=refresh_token&refresh_token=%ff%fe", user: id, pass: sec,
			wantStatus: 400, wantError: "invalid_request"},
		{name: "bad percent-encoding", body: "grant_type=refresh_token&refresh_token=%zz", user: id, pass: sec,
			wantStatus: 400, wantError: "invalid_request"},
		{name: "oversized body", body: "grant_type=refresh_token&refresh_token=" + strings.Repeat("a", 70<<10), user: id, pass: sec,
			wantStatus: 413, wantError: "invalid_request"},
		{name: "latin-1 charset", contentType: "application/x-www-form-urlencoded; charset=iso-8859-1", body: "grant_type=refresh_token",
			user: id, pass: sec, wantStatus: 400, wantError: "invalid_request"},
	}
	bodies := map[string]string{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := postRaw(t, s, "/token", c)
			checkTokenError(t, resp, body, c)
			if c.wantError == "invalid_client" {
				bodies[c.name] = string(body)
			}
		})
	}
	// An unknown client and a wrong secret must look the same.
	if bodies["wrong secret (Basic)"] != bodies["unknown client (Basic)"] || bodies["wrong secret (post)"] != bodies["unknown client (post)"] {
		t.Fatalf("unknown client and wrong secret answer differently: %q", bodies)
	}
	// Wrong methods get an OAuth error, not a plain-text 405.
	resp, err := http.Get(s.Issuer + "/token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /token: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestOtherAuthorizationSchemeIsChallenged: a client that authenticates
// through the Authorization header, whatever its scheme, gets 401 with
// WWW-Authenticate (RFC 6749 §5.2), naming Basic, the scheme this server
// takes; a 401 without a challenge also breaks RFC 9110 §11.6.1.
func TestOtherAuthorizationSchemeIsChallenged(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	for _, path := range []string{"/token", "/revoke", "/introspect"} {
		for _, authz := range []string{"Bearer " + servertest.ClientSecret, "Digest username=\"x\"", "Negotiate"} {
			req, err := http.NewRequest(http.MethodPost, s.Issuer+path, strings.NewReader("grant_type=refresh_token&refresh_token=x&token=x"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", authz)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || tokenJSON(t, body)["error"] != "invalid_client" {
				t.Fatalf("POST %s with Authorization %q: %d %s; want 401 invalid_client", path, authz, resp.StatusCode, body)
			}
			if ch := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Basic ") {
				t.Errorf("POST %s with Authorization %q: WWW-Authenticate %q; want a Basic challenge", path, authz, ch)
			}
		}
	}
}

func TestCodeExchangeRules(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	basic := func(form url.Values) (*http.Response, map[string]any) {
		resp, body := s.PostForm("/token", form, servertest.ClientID, servertest.ClientSecret)
		return resp, tokenJSON(t, body)
	}

	t.Run("client_secret_post works and the response is not cacheable", func(t *testing.T) {
		code, _ := s.Authorize(nil)
		form := exchangeForm(code)
		form.Set("client_id", servertest.ClientID)
		form.Set("client_secret", servertest.ClientSecret)
		resp, body := s.PostForm("/token", form, "", "")
		m := tokenJSON(t, body)
		if resp.StatusCode != 200 || m["access_token"] == nil || m["refresh_token"] == nil || m["id_token"] == nil {
			t.Fatalf("post exchange: %d %v", resp.StatusCode, m)
		}
		if m["expires_in"] != float64(900) || m["token_type"] != "Bearer" || m["scope"] != "openid offline_access" {
			t.Fatalf("token response %v", m)
		}
		if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
			t.Fatalf("Cache-Control %q Pragma %q", resp.Header.Get("Cache-Control"), resp.Header.Get("Pragma"))
		}
	})

	t.Run("codes are opaque with at least 128 random bits, stored hashed", func(t *testing.T) {
		code, _ := s.Authorize(nil)
		raw, err := base64.RawURLEncoding.DecodeString(code)
		if err != nil || len(raw)*8 < 128 {
			t.Fatalf("code %d characters, %d random bits", len(code), len(raw)*8)
		}
		if _, err := s.Store.GetAuthCode(t.Context(), code); !errors.Is(err, store.ErrNotFound) {
			t.Fatal("the code itself is a store key: it must be stored only as a hash")
		}
	})

	t.Run("redirect_uri differing from the authorize request", func(t *testing.T) {
		code, _ := s.Authorize(nil)
		form := exchangeForm(code)
		form.Set("redirect_uri", "https://cdn.plaid.com/link/v2/stable/oauth.html") // registered, but not the one used
		resp, m := basic(form)
		if resp.StatusCode != 400 || m["error"] != "invalid_grant" {
			t.Fatalf("%d %v; want invalid_grant", resp.StatusCode, m)
		}
		// The failed attempt did not burn the code.
		resp, m = basic(exchangeForm(code))
		if resp.StatusCode != 200 {
			t.Fatalf("the right redirect_uri after a wrong one: %d %v", resp.StatusCode, m)
		}
	})

	t.Run("missing redirect_uri", func(t *testing.T) {
		code, _ := s.Authorize(nil)
		form := exchangeForm(code)
		form.Del("redirect_uri")
		if resp, m := basic(form); resp.StatusCode != 400 || m["error"] != "invalid_request" {
			t.Fatalf("%d %v", resp.StatusCode, m)
		}
	})

	t.Run("code of another client", func(t *testing.T) {
		other := s.Client
		other.ID, other.Name = "other-aggregator", "Other"
		if err := s.Store.CreateClient(t.Context(), other); err != nil {
			t.Fatal(err)
		}
		code, _ := s.Authorize(nil)
		resp, body := s.PostForm("/token", exchangeForm(code), "other-aggregator", servertest.ClientSecret)
		if m := tokenJSON(t, body); resp.StatusCode != 400 || m["error"] != "invalid_grant" {
			t.Fatalf("%d %v", resp.StatusCode, m)
		}
	})

	t.Run("codes expire after five minutes", func(t *testing.T) {
		code, _ := s.Authorize(nil)
		s.Clock.Advance(5*time.Minute - time.Second)
		code2, _ := s.Authorize(nil)
		if resp, m := basic(exchangeForm(code2)); resp.StatusCode != 200 {
			t.Fatalf("a code within its lifetime: %d %v", resp.StatusCode, m)
		}
		s.Clock.Advance(time.Second)
		if resp, m := basic(exchangeForm(code)); resp.StatusCode != 400 || m["error"] != "invalid_grant" ||
			!strings.Contains(m["error_description"].(string), "expired") {
			t.Fatalf("a five-minute-old code: %d %v; want invalid_grant (expired)", resp.StatusCode, m)
		}
	})
}

// TestCodeLifetimeNeverBeyondTenMinutes: a larger value is refused at start.
func TestCodeLifetimeNeverBeyondTenMinutes(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Configure: func(c *server.Config) { c.CodeTTL = 10 * time.Minute }})
	code, _ := s.Authorize(nil)
	s.Clock.Advance(10*time.Minute - time.Second)
	if resp, body := s.PostForm("/token", exchangeForm(code), servertest.ClientID, servertest.ClientSecret); resp.StatusCode != 200 {
		t.Fatalf("ten-minute code: %d %s", resp.StatusCode, body)
	}
	fresh, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "fdxd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	sealer, _ := secret.NewSealer(secret.NewKey())
	_, err = server.New(t.Context(), server.Config{Issuer: s.Issuer, Store: fresh, Sealer: sealer, CodeTTL: 11 * time.Minute})
	if err == nil || !strings.Contains(err.Error(), "10 minutes") {
		t.Fatalf("a server with an 11-minute code lifetime: %v; want refused", err)
	}
}

// TestCodeReplayRevokesTheGrant: the second redemption fails and every
// token issued from the first is refused.
func TestCodeReplayRevokesTheGrant(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	_, conf, ctx := peers(t, s)
	code, _ := s.Authorize(nil)
	tok, err := conf.Exchange(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conf.Exchange(ctx, code)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("second redemption = %v; want invalid_grant", err)
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); !errors.As(err, &re) ||
		re.ErrorCode != "invalid_grant" {
		t.Fatalf("refresh after replay = %v; want invalid_grant", err)
	}
	req, _ := http.NewRequest("GET", s.Issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("userinfo after replay: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	line := findLog(t, s, "token.code_replayed", "")
	if line["grant_revoked"] != true {
		t.Fatalf("replay log: %v", line)
	}
}

// TestConcurrentCodeRedemption: of many concurrent redemptions of one code
// exactly one wins (run under -race).
func TestConcurrentCodeRedemption(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	code, _ := s.Authorize(nil)
	const n = 40
	statuses := make([]int, n)
	refresh := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			resp, body := s.PostForm("/token", exchangeForm(code), servertest.ClientID, servertest.ClientSecret)
			statuses[i] = resp.StatusCode
			if resp.StatusCode == 200 {
				refresh[i], _ = tokenJSON(t, body)["refresh_token"].(string)
			}
		})
	}
	close(start)
	wg.Wait()
	wins, winner := 0, ""
	for i, st := range statuses {
		switch st {
		case 200:
			wins++
			winner = refresh[i]
		case 400:
		default:
			t.Fatalf("redemption answered %d", st)
		}
	}
	if wins != 1 {
		t.Fatalf("%d redemptions succeeded; want exactly 1", wins)
	}
	// The others were replays: the winner's grant is revoked.
	resp, body := s.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {winner}},
		servertest.ClientID, servertest.ClientSecret)
	if m := tokenJSON(t, body); resp.StatusCode != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("the winner's refresh token after the replays: %d %v", resp.StatusCode, m)
	}
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestPKCE(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	public := store.Client{ID: "mobile-app-client", Public: true, RedirectURIs: []string{servertest.RedirectURI},
		GrantTypes: []string{"authorization_code", "refresh_token"}}
	strict := s.Client
	strict.ID, strict.RequirePKCE = "strict-confidential", true
	for _, c := range []store.Client{public, strict} {
		if err := s.Store.CreateClient(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	verifier := strings.Repeat("v3rifier-", 6)
	withPKCE := url.Values{"code_challenge": {s256(verifier)}, "code_challenge_method": {"S256"}}
	exchange := func(user, pass, code, v string) (int, map[string]any) {
		form := exchangeForm(code)
		if v != "" {
			form.Set("code_verifier", v)
		}
		if user == public.ID {
			form.Set("client_id", user)
			user = ""
		}
		resp, body := s.PostForm("/token", form, user, pass)
		return resp.StatusCode, tokenJSON(t, body)
	}

	cases := []struct {
		name         string
		clientID     string
		pass         string
		authorize    url.Values
		verifier     string
		wantStatus   int
		wantError    string
		wantRedirect string // an authorize error instead of a code
	}{
		{"S256 verified", servertest.ClientID, servertest.ClientSecret, withPKCE, verifier, 200, "", ""},
		{"wrong verifier", servertest.ClientID, servertest.ClientSecret, withPKCE, verifier + "x", 400, "invalid_grant", ""},
		{"missing verifier", servertest.ClientID, servertest.ClientSecret, withPKCE, "", 400, "invalid_grant", ""},
		{"verifier without challenge", servertest.ClientID, servertest.ClientSecret, nil, verifier, 400, "invalid_grant", ""},
		{"short verifier", servertest.ClientID, servertest.ClientSecret, withPKCE, "abc", 400, "invalid_grant", ""},
		{"no PKCE, confidential client", servertest.ClientID, servertest.ClientSecret, nil, "", 200, "", ""},
		{"public client with S256", public.ID, "", withPKCE, verifier, 200, "", ""},
		{"public client without PKCE", public.ID, "", nil, "", 0, "", "invalid_request"},
		{"strict confidential without PKCE", strict.ID, servertest.ClientSecret, nil, "", 0, "", "invalid_request"},
		{"strict confidential with S256", strict.ID, servertest.ClientSecret, withPKCE, verifier, 200, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			extra := url.Values{"client_id": {c.clientID}}
			for k, v := range c.authorize {
				extra[k] = v
			}
			res := s.Login(s.Browser(), s.AuthorizeURL(extra), servertest.Username, servertest.Password, nil)
			if c.wantRedirect != "" {
				if res.Redirect == nil || res.Redirect.Query().Get("error") != c.wantRedirect {
					t.Fatalf("authorize: %+v; want error=%s", res, c.wantRedirect)
				}
				return
			}
			status, m := exchange(c.clientID, c.pass, res.Code(), c.verifier)
			if status != c.wantStatus || (c.wantError != "" && m["error"] != c.wantError) {
				t.Fatalf("exchange: %d %v; want %d %s", status, m, c.wantStatus, c.wantError)
			}
		})
	}
}

func TestTokenEndpointMaintenanceAndRateLimit(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Client: func(c *store.Client) { c.RateLimit = 2 }})
	refresh := func() (*http.Response, map[string]any) {
		resp, body := s.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"unknown"}},
			servertest.ClientID, servertest.ClientSecret)
		return resp, tokenJSON(t, body)
	}
	if err := s.Server.Maintenance().Set(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	resp, m := refresh()
	if resp.StatusCode != 503 || m["error"] != "temporarily_unavailable" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("maintenance: %d %v Retry-After %q", resp.StatusCode, m, resp.Header.Get("Retry-After"))
	}
	if err := s.Server.Maintenance().Set(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	// 2/s with a burst of 4: the fifth request in one instant is refused.
	for i := range 4 {
		if resp, m := refresh(); resp.StatusCode != 400 {
			t.Fatalf("request %d within the burst: %d %v", i, resp.StatusCode, m)
		}
	}
	resp, m = refresh()
	if resp.StatusCode != 503 || m["error"] != "temporarily_unavailable" || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("over the rate: %d %v Retry-After %q", resp.StatusCode, m, resp.Header.Get("Retry-After"))
	}
}

func TestRefreshScopesAndRotation(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Client: func(c *store.Client) { c.RotateRefreshTokens = true }})
	code, _ := s.Authorize(url.Values{"scope": {"openid offline_access profile"}})
	_, body := s.PostForm("/token", exchangeForm(code), servertest.ClientID, servertest.ClientSecret)
	rt0 := tokenJSON(t, body)["refresh_token"].(string)
	refresh := func(rt string, extra url.Values) (int, map[string]any) {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
		for k, v := range extra {
			form[k] = v
		}
		resp, body := s.PostForm("/token", form, servertest.ClientID, servertest.ClientSecret)
		return resp.StatusCode, tokenJSON(t, body)
	}

	// Widening is refused; narrowing is allowed and shows in the scope.
	if st, m := refresh(rt0, url.Values{"scope": {"openid email"}}); st != 400 || m["error"] != "invalid_scope" {
		t.Fatalf("widening refresh: %d %v", st, m)
	}
	st, m := refresh(rt0, url.Values{"scope": {"openid"}})
	if st != 200 || m["scope"] != "openid" {
		t.Fatalf("narrowing refresh: %d %v", st, m)
	}
	rt1 := m["refresh_token"].(string)
	if rt1 == "" || rt1 == rt0 {
		t.Fatal("rotation on: want a new refresh token")
	}
	// The previous token still works within the grace (a lost response).
	st, m = refresh(rt0, nil)
	if st != 200 {
		t.Fatalf("previous token within the grace: %d %v", st, m)
	}
	rt1b := m["refresh_token"].(string)
	// Using the newest token ends the previous one's grace; reusing the
	// previous one then revokes the grant.
	st, m = refresh(rt1b, nil)
	if st != 200 {
		t.Fatalf("newest token: %d %v", st, m)
	}
	rt2 := m["refresh_token"].(string)
	if st, m := refresh(rt0, nil); st != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("reuse after the successor was used: %d %v", st, m)
	}
	if st, m := refresh(rt2, nil); st != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("the grant survived a reuse: %d %v", st, m)
	}
	findLog(t, s, "token.refresh_reused", "")

	// A fresh grant: a rotated-out token after the two-minute grace revokes it.
	code, _ = s.Authorize(nil)
	_, body = s.PostForm("/token", exchangeForm(code), servertest.ClientID, servertest.ClientSecret)
	old := tokenJSON(t, body)["refresh_token"].(string)
	st, m = refresh(old, nil)
	if st != 200 {
		t.Fatalf("%d %v", st, m)
	}
	next := m["refresh_token"].(string)
	s.Clock.Advance(2*time.Minute + time.Second)
	if st, m := refresh(old, nil); st != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("rotated-out token after the grace: %d %v", st, m)
	}
	if st, _ := refresh(next, nil); st != 400 {
		t.Fatal("reuse after the grace did not revoke the grant")
	}
}

func TestRefreshWithIDToken(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Client: func(c *store.Client) { c.IDTokenOnRefresh = true }})
	provider, conf, ctx := peers(t, s)
	code, _ := s.Authorize(nil)
	tok, err := conf.Exchange(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(time.Hour)
	fresh, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := fresh.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidcConfig{ClientID: servertest.ClientID, Now: s.Clock.Now}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("refresh ID token: %v", err)
	}
	first, _ := provider.Verifier(&oidcConfig{ClientID: servertest.ClientID, SkipExpiryCheck: true}).Verify(ctx, tok.Extra("id_token").(string))
	if idt.Subject != first.Subject || !idt.IssuedAt.After(first.IssuedAt) {
		t.Fatalf("refresh ID token: sub %q iat %v; want the same sub and a later iat", idt.Subject, idt.IssuedAt)
	}
	var c struct {
		AuthTime int64  `json:"auth_time"`
		Nonce    string `json:"nonce"`
	}
	idt.Claims(&c)
	if c.AuthTime != first.IssuedAt.Unix() || c.Nonce != "" {
		t.Fatalf("refresh ID token auth_time %d nonce %q; want the original authentication time and no nonce", c.AuthTime, c.Nonce)
	}
}
