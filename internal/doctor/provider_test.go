package doctor

// A small, correct data provider for the tests: OIDC discovery, an
// authorization endpoint with a login form and an account-selection page
// (the shape of fdxd's own pages), a token endpoint, introspection,
// userinfo, JWKS and an FDX API whose bodies match Core Exchange 6.4. Each
// fault breaks exactly one thing.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// faults break one thing each in the test provider.
type faults struct {
	kidMissing           bool // the JWKS does not publish the signing key
	jwksHTTP             bool // jwks_uri is plain http
	jwks500              bool // the JWKS endpoint answers 500
	redirectPrefix       bool // redirect_uri matched by prefix
	reusableCode         bool // codes can be exchanged twice
	refreshNeedsConsent  bool // refresh tokens only with prompt=consent
	shortSub             bool // a six-character sub
	nullRequired         bool // null in a required field
	nextOffsetOnLastPage bool // nextOffset pointing at an empty page
	nonFDXErrors         bool // API errors as {"error": "..."}
	acceptWrongSecret    bool // any client secret is accepted
	alterState           bool // state changed on the redirect
	userinfoRefuses      bool // userinfo refuses access tokens
	issuerSlash          bool // discovery, tokens and redirects say issuer + "/"
}

const (
	testClientID     = "aggregator-client-7f3a"
	testClientSecret = "s3cr3t-7f3a9c1e5b2d4f6a8c0e2b4d6f8a1c3e"
	testRedirectURI  = "https://aggregator.invalid/link/oauth.html"
	testUsername     = "alice@bank.test"
	testPassword     = "correct horse battery staple"
	testSub          = "user_000042"
	testCustomerID   = "cust-000042"
)

type provider struct {
	t       testing.TB
	served  atomic.Int64 // requests served
	f       faults
	now     func() time.Time
	srv     *httptest.Server
	mux     *http.ServeMux
	jwksSrv *httptest.Server // plain http, for the jwksHTTP fault
	issuer  string
	roots   *x509.CertPool
	key     *rsa.PrivateKey
	kid     string

	mu       sync.Mutex // guards the maps below
	requests map[string]*pendingAuth
	codes    map[string]*codeGrant
	access   map[string]*grant // by access token
	refresh  map[string]*grant // by refresh token
	csrf     map[string]string // csrf token by cookie value
}

type pendingAuth struct {
	redirectURI, state, nonce, challenge, prompt, scope string
	loggedIn                                            bool
}

type codeGrant struct {
	auth   *pendingAuth
	issued time.Time
	used   bool
	tokens []string // access tokens issued for it, revoked on reuse
}

type grant struct {
	sub     string
	expires time.Time
	revoked bool
}

// testKeys are generated once per test binary: RSA generation is slow.
var testKeys = sync.OnceValues(func() (*rsa.PrivateKey, *rsa.PrivateKey) {
	a, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	b, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return a, b
})

func newProvider(t testing.TB, f faults, now func() time.Time) *provider {
	t.Helper()
	key, _ := testKeys()
	p := &provider{
		t: t, f: f, now: now, key: key, kid: "sig-2026-01",
		requests: map[string]*pendingAuth{}, codes: map[string]*codeGrant{},
		access: map[string]*grant{}, refresh: map[string]*grant{}, csrf: map[string]string{},
	}
	mux := http.NewServeMux()
	p.mux = mux
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("GET /login", p.loginPage)
	mux.HandleFunc("POST /login", p.loginSubmit)
	mux.HandleFunc("GET /select", p.selectPage)
	mux.HandleFunc("POST /select", p.selectSubmit)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("POST /introspect", p.introspect)
	mux.HandleFunc("GET /userinfo", p.userinfo)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /fdx/v6/", p.api)

	caCert, leaf := testCertificates(t, now())
	p.roots = x509.NewCertPool()
	p.roots.AddCert(caCert)
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.served.Add(1)
		mux.ServeHTTP(w, r)
	}))
	p.srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	// doctor's TLS 1.1 and plain-http probes make the server log handshake errors on purpose.
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	p.srv.StartTLS()
	t.Cleanup(p.srv.Close)
	p.issuer = p.srv.URL
	if f.jwksHTTP {
		p.jwksSrv = httptest.NewServer(http.HandlerFunc(p.jwks))
		t.Cleanup(p.jwksSrv.Close)
	}
	return p
}

