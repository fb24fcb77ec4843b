package cli_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/server/servertest"
)

func exchangeForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {servertest.RedirectURI}}
}

// authenticates reports whether the token endpoint accepts id and sec: a
// refresh with an unknown token is invalid_grant for an authenticated
// client and invalid_client (401) otherwise.
func authenticates(t *testing.T, srv *servertest.Server, id, sec string) bool {
	t.Helper()
	resp, body := srv.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"not-a-refresh-token"}}, id, sec)
	var e struct{ Error string }
	json.Unmarshal(body, &e)
	switch {
	case resp.StatusCode == 400 && e.Error == "invalid_grant":
		return true
	case resp.StatusCode == 401 && e.Error == "invalid_client":
		return false
	}
	t.Fatalf("token endpoint answered %d %s; want invalid_grant or invalid_client", resp.StatusCode, body)
	return false
}

func TestClientsAddGeneratesASecretShownOnce(t *testing.T) {
	h := newHarness(t)
	r := h.ok("", "clients", "add", "--id", "agg-confidential-1", "--name", "Acme Aggregator",
		"--redirect-uri", "https://agg.example/cb", "--redirect-uri", "http://127.0.0.1:9999/cb")
	if got := field(t, r.stdout, "client_id"); got != "agg-confidential-1" {
		t.Fatalf("client_id = %q", got)
	}
	sec := field(t, r.stdout, "client_secret")
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(sec) {
		t.Fatalf("generated secret %q; want 256 random bits in hex", sec)
	}
	if !strings.Contains(r.stdout, "shown once") {
		t.Errorf("the output does not say the secret is shown once:\n%s", r.stdout)
	}

	c, err := h.store().GetClient(t.Context(), "agg-confidential-1")
	if err != nil {
		t.Fatal(err)
	}
	if c.SecretHash != secret.Hash(sec) {
		t.Fatalf("stored secret hash %q; want the SHA-256 of the printed secret", c.SecretHash)
	}
	if c.Name != "Acme Aggregator" || len(c.RedirectURIs) != 2 || c.Public ||
		strings.Join(c.GrantTypes, " ") != "authorization_code refresh_token" {
		t.Fatalf("stored client %+v", c)
	}

	// Never again: not in show, list or list --json.
	for _, args := range [][]string{
		{"clients", "show", "agg-confidential-1"},
		{"clients", "list"},
		{"clients", "list", "--json"},
	} {
		r := h.ok("", args...)
		if strings.Contains(r.stdout, sec) || strings.Contains(r.stdout, c.SecretHash) {
			t.Errorf("fdxd %s shows the secret or its hash:\n%s", strings.Join(args, " "), r.stdout)
		}
		if !strings.Contains(r.stdout, "agg-confidential-1") {
			t.Errorf("fdxd %s does not show the client:\n%s", strings.Join(args, " "), r.stdout)
		}
	}

	// The secret works at the token endpoint.
	srv, _ := h.server()
	if !authenticates(t, srv, "agg-confidential-1", sec) {
		t.Fatal("the printed secret does not authenticate the client")
	}
	if authenticates(t, srv, "agg-confidential-1", sec[:63]+"x") {
		t.Fatal("a wrong secret authenticates the client")
	}
}

func TestClientsAddDefaultsAndJSON(t *testing.T) {
	h := newHarness(t)
	r := h.ok("", "clients", "add", "--redirect-uri", "https://agg.example/cb")
	id := field(t, r.stdout, "client_id")
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Fatalf("generated client_id %q; want 32 hex digits", id)
	}
	h.ok("", "clients", "add", "--id", "public-app-01", "--public", "--redirect-uri", "com.example.app:/cb",
		"--scope", "openid", "--scope", "offline_access", "--account-selection", "--rotate-refresh-tokens", "--rate-limit", "-1")

	var show map[string]any
	if err := json.Unmarshal([]byte(h.ok("", "clients", "show", "public-app-01").stdout), &show); err != nil {
		t.Fatalf("clients show is not JSON: %v", err)
	}
	want := map[string]any{"client_id": "public-app-01", "name": "public-app-01", "public": true,
		"account_selection": true, "rotate_refresh_tokens": true, "require_pkce": false, "rate_limit": -1.0}
	for k, v := range want {
		if show[k] != v {
			t.Errorf("clients show: %s = %v; want %v", k, show[k], v)
		}
	}
	if got := show["scopes"].([]any); len(got) != 2 {
		t.Errorf("scopes = %v", got)
	}
	for _, k := range []string{"secret", "secret_hash", "client_secret"} {
		if _, ok := show[k]; ok {
			t.Errorf("clients show prints %q", k)
		}
	}

	var list []map[string]any
	if err := json.Unmarshal([]byte(h.ok("", "clients", "list", "--json").stdout), &list); err != nil {
		t.Fatalf("clients list --json is not JSON: %v", err)
	}
	if len(list) != 2 {
		t.Fatalf("clients list --json has %d clients; want 2", len(list))
	}
	table := h.ok("", "clients", "list").stdout
	if !regexp.MustCompile(`(?m)^public-app-01\s+public-app-01\s+public\s+com.example.app:/cb$`).MatchString(table) ||
		!regexp.MustCompile(`(?m)^`+id+`\s+\S+\s+confidential\s+https://agg.example/cb$`).MatchString(table) {
		t.Fatalf("clients list:\n%s", table)
	}
}

