package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdxd/fdxd/internal/server/servertest"
)

const plaidRedirect = "https://cdn.plaid.com/link/v2/stable/oauth.html"

func TestDoctorAgainstFdxd(t *testing.T) {
	h := newHarness(t).withKEK()
	srv, _ := h.server()
	h.env["FDXD_DOCTOR_CLIENT_SECRET"] = servertest.ClientSecret
	report := filepath.Join(h.dir, "report.json")

	// The password arrives on stdin, the secret from the environment.
	r := h.run(servertest.Password+"\n", "doctor", "--issuer", srv.Issuer, "--client-id", servertest.ClientID,
		"--redirect-uri", plaidRedirect, "--username", servertest.Username, "--insecure-loopback", "--json", report)
	if r.code != 0 {
		t.Fatalf("fdxd doctor against fdxd: %v", r)
	}
	for _, want := range []string{"authorize\n", "PASS  token.code_reuse", "checks:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the report lacks %q:\n%s", want, r.stdout)
		}
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Failed  bool `json:"failed"`
		Results []struct {
			ID, Status string
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.Failed || len(doc.Results) < 60 {
		t.Errorf("--json wrote failed=%v with %d results (%v):\n%s", doc.Failed, len(doc.Results), err, b)
	}
	for _, s := range []string{servertest.ClientSecret, servertest.Password} {
		if strings.Contains(r.stdout+r.stderr+string(b), s) {
			t.Errorf("doctor printed or wrote the secret %q", s)
		}
	}

	// A wrong secret fails the code exchange: exit 1, and the FAIL says so.
	wrong := filepath.Join(h.dir, "wrong-secret")
	if err := os.WriteFile(wrong, []byte("not-the-secret-at-all-000000000000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(h.dir, "pw")
	if err := os.WriteFile(pw, []byte(servertest.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = h.run("", "doctor", "--issuer", srv.Issuer, "--client-id", servertest.ClientID, "--client-secret-file", wrong,
		"--redirect-uri", plaidRedirect, "--username", servertest.Username, "--password-file", pw, "--insecure-loopback", "--json", "-")
	if r.code != 1 || !strings.Contains(r.stdout, `"id": "token.exchange_basic",`) || !strings.Contains(r.stdout, "invalid_client") {
		t.Errorf("doctor with a wrong secret: %v\nwant exit 1 and token.exchange_basic failing with invalid_client", r)
	}

	// Without --insecure-loopback an http issuer is refused, as an aggregator would.
	r = h.run("", "doctor", "--issuer", srv.Issuer)
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL  discovery.https") {
		t.Errorf("doctor on http without --insecure-loopback: %v\nwant exit 1 with discovery.https failing", r)
	}
}

func TestDoctorUsage(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no issuer", []string{"doctor"}, "--issuer is required"},
		{"client without redirect", []string{"doctor", "--issuer", "https://bank.example", "--client-id", "c", "--client-secret-file", "/dev/null"}, "the client secret file /dev/null is empty"},
		{"redirect missing", []string{"doctor", "--issuer", "https://bank.example", "--client-id", "c"}, "--redirect-uri is required"},
		{"bad issuer", []string{"doctor", "--issuer", "bank.example"}, "is not an absolute http(s) URL"},
		{"extra argument", []string{"doctor", "--issuer", "https://bank.example", "now"}, "unexpected arguments: now"},
		{"missing spec", []string{"doctor", "--issuer", "https://bank.example", "--spec", "/nonexistent/corex.yaml"}, "--spec"},
		{"jwks without state", []string{"doctor", "jwks", "--issuer", "https://bank.example"}, "--state is required"},
		{"jwks without source", []string{"doctor", "jwks", "--state", "s.json"}, "--issuer or --jwks-uri is required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdin := ""
			if c.name == "redirect missing" {
				stdin = "some-secret\n"
			}
			h.fails(2, c.want, stdin, c.args...)
		})
	}
}

func TestDoctorJWKSPoll(t *testing.T) {
	h := newHarness(t).withKEK()
	srv, _ := h.server()
	state := filepath.Join(h.dir, "jwks-state.json")
	r := h.ok("", "doctor", "jwks", "--issuer", srv.Issuer, "--state", state, "--insecure-loopback")
	if !strings.Contains(r.stdout, "INFO  jwks.watch  watching "+srv.Issuer+"/jwks") {
		t.Errorf("first poll: %v", r)
	}
	r = h.ok("", "doctor", "jwks", "--issuer", srv.Issuer, "--state", state, "--insecure-loopback")
	if !strings.Contains(r.stdout, "PASS  jwks.watch") {
		t.Errorf("second poll: %v", r)
	}
	// The state belongs to one JWKS.
	h.fails(2, "the state file is for another jwks_uri", "", "doctor", "jwks", "--jwks-uri", "https://other.example/jwks", "--state", state)
}