// testCertificates makes a CA and a leaf for 127.0.0.1 signed by it, so the
// chain verifies as a public one would (against the test's roots).
func testCertificates(t testing.TB, now time.Time) (*x509.Certificate, tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "doctor test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return caCert, tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey}
}

// iss is the issuer the provider writes into discovery, tokens and redirects.
func (p *provider) iss() string {
	if p.f.issuerSlash {
		return p.issuer + "/"
	}
	return p.issuer
}

// servedCount is how many requests the provider has served.
func (p *provider) servedCount() int64 { return p.served.Load() }

func (p *provider) sub() string {
	if p.f.shortSub {
		return "u12345"
	}
	return testSub
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func token() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (p *provider) discovery(w http.ResponseWriter, r *http.Request) {
	jwksURI := p.issuer + "/jwks"
	if p.jwksSrv != nil {
		jwksURI = p.jwksSrv.URL + "/jwks"
	}
	writeJSON(w, 200, map[string]any{
		"issuer":                                         p.iss(),
		"authorization_endpoint":                         p.issuer + "/authorize",
		"token_endpoint":                                 p.issuer + "/token",
		"userinfo_endpoint":                              p.issuer + "/userinfo",
		"introspection_endpoint":                         p.issuer + "/introspect",
		"jwks_uri":                                       jwksURI,
		"scopes_supported":                               []string{"openid", "offline_access"},
		"response_types_supported":                       []string{"code"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{"RS256"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":               []string{"S256"},
		"authorization_response_iss_parameter_supported": true,
	})
}

var errorPage = template.Must(template.New("error").Parse(`<!doctype html><html><head><title>Error - Test Bank</title></head><body><h1>This request cannot be completed</h1><p>{{.}}</p></body></html>`))

func (p *provider) redirectAllowed(uri string) bool {
	if p.f.redirectPrefix {
		return strings.HasPrefix(uri, testRedirectURI)
	}
	return uri == testRedirectURI
}

func (p *provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != testClientID || !p.redirectAllowed(q.Get("redirect_uri")) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		errorPage.Execute(w, "The application or its redirect address is not registered.")
		return
	}
	if q.Get("response_type") != "code" {
		p.redirect(w, r, &pendingAuth{redirectURI: q.Get("redirect_uri"), state: q.Get("state")}, url.Values{"error": {"unsupported_response_type"}})
		return
	}
	id := token()
	p.mu.Lock()
	p.requests[id] = &pendingAuth{redirectURI: q.Get("redirect_uri"), state: q.Get("state"), nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), prompt: q.Get("prompt"), scope: q.Get("scope")}
	p.mu.Unlock()
	http.Redirect(w, r, "/login?ar="+url.QueryEscape(id), http.StatusSeeOther)
}

// redirect sends the browser to the client's redirect URI with params and
// the state.
func (p *provider) redirect(w http.ResponseWriter, r *http.Request, a *pendingAuth, params url.Values) {
	u, _ := url.Parse(a.redirectURI)
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	state := a.state
	if p.f.alterState {
		state += "-x"
	}
	q.Set("state", state)
	q.Set("iss", p.iss())
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - Test Bank</title>
<script>if (a < b && c) { document.title = "<form>"; }</script></head>
<body><main>
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<form method="post" action="/login">
  <input type="hidden" name="ar" value="{{.AR}}">
  <input type="hidden" name="csrf_token" value="{{.CSRF}}">
  <label for="username">Username</label>
  <input id="username" name="username" type="text" autocomplete="username" required>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <label><input type="checkbox" name="remember"> Remember me</label>
  <button type="submit" name="action" value="login">Sign in</button>
  <button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</form></main></body></html>`))

var selectPage = template.Must(template.New("select").Parse(`<!doctype html>
<html><head><title>Choose accounts - Test Bank</title></head><body>
<form method="post" action="/select">
  <input type="hidden" name="ar" value="{{.AR}}">
  <input type="hidden" name="csrf_token" value="{{.CSRF}}">
  <fieldset><legend>Accounts to share</legend>
  <label><input type="checkbox" name="account" value="acc-chk-0001"> Checking …0001</label>
  <label><input type="checkbox" name="account" value="acc-sav-0002"> Savings …0002</label>
  <label><input type="checkbox" name="account" value="acc-mtg-0003"> Mortgage …0003</label>
  </fieldset>
  <button name="action" value="share">Share</button>
  <button name="action" value="cancel">Cancel</button>
</form></body></html>`))

// session finds the pending request of a page and checks the CSRF token
// against the cookie.
func (p *provider) session(w http.ResponseWriter, r *http.Request, checkCSRF bool) (string, *pendingAuth, string, bool) {
	id := r.FormValue("ar")
	p.mu.Lock()
	a := p.requests[id]
	c, _ := r.Cookie("tb_session")
	var csrf string
	if c != nil {
		csrf = p.csrf[c.Value]
	}
	p.mu.Unlock()
	if a == nil {
		w.WriteHeader(http.StatusBadRequest)
		errorPage.Execute(w, "This sign-in request has expired.")
		return "", nil, "", false
	}
	if checkCSRF && (csrf == "" || subtle.ConstantTimeCompare([]byte(csrf), []byte(r.PostFormValue("csrf_token"))) != 1) {
		w.WriteHeader(http.StatusForbidden)
		errorPage.Execute(w, "The form expired; please start again.")
		return "", nil, "", false
	}
	if csrf == "" {
		sess, tok := token(), token()
		p.mu.Lock()
		p.csrf[sess] = tok
		p.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "tb_session", Value: sess, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		csrf = tok
	}
	return id, a, csrf, true
}

func (p *provider) loginPage(w http.ResponseWriter, r *http.Request) {
	id, _, csrf, ok := p.session(w, r, false)
	if !ok {
		return
	}
	loginPage.Execute(w, map[string]string{"AR": id, "CSRF": csrf})
}

func (p *provider) loginSubmit(w http.ResponseWriter, r *http.Request) {
	id, a, csrf, ok := p.session(w, r, true)
	if !ok {
		return
	}
	if r.PostFormValue("action") == "cancel" {
		p.redirect(w, r, a, url.Values{"error": {"access_denied"}})
		return
	}
	if r.PostFormValue("username") != testUsername || r.PostFormValue("password") != testPassword {
		w.WriteHeader(http.StatusOK)
		loginPage.Execute(w, map[string]string{"AR": id, "CSRF": csrf, "Error": "Wrong username or password."})
		return
	}
	p.mu.Lock()
	a.loggedIn = true
	p.mu.Unlock()
	http.Redirect(w, r, "/select?ar="+url.QueryEscape(id), http.StatusSeeOther)
}

func (p *provider) selectPage(w http.ResponseWriter, r *http.Request) {
	id, _, csrf, ok := p.session(w, r, false)
	if !ok {
		return
	}
	selectPage.Execute(w, map[string]string{"AR": id, "CSRF": csrf})
}

func (p *provider) selectSubmit(w http.ResponseWriter, r *http.Request) {
	id, a, _, ok := p.session(w, r, true)
	if !ok {
		return
	}
	if r.PostFormValue("action") == "cancel" {
		p.redirect(w, r, a, url.Values{"error": {"access_denied"}})
		return
	}
	if !a.loggedIn || len(r.PostForm["account"]) == 0 {
		w.WriteHeader(http.StatusBadRequest)
		errorPage.Execute(w, "Choose at least one account.")
		return
	}
	code := token()
	p.mu.Lock()
	delete(p.requests, id)
	p.codes[code] = &codeGrant{auth: a, issued: p.now()}
	p.mu.Unlock()
	p.redirect(w, r, a, url.Values{"code": {code}})
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// clientAuthenticated checks client_secret_basic or client_secret_post.
func (p *provider) clientAuthenticated(r *http.Request) bool {
	id, sec, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		sec, _ = url.QueryUnescape(sec)
	} else {
		id, sec = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	if id != testClientID {
		return false
	}
	return p.f.acceptWrongSecret || subtle.ConstantTimeCompare([]byte(sec), []byte(testClientSecret)) == 1
}

func (p *provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, 400, "invalid_request", "bad form")
		return
	}
	if !p.clientAuthenticated(r) {
		oauthError(w, 401, "invalid_client", "client authentication failed")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	switch r.PostFormValue("grant_type") {
	case "authorization_code":
		c := p.codes[r.PostFormValue("code")]
		switch {
		case c == nil || now.Sub(c.issued) > 10*time.Minute:
			oauthError(w, 400, "invalid_grant", "unknown or expired code")
			return
		case c.used && !p.f.reusableCode:
			for _, at := range c.tokens {
				p.access[at].revoked = true
			}
			oauthError(w, 400, "invalid_grant", "code already used")
			return
		case r.PostFormValue("redirect_uri") != c.auth.redirectURI:
			oauthError(w, 400, "invalid_grant", "redirect_uri differs")
			return
		case c.auth.challenge != "":
			sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
			if base64.RawURLEncoding.EncodeToString(sum[:]) != c.auth.challenge {
				oauthError(w, 400, "invalid_grant", "PKCE verification failed")
				return
			}
		}
		c.used = true
		scopes := strings.Fields(c.auth.scope)
		withRefresh := slices.Contains(scopes, "offline_access") && (!p.f.refreshNeedsConsent || c.auth.prompt == "consent")
		resp, at := p.issue(now, c.auth.nonce, withRefresh, strings.Join(scopes, " "))
		c.tokens = append(c.tokens, at)
		writeJSON(w, 200, resp)
	case "refresh_token":
		g := p.refresh[r.PostFormValue("refresh_token")]
		if g == nil || g.revoked || now.After(g.expires) {
			oauthError(w, 400, "invalid_grant", "refresh token invalid")
			return
		}
		g.revoked = true // rotation: the old one is spent
		resp, _ := p.issue(now, "", true, "openid offline_access")
		writeJSON(w, 200, resp)
	default:
		oauthError(w, 400, "unsupported_grant_type", "")
	}
}

// issue makes a token response; p.mu is held.
func (p *provider) issue(now time.Time, nonce string, withRefresh bool, scope string) (map[string]any, string) {
	at := token()
	p.access[at] = &grant{sub: p.sub(), expires: now.Add(15 * time.Minute)}
	resp := map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 900, "scope": scope}
	if withRefresh {
		rt := token()
		p.refresh[rt] = &grant{sub: p.sub(), expires: now.AddDate(0, 13, 7)}
		resp["refresh_token"] = rt
	}
	if nonce != "" || strings.Contains(scope, "openid") {
		resp["id_token"] = p.idToken(now, nonce)
	}
	return resp, at
}

func (p *provider) idToken(now time.Time, nonce string) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: p.key, KeyID: p.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		p.t.Errorf("signer: %v", err)
		return ""
	}
	claims := map[string]any{
		"iss": p.iss(), "sub": p.sub(), "aud": testClientID,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "auth_time": now.Unix(),
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		p.t.Errorf("sign: %v", err)
	}
	return raw
}

func (p *provider) introspect(w http.ResponseWriter, r *http.Request) {
	if !p.clientAuthenticated(r) {
		oauthError(w, 401, "invalid_client", "client authentication failed")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	tok := r.PostFormValue("token")
	g, kind := p.refresh[tok], "refresh_token"
	if g == nil {
		g, kind = p.access[tok], "access_token"
	}
	if g == nil || g.revoked || p.now().After(g.expires) {
		writeJSON(w, 200, map[string]any{"active": false})
		return
	}
	writeJSON(w, 200, map[string]any{"active": true, "sub": g.sub, "client_id": testClientID, "token_type": kind,
		"iat": p.now().Unix(), "exp": g.expires.Unix()})
}

// bearer returns the grant of the request's access token.
func (p *provider) bearer(r *http.Request) *grant {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.access[tok]
	if g == nil || g.revoked || p.now().After(g.expires) {
		return nil
	}
	return g
}

func (p *provider) userinfo(w http.ResponseWriter, r *http.Request) {
	g := p.bearer(r)
	if g == nil || p.f.userinfoRefuses {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, 401, map[string]string{"error": "invalid_token"})
		return
	}
	writeJSON(w, 200, map[string]string{"sub": g.sub})
}

func (p *provider) jwks(w http.ResponseWriter, r *http.Request) {
	if p.f.jwks500 {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	key := jose.JSONWebKey{Key: &p.key.PublicKey, KeyID: p.kid, Algorithm: "RS256", Use: "sig"}
	if p.f.kidMissing {
		_, other := testKeys()
		key = jose.JSONWebKey{Key: &other.PublicKey, KeyID: "sig-2025-12", Algorithm: "RS256", Use: "sig"}
	}
	writeJSON(w, 200, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key}})
}

// The FDX API.

type testAccount struct {
	id, category, typ, display, product string
}

var testAccounts = []testAccount{
	{"acc-chk-0001", "DEPOSIT_ACCOUNT", "CHECKING", "…0001", "Everyday Checking"},
	{"acc-sav-0002", "DEPOSIT_ACCOUNT", "SAVINGS", "…0002", "High Yield Savings"},
	{"acc-mtg-0003", "LOAN_ACCOUNT", "MORTGAGE", "…0003", "30-year Fixed Mortgage"},
}

func (p *provider) fdxError(w http.ResponseWriter, status, code int, msg string) {
	if p.f.nonFDXErrors {
		writeJSON(w, status, map[string]string{"error": strings.ToLower(strings.ReplaceAll(msg, " ", "_"))})
		return
	}
	writeJSON(w, status, map[string]any{"code": code, "message": msg})
}

func descriptor(a testAccount) map[string]any {
	return map[string]any{
		"accountCategory": a.category, "accountId": a.id, "accountType": a.typ,
		"accountNumberDisplay": a.display, "productName": a.product, "status": "OPEN",
		"currency": map[string]any{"currencyCode": "USD"},
	}
}

func (p *provider) api(w http.ResponseWriter, r *http.Request) {
	if p.bearer(r) == nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		p.fdxError(w, 401, 602, "Customer not authorized")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/fdx/v6/"), "/")
	q := r.URL.Query()
	switch {
	case len(parts) == 2 && parts[0] == "customers" && parts[1] == "current":
		writeJSON(w, 200, map[string]any{"customerId": testCustomerID})
		return
	case len(parts) == 1 && parts[0] == "accounts":
		p.accountList(w, q)
		return
	case len(parts) < 2 || parts[0] != "accounts":
		p.fdxError(w, 404, 404, "Not found")
		return
	}
	i := slices.IndexFunc(testAccounts, func(a testAccount) bool { return a.id == parts[1] })
	if i < 0 {
		p.fdxError(w, 404, 701, "Account not found")
		return
	}
	a := testAccounts[i]
	switch rest := parts[2:]; {
	case len(rest) == 0:
		d := descriptor(a)
		if a.category == "DEPOSIT_ACCOUNT" {
			d["currentBalance"], d["availableBalance"] = 1520.25, 1490.10
			if p.f.nullRequired {
				d["availableBalance"] = nil
			}
		} else {
			d["principalBalance"], d["interestRate"], d["interestRateType"] = 241000.00, 6.125, "FIXED"
			d["accountNumber"] = "9876543210003"
		}
		writeJSON(w, 200, d)
	case rest[0] == "contact":
		writeJSON(w, 200, map[string]any{
			"holders": []any{map[string]any{"relationship": "PRIMARY", "type": "CONSUMER",
				"name": map[string]any{"first": "Alice", "last": "Example"}}},
			"emails":     []string{"alice@bank.test"},
			"addresses":  []any{map[string]any{"line1": "1 Main St", "city": "Springfield", "region": "IL", "postalCode": "62701", "country": "US", "type": "HOME", "primary": true}},
			"telephones": []any{map[string]any{"number": "2175550100", "type": "HOME", "country": "1", "primary": true}},
		})
	case rest[0] == "payment-networks":
		if a.category != "DEPOSIT_ACCOUNT" {
			p.fdxError(w, 404, 1107, "Data not found")
			return
		}
		writeJSON(w, 200, map[string]any{"paymentNetworks": []any{map[string]any{
			"bankId": "011000015", "identifier": "12345678" + a.id[len(a.id)-4:], "type": "US_ACH", "transferIn": true, "transferOut": true}}})
	case rest[0] == "transactions":
		start, end := q.Get("startTime"), q.Get("endTime")
		if start != "" && end != "" && start > end {
			p.fdxError(w, 400, 703, "Invalid date range")
			return
		}
		cat := a.category
		var txs []any
		for n := range 3 {
			tx := map[string]any{
				"accountCategory": cat, "transactionId": fmt.Sprintf("%s-tx-%d", a.id, n),
				"transactionTimestamp": p.now().AddDate(0, 0, -n-1).UTC().Format(time.RFC3339),
				"postedTimestamp":      p.now().AddDate(0, 0, -n-1).UTC().Format(time.RFC3339),
				"description":          "Coffee " + strconv.Itoa(n), "debitCreditMemo": "DEBIT", "status": "POSTED", "amount": 4.5,
			}
			if cat == "LOAN_ACCOUNT" {
				tx["description"], tx["transactionType"] = "Monthly payment", "PAYMENT"
			}
			txs = append(txs, tx)
		}
		writeJSON(w, 200, map[string]any{"transactions": txs})
	case rest[0] == "statements" && len(rest) == 1:
		writeJSON(w, 200, map[string]any{"statements": []any{map[string]any{
			"accountId": a.id, "statementId": "stmt-" + a.id, "statementDate": p.now().AddDate(0, -1, 0).Format(time.DateOnly),
			"description": "Monthly statement", "status": "AVAILABLE",
			"links": []any{map[string]any{"href": "/accounts/" + a.id + "/statements/stmt-" + a.id, "action": "GET", "types": []string{"application/pdf"}}},
		}}})
	case rest[0] == "statements" && len(rest) == 2 && rest[1] == "stmt-"+a.id:
		w.Header().Set("Content-Type", "application/pdf")
		w.Write([]byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"))
	case rest[0] == "statements":
		p.fdxError(w, 404, 1107, "Statement not found")
	case rest[0] == "asset-transfer-networks":
		writeJSON(w, 200, map[string]any{"assetTransferNetworks": []any{}})
	default:
		p.fdxError(w, 404, 404, "Not found")
	}
}

func (p *provider) accountList(w http.ResponseWriter, q url.Values) {
	offset, _ := strconv.Atoi(q.Get("offset"))
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 || limit > 100 {
		limit = 100
	}
	var page []any
	for i := offset; i < len(testAccounts) && i < offset+limit; i++ {
		page = append(page, descriptor(testAccounts[i]))
	}
	body := map[string]any{"accounts": page}
	if page == nil {
		body["accounts"] = []any{}
	}
	next := offset + limit
	if next < len(testAccounts) || p.f.nextOffsetOnLastPage && offset < len(testAccounts) {
		body["page"] = map[string]any{"nextOffset": strconv.Itoa(next)}
	}
	writeJSON(w, 200, body)
}
