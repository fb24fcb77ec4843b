package oauth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fdxd/fdxd/internal/server/servertest"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/sqlite"
)

// get fetches u without following redirects.
func get(t *testing.T, s *servertest.Server, b *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := b.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestAuthorizeNeverRedirectsToUnverifiedURIs: unknown clients and missing,
// unregistered or mismatched redirect URIs get an error page naming the
// problem, never a redirect, and the failure is logged with client_id and
// request id.
func TestAuthorizeNeverRedirectsToUnverifiedURIs(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	cases := []struct {
		name     string
		extra    url.Values
		wantCode string
	}{
		{"unknown client", url.Values{"client_id": {"not-a-client"}}, "unknown_client"},
		{"missing client_id", url.Values{"client_id": {""}}, "invalid_request"},
		{"missing redirect_uri", url.Values{"redirect_uri": {""}}, "invalid_request"},
		{"unregistered redirect_uri", url.Values{"redirect_uri": {"https://evil.example/cb"}}, "redirect_uri_mismatch"},
		{"prefix-extended", url.Values{"redirect_uri": {servertest.RedirectURI + "/extra"}}, "redirect_uri_mismatch"},
		{"trailing slash", url.Values{"redirect_uri": {servertest.RedirectURI + "/"}}, "redirect_uri_mismatch"},
		{"extra query", url.Values{"redirect_uri": {servertest.RedirectURI + "?x=1"}}, "redirect_uri_mismatch"},
		{"different case", url.Values{"redirect_uri": {strings.ToUpper(servertest.RedirectURI[:4]) + servertest.RedirectURI[4:]}}, "redirect_uri_mismatch"},
		{"plaid URI with different host case", url.Values{"redirect_uri": {"https://CDN.plaid.com/link/v2/stable/oauth.html"}}, "redirect_uri_mismatch"},
		{"repeated redirect_uri", url.Values{"redirect_uri": {servertest.RedirectURI, servertest.RedirectURI}}, "invalid_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", s.AuthorizeURL(c.extra), nil)
			req.Header.Set("X-Request-ID", "req_"+strings.ReplaceAll(c.name, " ", "_"))
			resp, err := s.Browser().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d, Location %q; want 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
			if !strings.Contains(string(body), c.wantCode) || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("error page does not name %s:\n%s", c.wantCode, body)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Fatalf("CSP = %q", csp)
			}
			line := findLog(t, s, "authorize.rejected", req.Header.Get("X-Request-ID"))
			if line["error"] != c.wantCode {
				t.Fatalf("log line error = %v; want %s", line["error"], c.wantCode)
			}
			if c.name != "missing client_id" && line["client_id"] == nil {
				t.Fatalf("log line lacks client_id: %v", line)
			}
		})
	}
}

// TestAuthorizeErrorsRedirectWithStateAndIss: once the redirect URI is
// verified, errors go back to the client with the unchanged state and iss.
func TestAuthorizeErrorsRedirectWithStateAndIss(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Client: func(c *store.Client) {
		c.Scopes = []string{"openid", "offline_access", "profile"}
	}})
	noCodeClient := store.Client{ID: "refresh-only-client", SecretHash: "x", RedirectURIs: []string{servertest.RedirectURI},
		GrantTypes: []string{"refresh_token"}}
	if err := s.Store.CreateClient(t.Context(), noCodeClient); err != nil {
		t.Fatal(err)
	}
	codeOnly := noCodeClient
	codeOnly.ID, codeOnly.GrantTypes = "code-only-client", []string{"authorization_code"}
	if err := s.Store.CreateClient(t.Context(), codeOnly); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		extra url.Values
		want  string
	}{
		{"missing response_type", url.Values{"response_type": {""}}, "invalid_request"},
		{"implicit flow", url.Values{"response_type": {"token"}}, "unsupported_response_type"},
		{"hybrid flow", url.Values{"response_type": {"code id_token"}}, "unsupported_response_type"},
		{"missing scope", url.Values{"scope": {""}}, "invalid_request"},
		{"unknown scope", url.Values{"scope": {"openid accounts:write"}}, "invalid_scope"},
		{"scope not allowed for the client", url.Values{"scope": {"openid email"}}, "invalid_scope"},
		{"client may not use codes", url.Values{"client_id": {"refresh-only-client"}}, "unauthorized_client"},
		{"offline_access alone for a client that cannot refresh", url.Values{"client_id": {"code-only-client"},
			"scope": {"offline_access"}}, "invalid_scope"},
		{"repeated scope", url.Values{"scope": {"openid", "openid"}}, "invalid_request"},
		{"PKCE plain", url.Values{"code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"plain"}}, "invalid_request"},
		{"PKCE without method", url.Values{"code_challenge": {strings.Repeat("a", 43)}}, "invalid_request"},
		{"PKCE method without challenge", url.Values{"code_challenge_method": {"S256"}}, "invalid_request"},
		{"PKCE malformed challenge", url.Values{"code_challenge": {"short"}, "code_challenge_method": {"S256"}}, "invalid_request"},
		{"prompt none, not signed in", url.Values{"prompt": {"none"}}, "login_required"},
		{"prompt none with login", url.Values{"prompt": {"none login"}}, "invalid_request"},
		{"unknown prompt", url.Values{"prompt": {"dance"}}, "invalid_request"},
		{"negative max_age", url.Values{"max_age": {"-5"}}, "invalid_request"},
		{"request object", url.Values{"request": {"eyJhbGciOiJub25lIn0.e30."}}, "request_not_supported"},
		{"request_uri", url.Values{"request_uri": {"urn:x"}}, "request_uri_not_supported"},
		{"fragment response mode", url.Values{"response_mode": {"fragment"}}, "invalid_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const state = "keep/this+state=exactly &"
			extra := url.Values{"state": {state}}
			for k, v := range c.extra {
				extra[k] = v
			}
			resp, _ := get(t, s, s.Browser(), s.AuthorizeURL(extra))
			loc, err := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusSeeOther || err != nil {
				t.Fatalf("status %d Location %q; want a 303 back to the client", resp.StatusCode, resp.Header.Get("Location"))
			}
			q := loc.Query()
			if loc.Scheme+"://"+loc.Host+loc.Path != servertest.RedirectURI {
				t.Fatalf("redirected to %s", loc)
			}
			if q.Get("error") != c.want || q.Get("state") != state || q.Get("iss") != s.Issuer || q.Get("code") != "" {
				t.Fatalf("redirect query = %v; want error=%s, state unchanged, iss, no code", q, c.want)
			}
		})
	}
}

