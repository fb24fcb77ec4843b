package cli_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/fdxd/fdxd/internal/oauth"
	"github.com/fdxd/fdxd/internal/password"
	"github.com/fdxd/fdxd/internal/server/servertest"
	"github.com/fdxd/fdxd/internal/store"
)

// signIn signs username in through the login form of srv and reports
// whether the server redirected back with a code.
func signIn(t *testing.T, srv *servertest.Server, username, pw string) servertest.LoginResult {
	t.Helper()
	return srv.Login(srv.Browser(), srv.AuthorizeURL(nil), username, pw, nil)
}

func TestUsersAddSubject(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		code    int
		wantSub string
		wantErr string
	}{
		{"sub of 7", []string{"--sub", "cust007"}, 0, "cust007", ""},
		{"sub of 6 refused", []string{"--sub", "cust06"}, 2, "",
			`subject "cust06" is 6 characters; Plaid rejects a consistency key shorter than 7 (use a longer id or an institution prefix)`},
		{"sub of 1 refused", []string{"--sub", "7"}, 2, "", "shorter than 7"},
		{"prefix makes it long enough", []string{"--sub-prefix", "fi123_", "--sub", "42"}, 0, "fi123_42", ""},
		{"prefix too short still", []string{"--sub-prefix", "b_", "--sub", "42"}, 2, "", `subject "b_42" is 4 characters`},
		{"sub with a space", []string{"--sub", "cust 0001"}, 2, "", "printable ASCII without spaces"},
		{"generated", nil, 0, "", ""},
		{"generated with prefix", []string{"--sub-prefix", "fi123_"}, 0, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			args := append(append([]string{"users", "add", "--password-stdin"}, c.args...), "bob")
			r := h.run("a-long-enough-password\n", args...)
			if r.code != c.code {
				t.Fatalf("fdxd %s: %v\nwant exit %d", strings.Join(args, " "), r, c.code)
			}
			if c.code != 0 {
				if !strings.Contains(r.stderr, c.wantErr) {
					t.Fatalf("stderr %q; want %q", r.stderr, c.wantErr)
				}
				if users, _ := h.store().ListUsers(t.Context()); len(users) != 0 {
					t.Fatalf("a refused user was stored: %+v", users)
				}
				return
			}
			sub := field(t, r.stdout, "sub")
			switch {
			case c.wantSub != "" && sub != c.wantSub:
				t.Fatalf("sub = %q; want %q", sub, c.wantSub)
			case c.wantSub == "" && !regexp.MustCompile(`^(fi123_)?usr_[a-z2-7]{16}$`).MatchString(sub):
				t.Fatalf("generated sub %q", sub)
			case strings.HasPrefix(c.name, "generated with prefix") && !strings.HasPrefix(sub, "fi123_"):
				t.Fatalf("sub %q lacks the prefix", sub)
			}
			u, err := h.store().GetUserByUsername(t.Context(), "bob")
			if err != nil || u.Subject != sub {
				t.Fatalf("stored %+v, %v; want sub %q", u, err, sub)
			}
		})
	}
}

