package cli_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/password"
	"github.com/fdxd/fdxd/internal/store"
)

func TestAdmins(t *testing.T) {
	h := newHarness(t)
	r := h.ok("", "admins", "add", "ops")
	generated := field(t, r.stdout, "password")
	a, err := h.store().GetAdmin(t.Context(), "ops")
	if err != nil || password.Verify(generated, a.PasswordHash) != nil || !strings.HasPrefix(a.PasswordHash, "$argon2id$") {
		t.Fatalf("admin %+v, %v: the printed password does not verify against an argon2id hash", a, err)
	}
	h.fails(1, `an admin named "ops" already exists`, "", "admins", "add", "ops")
	h.fails(2, "at least 8 characters", "short\n", "admins", "add", "--password-stdin", "audit")
	r = h.ok("a-long-enough-admin-password\n", "admins", "add", "--password-stdin", "audit")
	if strings.Contains(r.stdout, "a-long-enough-admin-password") {
		t.Fatal("a password from stdin was printed")
	}
	r = h.ok("", "admins", "list")
	if !strings.Contains(r.stdout, "audit") || !strings.Contains(r.stdout, "ops") || strings.Contains(r.stdout, "argon2") {
		t.Fatalf("admins list:\n%s", r.stdout)
	}
	h.ok("another-long-password\n", "admins", "set-password", "--password-stdin", "ops")
	a, _ = h.store().GetAdmin(t.Context(), "ops")
	if password.Verify("another-long-password", a.PasswordHash) != nil {
		t.Fatal("set-password did not change the password")
	}
	h.fails(1, `no admin named "nobody"`, "another-long-password\n", "admins", "set-password", "--password-stdin", "nobody")
	h.ok("", "admins", "remove", "audit")
	h.fails(1, `no admin named "audit"`, "", "admins", "remove", "audit")
	h.fails(2, "give exactly one admin username", "", "admins", "add")
	h.fails(2, `unknown subcommand "delete"`, "", "admins", "delete", "ops")
}

func TestBundleCommand(t *testing.T) {
	h := newHarness(t)
	st := h.store()
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond)
	recs := []store.RequestRecord{
		{RequestID: "req_cli_1", Time: at, Route: "authorize", Method: "GET", Path: "/authorize", Status: 200,
			ClientID: "plaid", State: "st-cli", OAuthSessionID: "ses_cli"},
		{RequestID: "req_cli_2", Time: at.Add(time.Second), Route: "token", Method: "POST", Path: "/token", Status: 400,
			ClientID: "plaid", State: "st-cli", OAuthSessionID: "ses_cli", Subject: "usr_cli_0001", Error: "invalid_grant",
			Failure: true, Headers: map[string]string{"Authorization": "Basic [masked]"}},
	}
	if err := st.InsertRequestRecords(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	r := h.ok("", "bundle", "--request-id", "req_cli_2")
	var b observe.Bundle
	if err := json.Unmarshal([]byte(r.stdout), &b); err != nil {
		t.Fatalf("bundle is not JSON: %v\n%s", err, r.stdout)
	}
	if b.Ticket == nil || b.Ticket.XRequestID != "req_cli_2" || b.Ticket.HTTPStatus != 400 || b.Ticket.State != "st-cli" ||
		b.Ticket.UserID != "usr_cli_0001" || len(b.Records) != 2 {
		t.Fatalf("bundle ticket %+v with %d records", b.Ticket, len(b.Records))
	}
	out := filepath.Join(t.TempDir(), "ticket.json")
	h.ok("", "bundle", "--state", "st-cli", "--since", at.Add(-time.Hour).Format(time.RFC3339), "-o", out)
	info, err := os.Stat(out)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("bundle file %v, mode %v; want 0600", err, info.Mode())
	}
	h.fails(2, "exactly one of request id, state, user or issue", "", "bundle")
	h.fails(2, "exactly one of request id, state, user or issue", "", "bundle", "--state", "a", "--user", "b")
	h.fails(2, "--since", "", "bundle", "--state", "a", "--since", "last tuesday")
	h.fails(1, "no request record or issue matches", "", "bundle", "--request-id", "req_nope")
}

func TestServeRefusesBadObservabilitySettings(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"window under a second", []string{"--alert-window", "500ms"}, nil, "--alert-window must be at least 1s"},
		{"rate of 100 %", []string{"--alert-error-rate", "100"}, nil, "--alert-error-rate between 0 and 100"},
		{"webhook without secret", []string{"--webhook-url", "https://hooks.example.test/x"}, nil, "FDXD_WEBHOOK_SECRET"},
		{"smtp without recipients", []string{"--smtp-host", "smtp.example.test", "--smtp-from", "fdxd@bank.example"}, nil,
			"--smtp-host, --smtp-from and --smtp-to"},
		{"short admin token", nil, map[string]string{"FDXD_ADMIN_TOKEN": "short"}, "FDXD_ADMIN_TOKEN must be at least 16"},
		{"bad admin addr", []string{"--admin-addr", "nowhere"}, nil, `--admin-addr "nowhere"`},
		{"replica id with a newline", []string{"--replica-id", "a\nb"}, nil, "--replica-id must be at most 64 printable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			for k, v := range c.env {
				h.env[k] = v
			}
			h.fails(2, c.want, "", append([]string{"serve", "--demo"}, c.args...)...)
		})
	}
}

// TestServeAdminListener: serve --demo answers on its admin listener, the
// demo admin signs in, and the requests served before a stop are kept.
func TestServeAdminListener(t *testing.T) {
	h := newHarness(t)
	h.env["FDXD_ADMIN_TOKEN"] = "cli-admin-token-0123456789"
	s := h.serve(freeAddr(t), "--demo", "--replica-id", "replica-b")
	if !strings.Contains(s.stderr.String(), `"replica":"replica-b"`) {
		t.Errorf("--replica-id is not in the start log lines:\n%s", s.stderr)
	}
	m := regexp.MustCompile(`issue center +(http://\S+)/\n`).FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("no issue center in the banner:\n%s", s.stdout)
	}
	admin := m[1]
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(admin + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	req, _ := http.NewRequest(http.MethodGet, admin+"/api/v1/keys", nil)
	req.Header.Set("Authorization", "Bearer cli-admin-token-0123456789")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("admin API with the token: %v %v", resp, err)
	}

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(admin + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(page))
	if csrf == nil {
		t.Fatalf("sign-in page:\n%s", page)
	}
	form := url.Values{"csrf": {html.UnescapeString(csrf[1])}, "username": {"admin"}, "password": {"demo-admin-password"}}
	req, _ = http.NewRequest(http.MethodPost, admin+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = c.Do(req)
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("demo admin sign-in: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = c.Get(admin + "/keys")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("keys page after sign-in: %v %v", resp, err)
	}
	resp.Body.Close()

	marker, err := http.Get(s.base + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	marker.Body.Close()
	id := marker.Header.Get("X-Request-ID")
	if code := s.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	rec, err := h.store().GetRequestRecord(t.Context(), id)
	if err != nil || rec.Route != "jwks" || rec.Status != 200 {
		t.Fatalf("the record of the last request before the stop: %+v, %v", rec, err)
	}
}
