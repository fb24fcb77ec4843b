// Package servertest runs a real fdxd server for tests: a SQLite file in
// t.TempDir(), a listener on 127.0.0.1, an injected clock, a confidential
// client and a user, and a browser-like HTTP client that signs in through
// the real login form.
package servertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/password"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/server"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/sqlite"
)

// Clock is a settable clock safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Fixed test credentials; they are searched for in the logs by the
// no-secrets test, so they are distinctive.
const (
	ClientID     = "test-aggregator-01"
	ClientSecret = "tcs-7c1f0e9a4b2d48a6b5e3f1c2d9a8b7e6-secret"
	RedirectURI  = "http://127.0.0.1:8787/callback"
	Username     = "alice"
	Password     = "pw-Zq8!mW2#rT5-alice"
	Subject      = "usr_alice_000001"
)

// Options adjust the server; the zero value is the default server.
type Options struct {
	// Configure changes the server configuration before it starts.
	Configure func(*server.Config)
	// Client changes the test client before it is created.
	Client func(*store.Client)
}

// Server is a running test server.
type Server struct {
	T      testing.TB
	Clock  *Clock
	Store  store.Store
	Server *server.Server
	Issuer string
	// Logs holds every log line the server wrote.
	Logs   *SyncBuffer
	Client store.Client
	User   store.User
	DBPath string
	srv    *http.Server
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestPasswordParams keep argon2id cheap in tests; production uses
// password.Default.
var TestPasswordParams = password.Params{Memory: 1024, Time: 1, Threads: 1}

// Start starts a server with a fresh database; it stops with the test.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "fdxd.db")
	st, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatalf("servertest: open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return StartWithStore(t, st, dbPath, opts)
}

// StartWithStore starts a server on st (another backend, or a store shared
// by several servers).
func StartWithStore(t testing.TB, st store.Store, dbPath string, opts Options) *Server {
	t.Helper()
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("servertest: listen: %v", err)
	}
	s := &Server{T: t, Store: st, DBPath: dbPath, Logs: &SyncBuffer{},
		Clock:  NewClock(time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)),
		Issuer: "http://" + l.Addr().String()}
	sealer, err := secret.NewSealer(secret.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	now := s.Clock.Now()
	s.Client = store.Client{ID: ClientID, Name: "Test Aggregator", SecretHash: secret.Hash(ClientSecret),
		RedirectURIs: []string{RedirectURI, "https://cdn.plaid.com/link/v2/stable/oauth.html"},
		GrantTypes:   []string{"authorization_code", "refresh_token"}, CreatedAt: now, UpdatedAt: now}
	if opts.Client != nil {
		opts.Client(&s.Client)
	}
	if err := st.CreateClient(ctx, s.Client); err != nil && !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("servertest: create client: %v", err)
	}
	s.User = store.User{ID: "u_alice", Subject: Subject, Username: Username, Name: "Alice Example",
		Email: "alice@example.com", EmailVerified: true, PasswordHash: password.Hash(Password, TestPasswordParams),
		CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(ctx, s.User); err != nil && !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("servertest: create user: %v", err)
	}
	cfg := server.Config{
		Issuer: s.Issuer, Store: st, Sealer: sealer, Now: s.Clock.Now,
		Logger:         observe.NewLogger(s.Logs, nil),
		PasswordParams: TestPasswordParams,
	}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	s.Server, err = server.New(ctx, cfg)
	if err != nil {
		l.Close()
		t.Fatalf("servertest: new server: %v", err)
	}
	s.srv = &http.Server{Handler: s.Server.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(l)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// Browser is an HTTP client with a cookie jar that does not follow
// redirects, so each hop can be checked.
func (s *Server) Browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// AuthorizeURL builds an authorize URL for the test client with extra
// parameters (values replace the defaults; an empty value removes one).
func (s *Server) AuthorizeURL(extra url.Values) string {
	q := url.Values{
		"response_type": {"code"},
		"client_id":     {s.Client.ID},
		"redirect_uri":  {RedirectURI},
		"scope":         {"openid offline_access"},
		"state":         {"st-" + secret.ID("", 6)},
	}
	for k, v := range extra {
		if len(v) == 0 || v[0] == "" {
			q.Del(k)
			continue
		}
		q[k] = v
	}
	return s.Issuer + "/authorize?" + q.Encode()
}

// LoginResult is where a sign-in ended.
type LoginResult struct {
	// Redirect is the final Location: the client's redirect URI with code
	// (or error), state and iss.
	Redirect *url.URL
	// Page is the last HTML page when the flow stopped on one.
	Page       string
	StatusCode int
}

// Code returns the code of a successful sign-in.
func (r LoginResult) Code() string {
	if r.Redirect == nil {
		return ""
	}
	return r.Redirect.Query().Get("code")
}

var (
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	accountBox  = regexp.MustCompile(`name="account" value="([^"]+)"`)
)

// Login follows authorizeURL in browser b through the login form (and the
// account-selection form, choosing accounts, or all when accounts is nil)
// until the server redirects to the client.
func (s *Server) Login(b *http.Client, authorizeURL, username, pw string, accounts []string) LoginResult {
	s.T.Helper()
	next := authorizeURL
	var form url.Values
	method := http.MethodGet
	for range 10 {
		var (
			req *http.Request
			err error
		)
		if method == http.MethodPost {
			req, err = http.NewRequest(http.MethodPost, next, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", s.Issuer)
		} else {
			req, err = http.NewRequest(http.MethodGet, next, nil)
		}
		if err != nil {
			s.T.Fatalf("servertest: request: %v", err)
		}
		resp, err := b.Do(req)
		if err != nil {
			s.T.Fatalf("servertest: %s %s: %v", method, next, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
			u, err := resp.Request.URL.Parse(loc)
			if err != nil {
				s.T.Fatalf("servertest: bad Location %q", loc)
			}
			if !strings.HasPrefix(u.String(), s.Issuer+"/") {
				return LoginResult{Redirect: u, StatusCode: resp.StatusCode}
			}
			next, method = u.String(), http.MethodGet
			continue
		}
		page := string(body)
		action := formAction.FindStringSubmatch(page)
		if resp.StatusCode != http.StatusOK || action == nil {
			return LoginResult{Page: page, StatusCode: resp.StatusCode}
		}
		form = url.Values{}
		for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		if strings.Contains(page, `name="password"`) {
			form.Set("username", username)
			form.Set("password", pw)
			form.Set("action", "login")
		} else {
			form.Set("action", "share")
			chosen := accounts
			if chosen == nil {
				for _, m := range accountBox.FindAllStringSubmatch(page, -1) {
					chosen = append(chosen, html.UnescapeString(m[1]))
				}
			}
			for _, a := range chosen {
				form.Add("account", a)
			}
		}
		next, method = s.Issuer+html.UnescapeString(action[1]), http.MethodPost
	}
	s.T.Fatalf("servertest: no redirect to the client after 10 hops")
	return LoginResult{}
}

// Authorize signs the test user in for a fresh browser and returns the
// code, failing the test otherwise.
func (s *Server) Authorize(extra url.Values) (code string, redirect *url.URL) {
	s.T.Helper()
	r := s.Login(s.Browser(), s.AuthorizeURL(extra), Username, Password, nil)
	if r.Code() == "" {
		s.T.Fatalf("servertest: sign-in did not return a code: status %d, redirect %v, page:\n%s", r.StatusCode, r.Redirect, r.Page)
	}
	return r.Code(), r.Redirect
}

// PostForm posts form to the endpoint at path with Basic client
// authentication (when user is not empty).
func (s *Server) PostForm(path string, form url.Values, user, pass string) (*http.Response, []byte) {
	s.T.Helper()
	req, err := http.NewRequest(http.MethodPost, s.Issuer+path, strings.NewReader(form.Encode()))
	if err != nil {
		s.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.T.Fatalf("servertest: POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// String describes the server for failure messages.
func (s *Server) String() string { return fmt.Sprintf("fdxd test server at %s", s.Issuer) }
