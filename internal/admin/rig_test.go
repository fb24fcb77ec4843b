package admin_test

import (
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/password"
	"github.com/fdxd/fdxd/internal/server"
	"github.com/fdxd/fdxd/internal/server/servertest"
	"github.com/fdxd/fdxd/internal/store"
)

const (
	apiToken      = "adm-tok-4f1c9e7a2b6d8e3f-test"
	adminUser     = "ops"
	adminPassword = "adm-pw-Kq7!vN3#xL9"
)

// rig is a running fdxd with its admin listener on its own test server,
// observability running, and one admin.
type rig struct {
	t     *testing.T
	s     *servertest.Server
	admin *httptest.Server
}

func newRig(t *testing.T, configure func(*server.Config)) *rig {
	t.Helper()
	s := servertest.Start(t, servertest.Options{Configure: func(c *server.Config) {
		o := &c.Observability
		o.AdminToken = apiToken
		o.Records.FlushInterval = 10 * time.Millisecond
		o.Alerts.Window = 10 * time.Second
		o.Alerts.MinVolume = 10
		o.Alerts.QuietPeriod = 30 * time.Second
		o.Alerts.EvaluateEvery = 20 * time.Millisecond
		o.TrafficResolution = time.Second
		if configure != nil {
			configure(c)
		}
	}})
	stop := s.Server.StartObservability(t.Context())
	t.Cleanup(stop)
	adm := httptest.NewServer(s.Server.AdminHandler())
	t.Cleanup(adm.Close)
	now := s.Clock.Now()
	if err := s.Store.CreateAdmin(t.Context(), store.Admin{Username: adminUser,
		PasswordHash: password.Hash(adminPassword, servertest.TestPasswordParams), CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, s: s, admin: adm}
}

// api calls the admin API with the token and decodes the JSON answer.
func (r *rig) api(path string, out any) int {
	r.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, r.admin.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		r.t.Fatalf("GET %s: Content-Type %q; want JSON:\n%s", path, ct, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			r.t.Fatalf("GET %s: %v\n%s", path, err, body)
		}
	}
	return resp.StatusCode
}

// waitRecord waits until the record of requestID is stored.
func (r *rig) waitRecord(requestID string) store.RequestRecord {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec, err := r.s.Store.GetRequestRecord(r.t.Context(), requestID)
		if err == nil {
			return rec
		}
		if !errors.Is(err, store.ErrNotFound) || time.Now().After(deadline) {
			r.t.Fatalf("record %s: %v", requestID, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settle waits until every queued record is stored.
func (r *rig) settle() {
	r.t.Helper()
	// A marker request goes through the queue after everything before it.
	resp, err := http.Get(r.s.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	r.waitRecord(resp.Header.Get("X-Request-ID"))
}

// tokens is a token response.
type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

// flow runs a whole Plaid-shaped flow touching every endpoint and an FDX
// route, returning the values that must never be recorded.
func (r *rig) flow(state string) (code string, tok tokens) {
	r.t.Helper()
	s := r.s
	code, _ = s.Authorize(url.Values{"state": {state}})
	resp, body := s.PostForm("/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {servertest.RedirectURI}}, servertest.ClientID, servertest.ClientSecret)
	if resp.StatusCode != 200 {
		r.t.Fatalf("code exchange: %d %s", resp.StatusCode, body)
	}
	json.Unmarshal(body, &tok)
	resp, body = s.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}},
		servertest.ClientID, servertest.ClientSecret)
	if resp.StatusCode != 200 {
		r.t.Fatalf("refresh: %d %s", resp.StatusCode, body)
	}
	for _, p := range []string{"/userinfo", "/fdx/v6/accounts", "/fdx/v6/customers/current"} {
		req, _ := http.NewRequest(http.MethodGet, s.Issuer+p, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	for _, p := range []string{"/jwks", "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		if resp, err := http.Get(s.Issuer + p); err == nil {
			resp.Body.Close()
		}
	}
	s.PostForm("/introspect", url.Values{"token": {tok.AccessToken}}, servertest.ClientID, servertest.ClientSecret)
	s.PostForm("/revoke", url.Values{"token": {tok.RefreshToken}}, servertest.ClientID, servertest.ClientSecret)
	return code, tok
}

// adminClient is a signed-in admin's HTTP client.
type adminClient struct {
	r *rig
	c *http.Client
}

var hiddenCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (r *rig) newBrowser() *adminClient {
	jar, _ := cookiejar.New(nil)
	return &adminClient{r: r, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *adminClient) get(path string) (*http.Response, string) {
	b.r.t.Helper()
	resp, err := b.c.Get(b.r.admin.URL + path)
	if err != nil {
		b.r.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *adminClient) post(path string, form url.Values) (*http.Response, string) {
	b.r.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.r.admin.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.r.admin.URL)
	resp, err := b.c.Do(req)
	if err != nil {
		b.r.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// login signs in through the form.
func (b *adminClient) login(user, pw string) *http.Response {
	b.r.t.Helper()
	_, page := b.get("/login")
	m := hiddenCSRF.FindStringSubmatch(page)
	if m == nil {
		b.r.t.Fatalf("no CSRF token on the sign-in page:\n%s", page)
	}
	resp, _ := b.post("/login", url.Values{"csrf": {html.UnescapeString(m[1])}, "username": {user}, "password": {pw}, "next": {"/issues"}})
	return resp
}
