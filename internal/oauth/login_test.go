package oauth_test

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/server"
	"github.com/fdxd/fdxd/internal/server/servertest"
	"github.com/fdxd/fdxd/internal/store"
)

var hidden = regexp.MustCompile(`name="(ar|csrf_token)" value="([^"]*)"`)

// loginPage starts an attempt in browser b and returns the login form's
// hidden fields.
func loginPage(t *testing.T, s *servertest.Server, b *http.Client, extra url.Values) (url.Values, *http.Response) {
	t.Helper()
	resp, _ := get(t, s, b, s.AuthorizeURL(extra))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("authorize: %d", resp.StatusCode)
	}
	page, body := get(t, s, b, s.Issuer+resp.Header.Get("Location"))
	if page.StatusCode != 200 {
		t.Fatalf("login page: %d %s", page.StatusCode, body)
	}
	form := url.Values{}
	for _, m := range hidden.FindAllStringSubmatch(body, -1) {
		form.Set(m[1], m[2])
	}
	return form, page
}

func postLogin(t *testing.T, s *servertest.Server, b *http.Client, form url.Values, header http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.Issuer+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestLoginPageSecurity(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	b := s.Browser()
	form, page := loginPage(t, s, b, url.Values{"login_hint": {"alice"}})
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") ||
		!strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("CSP = %q", csp)
	}
	if page.Header.Get("X-Frame-Options") != "DENY" || page.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers %v", page.Header)
	}
	u, _ := url.Parse(s.Issuer)
	for _, c := range b.Jar.Cookies(u) {
		_ = c // the jar hides attributes; check Set-Cookie below
	}
	resp, _ := get(t, s, s.Browser(), s.AuthorizeURL(nil))
	for _, sc := range resp.Header.Values("Set-Cookie") {
		if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
			t.Fatalf("cookie %q lacks HttpOnly or SameSite=Lax", sc)
		}
	}
	if form.Get("csrf_token") == "" || form.Get("ar") == "" {
		t.Fatalf("login form lacks its hidden fields: %v", form)
	}

	t.Run("missing CSRF token", func(t *testing.T) {
		f := url.Values{"ar": {form.Get("ar")}, "username": {servertest.Username}, "password": {servertest.Password}, "action": {"login"}}
		if resp, _ := postLogin(t, s, b, f, nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d; want 403", resp.StatusCode)
		}
	})
	t.Run("cross-site POST", func(t *testing.T) {
		f := url.Values{"ar": {form.Get("ar")}, "csrf_token": {form.Get("csrf_token")}, "username": {servertest.Username},
			"password": {servertest.Password}}
		if resp, _ := postLogin(t, s, b, f, http.Header{"Sec-Fetch-Site": {"cross-site"}}); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d; want 403", resp.StatusCode)
		}
	})
	t.Run("another browser", func(t *testing.T) {
		f := url.Values{"ar": {form.Get("ar")}, "csrf_token": {form.Get("csrf_token")}, "username": {servertest.Username},
			"password": {servertest.Password}}
		if resp, _ := postLogin(t, s, s.Browser(), f, nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d; want 403", resp.StatusCode)
		}
	})
	t.Run("expired attempt", func(t *testing.T) {
		f2, _ := loginPage(t, s, b, nil)
		s.Clock.Advance(31 * time.Minute)
		f2.Set("username", servertest.Username)
		f2.Set("password", servertest.Password)
		resp, body := postLogin(t, s, b, f2, nil)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired") {
			t.Fatalf("status %d; want 400 expired", resp.StatusCode)
		}
	})
}

func TestCancelIsAccessDeniedAndNotAFailure(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	b := s.Browser()
	form, _ := loginPage(t, s, b, url.Values{"state": {"cancel-state"}})
	form.Set("action", "cancel")
	resp, _ := postLogin(t, s, b, form, nil)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Query().Get("error") != "access_denied" ||
		loc.Query().Get("state") != "cancel-state" || loc.Query().Get("iss") != s.Issuer {
		t.Fatalf("cancel: %d %q; want a redirect with access_denied, the state and iss", resp.StatusCode, resp.Header.Get("Location"))
	}
	denied := findLog(t, s, "authorize.denied", "")
	if denied["level"] != "INFO" || denied["user_decision"] != true || denied["state"] != "cancel-state" {
		t.Fatalf("cancel log line: %v; want INFO, user_decision, state", denied)
	}
	for _, l := range logLines(t, s) {
		if l["event"] == "http.request" && l["route"] == "login" && l["error"] == "access_denied" {
			if l["level"] != "INFO" || l["user_decision"] != true {
				t.Fatalf("the cancel's request line is counted as a failure: %v", l)
			}
		}
	}
}

