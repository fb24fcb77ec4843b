package cli_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/cli"
	"github.com/fdxd/fdxd/internal/server/servertest"
)

// serving is `fdxd serve` running in a goroutine of the test.
type serving struct {
	t      *testing.T
	base   string // http://addr
	cancel context.CancelFunc
	exited chan struct{}
	code   int
	stdout *servertest.SyncBuffer
	stderr *servertest.SyncBuffer
}

// serve starts `fdxd serve --addr addr args...` and waits until its
// discovery document answers.
func (h *harness) serve(addr string, args ...string) *serving {
	h.t.Helper()
	return h.serveAt("http://"+addr, append([]string{"--addr", addr}, args...)...)
}

// serveAt starts `fdxd serve args...`, which is to answer at base.
func (h *harness) serveAt(base string, args ...string) *serving {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{t: h.t, base: base, cancel: cancel, exited: make(chan struct{}),
		stdout: &servertest.SyncBuffer{}, stderr: &servertest.SyncBuffer{}}
	env := cli.Env{Stdin: strings.NewReader(""), Stdout: s.stdout, Stderr: s.stderr, Getenv: h.getenv}
	go func() {
		defer close(s.exited)
		s.code = cli.Main(ctx, append([]string{"serve"}, args...), env)
	}()
	h.t.Cleanup(func() { s.stop() })
	s.waitReady()
	return s
}

// waitReady polls discovery until it answers 200, failing early when serve
// exits.
func (s *serving) waitReady() map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-s.exited:
			s.t.Fatalf("fdxd serve exited with %d before answering:\nstdout:\n%s\nstderr:\n%s", s.code, s.stdout, s.stderr)
		default:
		}
		resp, err := http.Get(s.base + "/.well-known/openid-configuration")
		if err == nil {
			var doc map[string]any
			err = json.NewDecoder(resp.Body).Decode(&doc)
			resp.Body.Close()
			if resp.StatusCode == 200 && err == nil {
				return doc
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("fdxd serve did not answer discovery within 30 s: %v\nstderr:\n%s", err, s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop cancels serve's context (what SIGINT/SIGTERM do in main) and returns
// its exit code.
func (s *serving) stop() int {
	s.t.Helper()
	s.cancel()
	select {
	case <-s.exited:
	case <-time.After(40 * time.Second):
		s.t.Fatalf("fdxd serve did not stop within 40 s of its context ending\nstderr:\n%s", s.stderr)
	}
	return s.code
}

func (s *serving) discovery() map[string]any { s.t.Helper(); return s.waitReady() }

func TestServeRefusesBadConfiguration(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"http issuer", []string{"--issuer", "http://bank.example.com"}, nil, "--issuer must use https: Plaid requires TLS"},
		{"http issuer from env", nil, map[string]string{"FDXD_ISSUER": "http://bank.example.com"}, "--issuer must use https"},
		{"http issuer on a private address", []string{"--issuer", "http://10.0.0.5:8080"}, nil, "--issuer must use https"},
		{"http addr on all interfaces", []string{"--addr", "0.0.0.0:8080"}, nil, "--issuer must use https"},
		{"issuer not a URL", []string{"--issuer", "bank.example.com"}, nil, `--issuer "bank.example.com" is not an absolute URL`},
		{"code ttl 11m", []string{"--code-ttl", "11m"}, nil, "--code-ttl 11m0s is refused: codes must expire within 10m0s"},
		{"code ttl 11m from env", nil, map[string]string{"FDXD_CODE_TTL": "11m"}, "--code-ttl 11m0s is refused"},
		{"code ttl 0", []string{"--code-ttl", "0s"}, nil, "--code-ttl 0s is refused"},
		{"log level", []string{"--log-level", "chatty"}, nil, `--log-level "chatty"`},
		{"rate limit NaN", []string{"--client-rate-limit", "NaN"}, nil, "--client-rate-limit NaN is not a number of requests per second"},
		{"rate limit infinite", []string{"--client-rate-limit", "+Inf"}, nil, "--client-rate-limit +Inf is not a number of requests per second"},
		{"argument", []string{"now"}, nil, "unexpected arguments: now"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			for k, v := range c.env {
				h.env[k] = v
			}
			r := h.fails(2, c.want, "", append([]string{"serve", "--demo"}, c.args...)...)
			if r.stdout != "" {
				t.Errorf("stdout %q; want nothing", r.stdout)
			}
			if _, err := os.Stat(h.db); err == nil {
				t.Errorf("a refused configuration created the database")
			}
		})
	}

	t.Run("ten minutes is the ceiling, and allowed", func(t *testing.T) {
		h := newHarness(t)
		s := h.serve(freeAddr(t), "--demo", "--code-ttl", "10m")
		if code := s.stop(); code != 0 {
			t.Fatalf("exit %d", code)
		}
	})

	t.Run("no key-encryption key", func(t *testing.T) {
		h := newHarness(t)
		h.fails(1, "no key-encryption key: set FDXD_KEY_ENCRYPTION_KEY", "", "serve", "--addr", freeAddr(t))
	})

	t.Run("address in use", func(t *testing.T) {
		h := newHarness(t)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		h.fails(1, "listen on "+l.Addr().String(), "", "serve", "--demo", "--addr", l.Addr().String())
	})
}