func TestClientsAddSecretFromStdin(t *testing.T) {
	h := newHarness(t)
	const own = "an-operator-chosen-secret-of-40-characters"
	r := h.ok(own+"\n", "clients", "add", "--id", "agg-stdin-secret", "--secret-stdin", "--redirect-uri", "https://agg.example/cb")
	if strings.Contains(r.stdout+r.stderr, own) {
		t.Fatalf("the secret given on stdin was printed:\n%s", r)
	}
	if !strings.Contains(r.stdout, "client_secret  (as given on standard input)") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if c, err := h.store().GetClient(t.Context(), "agg-stdin-secret"); err != nil || c.SecretHash != secret.Hash(own) {
		t.Fatalf("stored %+v, %v; want the hash of the stdin secret", c, err)
	}
	// CRLF line endings are not part of the secret.
	h.ok(own+"\r\n", "clients", "add", "--id", "agg-stdin-crlf", "--secret-stdin", "--redirect-uri", "https://agg.example/cb")
	if c, _ := h.store().GetClient(t.Context(), "agg-stdin-crlf"); c.SecretHash != secret.Hash(own) {
		t.Fatal("a CRLF-terminated secret was stored with its line ending")
	}
}

func TestClientsAddRefusesBadInput(t *testing.T) {
	cases := []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"no redirect uri", "", []string{"--id", "agg-bad-0001"}, 2, "at least one --redirect-uri is required"},
		{"http redirect", "", []string{"--redirect-uri", "http://agg.example/cb"}, 2, "must use https (http only on a loopback host)"},
		{"http redirect on a host named 127.*", "", []string{"--redirect-uri", "http://127.attacker.example/cb"}, 2, "must use https (http only on a loopback host)"},
		{"fragment", "", []string{"--redirect-uri", "https://agg.example/cb#x"}, 2, "must not have a fragment"},
		{"relative redirect", "", []string{"--redirect-uri", "/cb"}, 2, "is not an absolute URI"},
		{"javascript redirect", "", []string{"--redirect-uri", "javascript:alert(1)"}, 2, `scheme "javascript" is not allowed`},
		{"short id", "", []string{"--id", "short", "--redirect-uri", "https://agg.example/cb"}, 2, "must be 8 to 256 characters"},
		{"id with space", "", []string{"--id", "has a space", "--redirect-uri", "https://agg.example/cb"}, 2, "must be 8 to 256 characters"},
		{"unknown scope", "", []string{"--scope", "accounts", "--redirect-uri", "https://agg.example/cb"}, 2, `scope "accounts" is not supported`},
		{"unknown grant", "", []string{"--grant-type", "password", "--redirect-uri", "https://agg.example/cb"}, 2, `grant type "password" is not supported`},
		{"public with secret", "x\n", []string{"--public", "--secret-stdin", "--redirect-uri", "https://agg.example/cb"}, 2, "a public client has no secret"},
		{"short stdin secret", "too-short\n", []string{"--secret-stdin", "--redirect-uri", "https://agg.example/cb"}, 2, "a client secret must be 32 to 256 characters"},
		{"empty stdin", "", []string{"--secret-stdin", "--redirect-uri", "https://agg.example/cb"}, 2, "nothing on standard input"},
		{"positional argument", "", []string{"--redirect-uri", "https://agg.example/cb", "extra"}, 2, "unexpected arguments: extra"},
		// NaN is refused by the database, and an infinite limit breaks every
		// JSON listing of the clients.
		{"rate limit NaN", "", []string{"--rate-limit", "NaN", "--redirect-uri", "https://agg.example/cb"}, 2, "--rate-limit NaN is not a number of requests per second"},
		{"rate limit infinite", "", []string{"--rate-limit", "Inf", "--redirect-uri", "https://agg.example/cb"}, 2, "--rate-limit +Inf is not a number of requests per second"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			r := h.fails(c.code, c.want, c.stdin, append([]string{"clients", "add"}, c.args...)...)
			if r.stdout != "" {
				t.Errorf("stdout = %q; want nothing", r.stdout)
			}
		})
	}

	t.Run("every problem at once", func(t *testing.T) {
		h := newHarness(t)
		r := h.fails(2, "must be 8 to 256", "", "clients", "add", "--id", "x", "--scope", "bogus", "--redirect-uri", "ftp://x")
		for _, want := range []string{`scope "bogus"`, `"ftp://x"`} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
	})

	t.Run("duplicate id", func(t *testing.T) {
		h := newHarness(t)
		h.ok("", "clients", "add", "--id", "agg-duplicate", "--redirect-uri", "https://agg.example/cb")
		h.fails(1, `client "agg-duplicate" already exists`, "", "clients", "add", "--id", "agg-duplicate", "--redirect-uri", "https://agg.example/cb")
	})
}