func TestIneligibleUserIsUnauthorizedClient(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	if err := s.Store.UpdateUser(t.Context(), s.User.ID, func(u store.User) (store.User, error) {
		u.Ineligible = true
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	res := s.Login(s.Browser(), s.AuthorizeURL(url.Values{"state": {"s-1"}}), servertest.Username, servertest.Password, nil)
	if res.Redirect == nil || res.Redirect.Query().Get("error") != "unauthorized_client" || res.Redirect.Query().Get("state") != "s-1" {
		t.Fatalf("ineligible user: %+v; want unauthorized_client with the state", res)
	}
}

func TestFailedLoginsAreRateLimited(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	b := s.Browser()
	attempt := func(user, pw string) int {
		form, _ := loginPage(t, s, b, nil)
		form.Set("username", user)
		form.Set("password", pw)
		form.Set("action", "login")
		resp, body := postLogin(t, s, b, form, nil)
		if resp.StatusCode == http.StatusBadRequest && !strings.Contains(body, "incorrect") {
			t.Fatalf("failed login page does not say so:\n%s", body)
		}
		return resp.StatusCode
	}
	for i := range 5 {
		if st := attempt(servertest.Username, "wrong"); st != http.StatusBadRequest {
			t.Fatalf("failure %d: status %d; want 400", i, st)
		}
	}
	// The sixth try is refused even with the right password.
	if st := attempt(servertest.Username, servertest.Password); st != http.StatusTooManyRequests {
		t.Fatalf("after five failures: status %d; want 429", st)
	}
	findLog(t, s, "login.rate_limited", "")
	// Another user from the same address still gets through (until the
	// address's own allowance of 20 is spent).
	for i := range 14 {
		if st := attempt(fmt.Sprintf("mallory-%d", i), "guess"); st != http.StatusBadRequest {
			t.Fatalf("failure %d from the address: %d", 6+i, st)
		}
	}
	if st := attempt("nobody", "x"); st != http.StatusBadRequest {
		t.Fatalf("twentieth failure from the address: %d", st)
	}
	if st := attempt("someone", "x"); st != http.StatusTooManyRequests {
		t.Fatalf("after twenty failures from one address: %d; want 429", st)
	}
	// The allowances refill.
	s.Clock.Advance(15 * time.Minute)
	if st := attempt(servertest.Username, servertest.Password); st != http.StatusSeeOther {
		t.Fatalf("after the window: status %d; want the redirect", st)
	}
	for _, l := range logLines(t, s) {
		if l["event"] == "login.failed" && (l["reason"] == nil || l["state"] == nil || l["client_id"] == nil) {
			t.Fatalf("failed-login line lacks reason, state or client_id: %v", l)
		}
	}
}

func TestSessionReuseAndPrompt(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	b := s.Browser()
	if r := s.Login(b, s.AuthorizeURL(nil), servertest.Username, servertest.Password, nil); r.Code() == "" {
		t.Fatal("first sign-in failed")
	}
	// The same browser is signed in: no login form.
	resp, _ := get(t, s, b, s.AuthorizeURL(url.Values{"state": {"again"}}))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("code") == "" || loc.Query().Get("state") != "again" {
		t.Fatalf("signed-in browser: Location %q; want a code at once", resp.Header.Get("Location"))
	}
	// prompt=none works with the session.
	resp, _ = get(t, s, b, s.AuthorizeURL(url.Values{"prompt": {"none"}}))
	if !strings.Contains(resp.Header.Get("Location"), "code=") {
		t.Fatalf("prompt=none with a session: %q", resp.Header.Get("Location"))
	}
	// prompt=login forces the form.
	resp, _ = get(t, s, b, s.AuthorizeURL(url.Values{"prompt": {"login"}}))
	if !strings.Contains(resp.Header.Get("Location"), "/login?ar=") {
		t.Fatalf("prompt=login: %q; want the login page", resp.Header.Get("Location"))
	}
	// max_age shorter than the session's age forces it too.
	s.Clock.Advance(10 * time.Minute)
	resp, _ = get(t, s, b, s.AuthorizeURL(url.Values{"max_age": {"300"}}))
	if !strings.Contains(resp.Header.Get("Location"), "/login?ar=") {
		t.Fatalf("max_age=300 after 10 minutes: %q; want the login page", resp.Header.Get("Location"))
	}
	// After the session's lifetime the form is back.
	s.Clock.Advance(time.Hour)
	resp, _ = get(t, s, b, s.AuthorizeURL(nil))
	if !strings.Contains(resp.Header.Get("Location"), "/login?ar=") {
		t.Fatalf("expired session: %q; want the login page", resp.Header.Get("Location"))
	}
}

func TestNonceAndLoginHint(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	provider, conf, ctx := peers(t, s)
	b := s.Browser()
	_, page := loginPage(t, s, b, url.Values{"login_hint": {"alice"}})
	_ = page
	resp, _ := get(t, s, b, s.AuthorizeURL(url.Values{"login_hint": {"alice@example"}}))
	_, body := get(t, s, b, s.Issuer+resp.Header.Get("Location"))
	if !strings.Contains(body, `value="alice@example"`) {
		t.Fatal("login_hint does not prefill the username")
	}
	code, _ := s.Authorize(url.Values{"nonce": {"n-0S6_WzA2Mj"}})
	tok, err := conf.Exchange(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	idt, err := provider.Verifier(&oidcConfig{ClientID: servertest.ClientID, Now: s.Clock.Now}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil || idt.Nonce != "n-0S6_WzA2Mj" {
		t.Fatalf("nonce = %q, %v", idt.Nonce, err)
	}
}

func TestAccountSelection(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Client: func(c *store.Client) { c.AccountSelection = true }})
	now := s.Clock.Now()
	var imp store.DataImport
	for _, id := range []string{"acct-checking-1", "acct-savings-2", "acct-card-3"} {
		imp.Accounts = append(imp.Accounts, store.AccountData{Account: store.Account{ID: id, UserID: s.User.ID,
			Category: "DEPOSIT_ACCOUNT", Type: "CHECKING", ProductName: "Everyday " + id, NumberDisplay: "…1234", Status: "OPEN",
			Currency: "USD", CreatedAt: now, UpdatedAt: now}})
	}
	imp.Now = now
	if err := s.Store.ImportData(t.Context(), imp); err != nil {
		t.Fatal(err)
	}
	_, conf, ctx := peers(t, s)

	res := s.Login(s.Browser(), s.AuthorizeURL(nil), servertest.Username, servertest.Password, []string{"acct-savings-2"})
	tok, err := conf.Exchange(ctx, res.Code())
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Server.AccessTokens().Verify(t.Context(), tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if !a.AccountSelection || len(a.AccountIDs) != 1 || a.AccountIDs[0] != "acct-savings-2" {
		t.Fatalf("grant accounts = %v %v; want exactly the selected one", a.AccountSelection, a.AccountIDs)
	}

	// Choosing none re-asks; another user's account is refused.
	b := s.Browser()
	form, _ := loginPage(t, s, b, nil)
	form.Set("username", servertest.Username)
	form.Set("password", servertest.Password)
	resp, _ := postLogin(t, s, b, form, nil)
	if !strings.Contains(resp.Header.Get("Location"), "/select?ar=") {
		t.Fatalf("after login: %q; want the selection page", resp.Header.Get("Location"))
	}
	sel := url.Values{"ar": {form.Get("ar")}, "csrf_token": {form.Get("csrf_token")}, "action": {"share"}}
	req, _ := http.NewRequest("POST", s.Issuer+"/select", strings.NewReader(sel.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r2, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusBadRequest {
		t.Fatalf("no account chosen: %d; want the page again with 400", r2.StatusCode)
	}
	sel.Set("account", "acct-of-someone-else")
	req, _ = http.NewRequest("POST", s.Issuer+"/select", strings.NewReader(sel.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r3, _ := b.Do(req)
	r3.Body.Close()
	if r3.StatusCode != http.StatusBadRequest || r3.Header.Get("Location") != "" {
		t.Fatalf("foreign account: %d %q", r3.StatusCode, r3.Header.Get("Location"))
	}
	// Cancel on the selection page is access_denied too.
	sel.Set("action", "cancel")
	req, _ = http.NewRequest("POST", s.Issuer+"/select", strings.NewReader(sel.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r4, _ := b.Do(req)
	r4.Body.Close()
	if !strings.Contains(r4.Header.Get("Location"), "error=access_denied") {
		t.Fatalf("cancel on selection: %q", r4.Header.Get("Location"))
	}
}

// TestLoginLimitBehindTrustedProxy: behind a load balancer every request
// comes from the balancer's address; with it trusted, the per-address
// sign-in limit counts the real clients, not all of them together.
func TestLoginLimitBehindTrustedProxy(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Configure: func(c *server.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}})
	attempt := func(clientIP, user, pw string) int {
		b := s.Browser()
		form, _ := loginPage(t, s, b, nil)
		form.Set("username", user)
		form.Set("password", pw)
		resp, _ := postLogin(t, s, b, form, http.Header{"X-Forwarded-For": {clientIP}})
		return resp.StatusCode
	}
	for i := range 20 {
		attempt("198.51.100.7", fmt.Sprintf("guess-%d", i), "x")
	}
	if st := attempt("198.51.100.7", "guess-more", "x"); st != http.StatusTooManyRequests {
		t.Fatalf("the attacking address after 20 failures: %d; want 429", st)
	}
	if st := attempt("203.0.113.9", servertest.Username, servertest.Password); st != http.StatusSeeOther {
		t.Fatalf("another client behind the same balancer: %d; want to sign in", st)
	}
	line := findLog(t, s, "login.rate_limited", "")
	if line["remote_addr"] != "198.51.100.7" {
		t.Fatalf("rate-limit line remote_addr = %v; want the client's address", line["remote_addr"])
	}
}