// TestServeFromEnvironment: every serve flag can come from FDXD_<FLAG>.
func TestServeFromEnvironment(t *testing.T) {
	h := newHarness(t).withKEK()
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	db := filepath.Join(h.dir, "from-env.db")
	h.env["FDXD_ADDR"] = addr
	h.env["FDXD_DB"] = db
	h.env["FDXD_ISSUER"] = "http://localhost:" + port + "/fdx"
	h.env["FDXD_INSTITUTION"] = "Env Credit Union"
	h.env["FDXD_SIGNING_ALG"] = "ES256"
	h.env["FDXD_LOG_LEVEL"] = "warn"

	s := h.serveAt("http://" + addr + "/fdx")
	doc := s.discovery()
	if doc["issuer"] != "http://localhost:"+port+"/fdx" || doc["token_endpoint"] != "http://localhost:"+port+"/fdx/token" {
		t.Fatalf("discovery issuer %v, token_endpoint %v; want FDXD_ISSUER's", doc["issuer"], doc["token_endpoint"])
	}
	if algs, _ := doc["id_token_signing_alg_values_supported"].([]any); !slices.Contains(algs, any("ES256")) {
		t.Errorf("FDXD_SIGNING_ALG=ES256 not in discovery: %v", algs)
	}
	resp, err := http.Get(s.base + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(jwks), `"alg":"ES256"`) {
		t.Errorf("FDXD_SIGNING_ALG=ES256: JWKS %s", jwks)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("FDXD_DB=%s not used: %v", db, err)
	}
	if _, err := os.Stat(h.db); err == nil {
		t.Errorf("the default database %s was created although FDXD_DB names another", h.db)
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, s.stderr)
	}
	if strings.Contains(s.stderr.String(), `"level":"INFO"`) {
		t.Errorf("FDXD_LOG_LEVEL=warn ignored: info lines on stderr")
	}
}

// TestServeDemo: --demo seeds the documented client and user, prints them,
// makes the key-encryption key, and running it again changes nothing but
// what an operator broke.
func TestServeDemo(t *testing.T) {
	h := newHarness(t)
	addr := freeAddr(t)
	s := h.serve(addr, "--demo")
	out := s.stdout.String()
	for _, want := range []string{
		"fdxd demo mode",
		"issuer         http://" + addr + "\n",
		"client_id      demo-aggregator\n",
		"client_secret  demo-aggregator-secret   (client_secret_basic or client_secret_post)\n",
		"https://cdn.plaid.com/link/v2/stable/oauth.html\n",
		"http://127.0.0.1:8787/callback\n",
		"user           demo / demo-password\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if doc := s.discovery(); doc["issuer"] != "http://"+addr {
		t.Errorf("issuer %v; want http://%s (from --addr)", doc["issuer"], addr)
	}
	kek, err := os.Stat(h.db + ".kek")
	if err != nil || kek.Mode().Perm() != 0o600 {
		t.Fatalf("demo key-encryption key %s: %v, mode %v; want mode 0600", h.db+".kek", err, kek.Mode())
	}
	kekBytes, _ := os.ReadFile(h.db + ".kek")
	demoFlow(t, s)
	if code := s.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}

	st := h.store()
	before, err := st.GetUserByUsername(t.Context(), "demo")
	if err != nil || before.Subject != "usr_demo_0001" {
		t.Fatalf("demo user %+v, %v", before, err)
	}

	// An operator breaks the demo: another secret, another password.
	h.ok("", "clients", "rotate-secret", "--grace", "0", "demo-aggregator")
	h.ok("something-else-entirely\n", "users", "set-password", "--password-stdin", "demo")
	h.ok("", "users", "disable", "demo")

	s = h.serve(addr, "--demo")
	if !strings.Contains(s.stdout.String(), "client_secret  demo-aggregator-secret") {
		t.Errorf("second run did not print the demo values:\n%s", s.stdout)
	}
	if !strings.Contains(s.stderr.String(), `"source":"`+h.db+`.kek"`) {
		t.Errorf("second run did not reuse %s.kek:\n%s", h.db, s.stderr)
	}
	demoFlow(t, s)
	if code := s.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if again, _ := os.ReadFile(h.db + ".kek"); string(again) != string(kekBytes) {
		t.Fatal("the second run replaced the key-encryption key")
	}
	clients, _ := st.ListClients(t.Context())
	users, _ := st.ListUsers(t.Context())
	if len(clients) != 1 || len(users) != 1 {
		t.Fatalf("after two demo runs: %d clients, %d users; want 1 and 1", len(clients), len(users))
	}
	after, _ := st.GetUserByUsername(t.Context(), "demo")
	if after.ID != before.ID || after.Subject != before.Subject || after.Disabled {
		t.Fatalf("demo user changed identity or stayed disabled: %+v -> %+v", before, after)
	}
}