func TestUsersAddPassword(t *testing.T) {
	h := newHarness(t)
	const chosen = "correct horse battery staple"
	r := h.ok(chosen+"\n", "users", "add", "--password-stdin", "--sub", "usr_carol_0001", "--name", "Carol Example",
		"--email", "carol@example.com", "--email-verified", "carol")
	if strings.Contains(r.stdout+r.stderr, chosen) || strings.Contains(r.stdout, "password") {
		t.Fatalf("a password from stdin was printed:\n%v", r)
	}
	r = h.ok("", "users", "add", "--sub", "usr_dave_0001", "dave")
	generated := field(t, r.stdout, "password")
	if len(generated) < 20 || !strings.Contains(r.stdout, "shown once") {
		t.Fatalf("generated password %q; output:\n%s", generated, r.stdout)
	}

	carol, err := h.store().GetUserByUsername(t.Context(), "carol")
	if err != nil {
		t.Fatal(err)
	}
	if err := password.Verify(chosen, carol.PasswordHash); err != nil || !strings.HasPrefix(carol.PasswordHash, "$argon2id$") {
		t.Fatalf("stored hash %q does not verify the stdin password: %v", carol.PasswordHash, err)
	}
	if carol.Name != "Carol Example" || carol.Email != "carol@example.com" || !carol.EmailVerified || carol.Subject != "usr_carol_0001" {
		t.Fatalf("stored %+v", carol)
	}

	// Both sign in through the real login form.
	srv, _ := h.server()
	if res := signIn(t, srv, "carol", chosen); res.Code() == "" {
		t.Fatalf("carol cannot sign in with her stdin password: %+v", res)
	}
	if res := signIn(t, srv, "dave", generated); res.Code() == "" {
		t.Fatalf("dave cannot sign in with the generated password: %+v", res)
	}

	// Bad input.
	h.fails(2, "a password must be at least", "short\n", "users", "add", "--password-stdin", "erin")
	h.fails(2, "nothing on standard input", "", "users", "add", "--password-stdin", "erin")
	h.fails(2, "must be 1 to 256 characters", "", "users", "add", " erin")
	h.fails(2, "give exactly one username", "", "users", "add")
	h.fails(1, `a user with username "carol" or subject`, chosen+"\n", "users", "add", "--password-stdin", "carol")
	h.fails(1, `or subject "usr_carol_0001" already exists`, chosen+"\n", "users", "add", "--password-stdin", "--sub", "usr_carol_0001", "carol2")
}

func TestUsersList(t *testing.T) {
	h := newHarness(t)
	h.ok("pw-for-frank-123\n", "users", "add", "--password-stdin", "--sub", "usr_frank_001", "--name", "Frank", "frank")
	h.ok("pw-for-grace-123\n", "users", "add", "--password-stdin", "--sub", "usr_grace_001", "--ineligible", "grace")
	h.ok("", "users", "disable", "frank")

	table := h.ok("", "users", "list").stdout
	for _, re := range []string{`(?m)^USERNAME\s+SUB\s+STATUS\s+NAME$`, `(?m)^frank\s+usr_frank_001\s+disabled\s+Frank$`, `(?m)^grace\s+usr_grace_001\s+ineligible\s*$`} {
		if !regexp.MustCompile(re).MatchString(table) {
			t.Errorf("users list does not match %s:\n%s", re, table)
		}
	}
	var list []map[string]any
	out := h.ok("", "users", "list", "--json").stdout
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 {
		t.Fatalf("users list --json: %v\n%s", err, out)
	}
	if strings.Contains(out, "argon2") || strings.Contains(out, "password") {
		t.Fatalf("users list --json shows password hashes:\n%s", out)
	}
	byName := map[string]map[string]any{}
	for _, u := range list {
		byName[u["username"].(string)] = u
	}
	if byName["frank"]["disabled"] != true || byName["grace"]["ineligible"] != true || byName["grace"]["sub"] != "usr_grace_001" {
		t.Fatalf("users list --json: %v", list)
	}
}

