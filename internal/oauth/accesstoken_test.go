package oauth

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/sqlite"
)

func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "fdxd.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// grantInStore creates client, user and a redeemed grant the real way.
func grantInStore(t testing.TB, s store.Store, now time.Time, scopes ...string) store.Grant {
	t.Helper()
	ctx := t.Context()
	if err := s.CreateClient(ctx, store.Client{ID: "client-1", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, store.User{ID: "user-1", Subject: "sub_user_0001", Username: "demo", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	code := store.AuthCode{Hash: "code", GrantID: "grant-1", ClientID: "client-1", UserID: "user-1", Subject: "sub_user_0001",
		Scopes: scopes, CreatedAt: now, ExpiresAt: now.Add(time.Minute), AuthTime: now}
	if err := s.CreateAuthCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	g := store.Grant{ID: "grant-1", ClientID: "client-1", UserID: "user-1", Subject: "sub_user_0001", Scopes: scopes,
		AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(395 * 24 * time.Hour)}
	if err := s.RedeemAuthCode(ctx, store.CodeRedemption{CodeHash: "code", Now: now, Grant: g}); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestAccessTokens(t *testing.T) {
	s := openStore(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	g := grantInStore(t, s, now, "openid", "offline_access", "profile")
	key := []byte(strings.Repeat("k", 32))
	at, err := NewAccessTokens(key, s, 900*time.Second, clock)
	if err != nil {
		t.Fatal(err)
	}

	tok, exp := at.Issue(g, now)
	if exp != now.Add(900*time.Second) {
		t.Fatalf("expiresAt = %v; want now+900s", exp)
	}
	if !LooksLikeAccessToken(tok) || strings.Contains(tok, "grant-1") {
		t.Fatalf("token %q: want the fdxd prefix and an opaque body", tok)
	}
	a, err := at.Verify(t.Context(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if a.GrantID != "grant-1" || a.Subject != "sub_user_0001" || a.ClientID != "client-1" || !a.HasScope("profile") {
		t.Fatalf("Verify = %+v", a)
	}

	narrowed := g
	narrowed.Scopes = []string{"openid", "email"} // email is not in the grant
	tok2, _ := at.Issue(narrowed, now)
	a2, err := at.Verify(t.Context(), tok2)
	if err != nil || a2.HasScope("email") || a2.HasScope("profile") || !a2.HasScope("openid") {
		t.Fatalf("narrowed token scopes = %v, %v; want [openid]", a2.Scopes, err)
	}

	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", ErrTokenInvalid},
		{"an ID token", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", ErrTokenInvalid},
		{"tampered body", tamper(tok, len(accessTokenPrefix)+3), ErrTokenInvalid},
		{"tampered MAC", tamper(tok, len(tok)-2), ErrTokenInvalid},
		{"no MAC", strings.SplitN(tok, ".", 3)[0] + "." + strings.SplitN(tok, ".", 3)[1], ErrTokenInvalid},
		{"another key", func() string {
			other, _ := NewAccessTokens([]byte(strings.Repeat("x", 32)), s, time.Minute, clock)
			t, _ := other.Issue(g, now)
			return t
		}(), ErrTokenInvalid},
	}
	for _, c := range cases {
		if _, err := at.Verify(t.Context(), c.token); !errors.Is(err, c.want) {
			t.Errorf("Verify(%s) = %v; want %v", c.name, err, c.want)
		}
	}

	// Expiry is exact: valid one microsecond before, refused at expires_in.
	now = exp.Add(-time.Microsecond)
	if _, err := at.Verify(t.Context(), tok); err != nil {
		t.Fatalf("Verify just before expiry: %v", err)
	}
	now = exp
	if _, err := at.Verify(t.Context(), tok); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("Verify at expiry = %v; want ErrTokenExpired", err)
	}

	// Revoking the grant's access tokens refuses earlier tokens at once,
	// not later ones.
	now = g.CreatedAt.Add(time.Minute)
	old, _ := at.Issue(g, now)
	if err := s.RevokeAccessTokens(t.Context(), g.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := at.Verify(t.Context(), old); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("Verify revoked token = %v; want ErrTokenRevoked", err)
	}
	now = now.Add(time.Second)
	fresh, _ := at.Issue(g, now)
	if _, err := at.Verify(t.Context(), fresh); err != nil {
		t.Fatalf("Verify token issued after revocation: %v", err)
	}

	// Revoking the grant refuses every token.
	if err := s.RevokeGrant(t.Context(), g.ID, now, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := at.Verify(t.Context(), fresh); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("Verify after grant revocation = %v; want ErrTokenRevoked", err)
	}

	// A token naming a grant that does not exist is revoked, not invalid.
	ghost := g
	ghost.ID = "no-such-grant"
	gt, _ := at.Issue(ghost, now)
	if _, err := at.Verify(t.Context(), gt); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("Verify token of a missing grant = %v; want ErrTokenRevoked", err)
	}
}

func tamper(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestNewAccessTokensRefusesWeakKey(t *testing.T) {
	if _, err := NewAccessTokens([]byte("short"), nil, time.Minute, nil); err == nil {
		t.Fatal("accepted a short key")
	}
}