// demoFlow signs the demo user in through the login form and exchanges the
// code with client_secret_post, then refreshes with client_secret_basic.
func demoFlow(t *testing.T, s *serving) {
	t.Helper()
	code := demoCode(t, s, "demo-state-1")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cli.DemoRedirectURIs[1]},
		"client_id": {cli.DemoClientID}, "client_secret": {cli.DemoClientSecret}}
	resp, err := http.PostForm(s.base+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		IDToken      string `json:"id_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil || tok.RefreshToken == "" || tok.IDToken == "" {
		t.Fatalf("demo code exchange (client_secret_post): %d %v %+v", resp.StatusCode, err, tok)
	}
	req, _ := http.NewRequest("POST", s.base+"/token", strings.NewReader(url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {tok.RefreshToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(cli.DemoClientID, cli.DemoClientSecret)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("demo refresh (client_secret_basic): %d", resp.StatusCode)
	}
}

// demoCode signs the demo user in through the real login form.
func demoCode(t *testing.T, s *serving, state string) string {
	t.Helper()
	browser := &servertest.Server{T: t, Issuer: s.base}
	q := url.Values{"response_type": {"code"}, "client_id": {cli.DemoClientID}, "redirect_uri": {cli.DemoRedirectURIs[1]},
		"scope": {"openid offline_access"}, "state": {state}}
	res := browser.Login(browser.Browser(), s.base+"/authorize?"+q.Encode(), cli.DemoUsername, cli.DemoPassword, nil)
	if res.Code() == "" || res.Redirect.Query().Get("state") != state {
		t.Fatalf("demo sign-in: %+v", res)
	}
	return res.Code()
}

// TestServeDrainsInFlightRequests: when serve's context ends (SIGINT or
// SIGTERM in main), a request already being handled completes, new
// connections are refused, and serve exits 0.
func TestServeDrainsInFlightRequests(t *testing.T) {
	h := newHarness(t)
	addr := freeAddr(t)
	s := h.serve(addr, "--demo")
	code := demoCode(t, s, "drain-state")

	// A code exchange whose body arrives slowly. Expect: 100-continue makes
	// the server say when the handler starts reading the body, so the
	// request is known to be in flight before the shutdown begins.
	body := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cli.DemoRedirectURIs[1]}}.Encode()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(40 * time.Second))
	basic := base64.StdEncoding.EncodeToString([]byte(cli.DemoClientID + ":" + cli.DemoClientSecret))
	fmt.Fprintf(conn, "POST /token HTTP/1.1\r\nHost: %s\r\nAuthorization: Basic %s\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, basic, len(body))
	br := bufio.NewReader(conn)
	req, _ := http.NewRequest("POST", "/token", nil)
	cont, err := http.ReadResponse(br, req)
	if err != nil || cont.StatusCode != http.StatusContinue {
		t.Fatalf("want 100 Continue once the handler reads the body: %v %v", cont, err)
	}
	half := len(body) / 2
	if _, err := io.WriteString(conn, body[:half]); err != nil {
		t.Fatal(err)
	}

	s.cancel()
	// The listener closes as the drain starts: new connections are refused.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts connections 30 s after the context ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-s.exited:
		t.Fatalf("serve exited (%d) with a request in flight", s.code)
	default:
	}

	if _, err := io.WriteString(conn, body[half:]); err != nil {
		t.Fatalf("finishing the in-flight request: %v", err)
	}
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("in-flight code exchange during the drain: %d %v %+v", resp.StatusCode, err, tok)
	}

	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited %d after draining; want 0\nstderr:\n%s", code, s.stderr)
	}
	logs := s.stderr.String()
	for _, event := range []string{"server.draining", "server.stopped"} {
		if len(logEvents(logs, event)) != 1 {
			t.Errorf("want one %s log line:\n%s", event, logs)
		}
	}
	if issued := logEvents(logs, "token.issued"); len(issued) != 1 {
		t.Errorf("want the drained exchange logged as token.issued once, got %d", len(issued))
	}
	if strings.Contains(logs, code) || strings.Contains(logs, tok.AccessToken) || strings.Contains(logs, tok.RefreshToken) ||
		strings.Contains(logs, cli.DemoPassword) || strings.Contains(logs, cli.DemoClientSecret) {
		t.Error("a code, token, password or secret reached the log")
	}
}