// TestAuthorizeMaintenanceAndRateLimit: temporarily_unavailable by
// redirect.
func TestAuthorizeMaintenanceAndRateLimit(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Client: func(c *store.Client) { c.RateLimit = 1 }})
	if err := s.Server.Maintenance().Set(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	resp, _ := get(t, s, s.Browser(), s.AuthorizeURL(url.Values{"state": {"m1"}}))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc == nil || loc.Query().Get("error") != "temporarily_unavailable" || loc.Query().Get("state") != "m1" {
		t.Fatalf("maintenance: Location %q; want error=temporarily_unavailable&state=m1", resp.Header.Get("Location"))
	}
	if err := s.Server.Maintenance().Set(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	// RateLimit 1/s with a burst of 2: the third request in the same
	// instant is refused.
	var last string
	for range 3 {
		resp, _ := get(t, s, s.Browser(), s.AuthorizeURL(nil))
		last = resp.Header.Get("Location")
	}
	if !strings.Contains(last, "error=temporarily_unavailable") {
		t.Fatalf("third request within the burst: Location %q; want temporarily_unavailable", last)
	}
	s.Clock.Advance(2 * 1e9)
	resp, _ = get(t, s, s.Browser(), s.AuthorizeURL(nil))
	if !strings.Contains(resp.Header.Get("Location"), "/login?ar=") {
		t.Fatalf("after the limiter refilled: Location %q; want the login page", resp.Header.Get("Location"))
	}
}

// TestAuthorizeByPOST: OIDC requires POST support at the authorization
// endpoint.
func TestAuthorizeByPOST(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	u, _ := url.Parse(s.AuthorizeURL(nil))
	resp, err := s.Browser().PostForm(s.Issuer+"/authorize", u.Query())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/login?ar=") {
		t.Fatalf("POST /authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// sessionFaults is a store whose login-session reads fail on demand, as
// they do when the database stops answering.
type sessionFaults struct {
	store.Store
	fail atomic.Bool
}

func (f *sessionFaults) GetLoginSession(ctx context.Context, idHash string) (store.LoginSession, error) {
	if f.fail.Load() {
		return store.LoginSession{}, fmt.Errorf("login session: %w", store.ErrUnavailable)
	}
	return f.Store.GetLoginSession(ctx, idHash)
}

// TestSessionReadFailureIsNotLoginRequired: when the browser's sign-in
// cannot be read, prompt=none is answered temporarily_unavailable, not
// login_required: the user is signed in, and the aggregator should retry
// rather than send them to a login.
func TestSessionReadFailureIsNotLoginRequired(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "fdxd.db")
	st, err := sqlite.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	faults := &sessionFaults{Store: st}
	s := servertest.StartWithStore(t, faults, dbPath, servertest.Options{})
	b := s.Browser()
	if res := s.Login(b, s.AuthorizeURL(nil), servertest.Username, servertest.Password, nil); res.Code() == "" {
		t.Fatalf("sign-in: %+v", res)
	}

	faults.fail.Store(true)
	resp, _ := get(t, s, b, s.AuthorizeURL(url.Values{"prompt": {"none"}, "state": {"after-outage"}}))
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("prompt=none: %d %q; want a redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
	if q := loc.Query(); q.Get("error") != "temporarily_unavailable" || q.Get("state") != "after-outage" {
		t.Fatalf("prompt=none while the sign-in cannot be read: %v; want error=temporarily_unavailable with the state", q)
	}
}