func TestClientsRemove(t *testing.T) {
	h := newHarness(t)
	h.ok("", "clients", "add", "--id", "agg-to-remove", "--redirect-uri", "https://agg.example/cb")
	if r := h.ok("", "clients", "remove", "agg-to-remove"); !strings.Contains(r.stdout, "removed client agg-to-remove") {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
	h.fails(1, `no client "agg-to-remove"`, "", "clients", "show", "agg-to-remove")
	h.fails(1, `no client "agg-to-remove"`, "", "clients", "remove", "agg-to-remove")
	h.fails(1, `no client "never-existed"`, "", "clients", "rotate-secret", "never-existed")
}

// TestClientsRotateSecret: the previous secret keeps working for --grace,
// both at the token endpoint of a running server.
func TestClientsRotateSecret(t *testing.T) {
	h := newHarness(t)
	first := field(t, h.ok("", "clients", "add", "--id", "agg-rotating", "--redirect-uri", "https://agg.example/cb").stdout, "client_secret")
	srv, clock := h.server()

	r := h.ok("", "clients", "rotate-secret", "--grace", "1h", "agg-rotating")
	second := field(t, r.stdout, "client_secret")
	if second == first || len(second) != 64 {
		t.Fatalf("rotated secret %q", second)
	}
	if !strings.Contains(r.stdout, "the previous secret keeps working until") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if !authenticates(t, srv, "agg-rotating", first) || !authenticates(t, srv, "agg-rotating", second) {
		t.Fatal("during the grace both the previous and the new secret must work")
	}
	var show map[string]any
	json.Unmarshal([]byte(h.ok("", "clients", "show", "agg-rotating").stdout), &show)
	until, err := time.Parse(time.RFC3339, show["previous_secret_valid_until"].(string))
	if err != nil || until.Sub(time.Now()) < 59*time.Minute || until.Sub(time.Now()) > time.Hour {
		t.Fatalf("previous_secret_valid_until = %v (%v); want an hour from now", show["previous_secret_valid_until"], err)
	}

	// Once the grace is over the previous secret is refused.
	clock.Advance(until.Sub(clock.Now()) - time.Second)
	if !authenticates(t, srv, "agg-rotating", first) {
		t.Fatal("the previous secret stopped working a second before the grace ends")
	}
	clock.Advance(time.Second)
	if authenticates(t, srv, "agg-rotating", first) {
		t.Fatal("the previous secret still works when the grace ends")
	}
	if !authenticates(t, srv, "agg-rotating", second) {
		t.Fatal("the new secret does not work after the grace")
	}

	// --grace 0 with a secret from stdin: the old one stops at once.
	const third = "third-secret-chosen-by-the-operator-0123456789"
	r = h.ok(third+"\n", "clients", "rotate-secret", "--grace", "0", "--secret-stdin", "agg-rotating")
	if strings.Contains(r.stdout, third) || !strings.Contains(r.stdout, "the previous secret no longer works") {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
	if authenticates(t, srv, "agg-rotating", second) || authenticates(t, srv, "agg-rotating", first) {
		t.Fatal("an earlier secret still works after rotate-secret --grace 0")
	}
	if !authenticates(t, srv, "agg-rotating", third) {
		t.Fatal("the stdin secret does not work")
	}

	h.fails(2, "--grace must not be negative", "", "clients", "rotate-secret", "--grace", "-1m", "agg-rotating")
	h.ok("", "clients", "add", "--id", "public-rotating", "--public", "--redirect-uri", "https://agg.example/cb")
	h.fails(1, "a public client has no secret", "", "clients", "rotate-secret", "public-rotating")
}