// TestUsersDisableRevokesGrants: a user who connected an aggregator is
// disabled; the aggregator's refresh token dies with the grant and the user
// can no longer sign in.
func TestUsersDisableRevokesGrants(t *testing.T) {
	h := newHarness(t)
	const pw = "heidi-password-2026"
	h.ok(pw+"\n", "users", "add", "--password-stdin", "--sub", "usr_heidi_0001", "heidi")
	srv, _ := h.server()

	refreshTokens := make([]string, 2)
	for i := range refreshTokens {
		res := signIn(t, srv, "heidi", pw)
		if res.Code() == "" {
			t.Fatalf("sign-in: %+v", res)
		}
		resp, body := srv.PostForm("/token", exchangeForm(res.Code()), servertest.ClientID, servertest.ClientSecret)
		var tok struct {
			RefreshToken string `json:"refresh_token"`
		}
		if json.Unmarshal(body, &tok); resp.StatusCode != 200 || tok.RefreshToken == "" {
			t.Fatalf("code exchange: %d %s", resp.StatusCode, body)
		}
		refreshTokens[i] = tok.RefreshToken
	}
	refresh := func(rt string) (int, string) {
		resp, body := srv.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}},
			servertest.ClientID, servertest.ClientSecret)
		return resp.StatusCode, string(body)
	}
	if code, body := refresh(refreshTokens[0]); code != 200 {
		t.Fatalf("refresh before disable: %d %s", code, body)
	}

	r := h.ok("", "users", "disable", "heidi")
	if want := "disabled heidi (sub usr_heidi_0001); revoked 2 grant(s)\n"; r.stdout != want {
		t.Fatalf("stdout %q; want %q", r.stdout, want)
	}
	for _, rt := range refreshTokens {
		if code, body := refresh(rt); code != 400 || !strings.Contains(body, "invalid_grant") {
			t.Fatalf("refresh after disable: %d %s; want 400 invalid_grant", code, body)
		}
	}
	grants, err := srv.Store.ListGrants(t.Context(), store.GrantFilter{UserID: userID(t, srv, "heidi"), IncludeDead: true})
	if err != nil || len(grants) != 2 {
		t.Fatalf("grants %+v, %v", grants, err)
	}
	for _, g := range grants {
		if g.RevokedAt.IsZero() || g.RevokeReason != "user disabled" {
			t.Fatalf("grant %s not revoked: %+v", g.ID, g)
		}
	}
	if res := signIn(t, srv, "heidi", pw); res.Code() != "" {
		t.Fatal("a disabled user signed in")
	}
	h.fails(1, `no user "nobody"`, "", "users", "disable", "nobody")
}

func userID(t *testing.T, srv *servertest.Server, username string) string {
	t.Helper()
	u, err := srv.Store.GetUserByUsername(t.Context(), username)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestUsersSetPassword(t *testing.T) {
	h := newHarness(t)
	const old, fresh = "ivan-old-password", "ivan-new-password"
	h.ok(old+"\n", "users", "add", "--password-stdin", "--sub", "usr_ivan_00001", "ivan")
	srv, _ := h.server()

	r := h.ok(fresh+"\n", "users", "set-password", "--password-stdin", "ivan")
	if r.stdout != "password set for ivan\n" {
		t.Fatalf("stdout %q", r.stdout)
	}
	if res := signIn(t, srv, "ivan", old); res.Code() != "" {
		t.Fatal("the old password still signs in")
	}
	if res := signIn(t, srv, "ivan", fresh); res.Code() == "" {
		t.Fatalf("the new password does not sign in: %+v", res)
	}

	r = h.ok("", "users", "set-password", "ivan")
	generated := field(t, r.stdout, "password")
	if res := signIn(t, srv, "ivan", generated); res.Code() == "" {
		t.Fatalf("the generated password does not sign in: %+v", res)
	}

	h.fails(1, `no user "judy"`, fresh+"\n", "users", "set-password", "--password-stdin", "judy")
	h.fails(2, "a password must be at least", "x\n", "users", "set-password", "--password-stdin", "ivan")
}

// TestUsersPasswordFitsTheLoginPage: a password the sign-in page would
// refuse is refused when it is set, so no user is created who can never
// sign in.
func TestUsersPasswordFitsTheLoginPage(t *testing.T) {
	h := newHarness(t)
	longest := strings.Repeat("p", oauth.MaxPasswordBytes)
	h.ok(longest+"\n", "users", "add", "--password-stdin", "--sub", "usr_kate_00001", "kate")
	srv, _ := h.server()
	if res := signIn(t, srv, "kate", longest); res.Code() == "" {
		t.Fatalf("a %d-byte password set by users add does not sign in: %+v", len(longest), res)
	}

	tooLong := longest + "p"
	want := fmt.Sprintf("a password must be at most %d bytes", oauth.MaxPasswordBytes)
	h.fails(2, want, tooLong+"\n", "users", "add", "--password-stdin", "--sub", "usr_liam_00001", "liam")
	h.fails(2, want, tooLong+"\n", "users", "set-password", "--password-stdin", "kate")
	if _, err := h.store().GetUserByUsername(t.Context(), "liam"); err == nil {
		t.Fatal("a user with a password too long to sign in was created")
	}
	if res := signIn(t, srv, "kate", longest); res.Code() == "" {
		t.Fatal("a refused set-password changed the password")
	}
}
