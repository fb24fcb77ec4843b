package backend_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/backend"
	"github.com/fdxd/fdxd/internal/store/postgres"
	"github.com/fdxd/fdxd/internal/store/postgres/pgtest"
	"github.com/fdxd/fdxd/internal/store/sqlite"
)

func TestIsPostgres(t *testing.T) {
	tests := []struct {
		location string
		want     bool
	}{
		{"postgres://postgres@127.0.0.1:5432/fdxd?sslmode=disable", true},
		{"postgresql://db.internal/fdxd", true},
		{"POSTGRES://db.internal/fdxd", true},
		{"./fdxd.db", false},
		{"/var/lib/fdxd/fdxd.db", false},
		{"postgres.db", false},
		{"data/postgres://x", false},
		{"mysql://db/fdxd", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := backend.IsPostgres(tt.location); got != tt.want {
			t.Errorf("IsPostgres(%q) = %v; want %v", tt.location, got, tt.want)
		}
	}
}

func TestOpenChoosesTheBackend(t *testing.T) {
	ctx := t.Context()
	s, err := backend.Open(ctx, filepath.Join(t.TempDir(), "fdxd.db"), backend.Options{MaxConns: 3})
	if err != nil {
		t.Fatalf("open SQLite: %v", err)
	}
	defer s.Close()
	if _, ok := s.(*sqlite.Store); !ok {
		t.Errorf("a path opened %T; want *sqlite.Store", s)
	}

	p, err := backend.Open(ctx, pgtest.NewDatabase(t), backend.Options{MaxConns: 3})
	if err != nil {
		t.Fatalf("open PostgreSQL: %v", err)
	}
	defer p.Close()
	if _, ok := p.(*postgres.Store); !ok {
		t.Errorf("a postgres:// URL opened %T; want *postgres.Store", p)
	}
	if err := p.Ping(ctx); err != nil {
		t.Errorf("ping PostgreSQL: %v", err)
	}

	if _, err := backend.Open(ctx, "", backend.Options{}); err == nil {
		t.Error("Open accepted an empty location")
	}
	_, err = backend.Open(ctx, "postgres://postgres@127.0.0.1:1/fdxd?sslmode=disable", backend.Options{})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open of an unreachable PostgreSQL: error = %v; want store.ErrUnavailable", err)
	}
}

func TestMigrate(t *testing.T) {
	tests := []struct {
		name       string
		location   func(t *testing.T) string
		migrations func() ([]string, error)
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "fdxd.db") }, sqlite.Migrations},
		{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t) }, postgres.Migrations},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, err := tt.migrations()
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, n := range names {
				want = append(want, strings.TrimPrefix(n, "migrations/"))
			}
			location := tt.location(t)
			got, err := backend.Migrate(t.Context(), location, backend.Options{})
			if err != nil {
				t.Fatalf("migrate a fresh database: %v", err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("Migrate on a fresh database applied %v; want %v", got, want)
			}
			got, err = backend.Migrate(t.Context(), location, backend.Options{})
			if err != nil || len(got) != 0 {
				t.Errorf("Migrate again = %v, %v; want nothing applied", got, err)
			}
			s, err := backend.Open(t.Context(), location, backend.Options{})
			if err != nil {
				t.Fatalf("open after migrate: %v", err)
			}
			s.Close()
		})
	}
}

// BenchmarkHotReads measures the reads every token request and API call
// makes (and the first page of /accounts), on both backends from the same code: one caller at a time, then
// as many callers as GOMAXPROCS allows.
//
//	go test -run '^$' -bench HotReads -count 6 ./internal/store/backend/
func BenchmarkHotReads(b *testing.B) {
	backends := []struct {
		name     string
		location func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "fdxd.db") }},
		{"postgres", func(b *testing.B) string { return pgtest.NewDatabase(b) }},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s, err := backend.Open(b.Context(), be.location(b), backend.Options{})
			if err != nil {
				b.Fatalf("open: %v", err)
			}
			b.Cleanup(func() { s.Close() })
			seedHotRows(b, s)
			reads := []struct {
				name string
				read func(b *testing.B) error
			}{
				{"GetClient", func(b *testing.B) error { _, err := s.GetClient(b.Context(), "c1"); return err }},
				{"GetRefreshToken", func(b *testing.B) error { _, err := s.GetRefreshToken(b.Context(), "rt1"); return err }},
				{"GetGrant", func(b *testing.B) error { _, err := s.GetGrant(b.Context(), "g1"); return err }},
				{"ListAccounts", func(b *testing.B) error {
					page, err := s.ListAccounts(b.Context(), store.AccountQuery{UserID: "u1", Limit: 25})
					if err == nil && len(page) != 5 {
						err = fmt.Errorf("ListAccounts returned %d accounts; want 5", len(page))
					}
					return err
				}},
			}
			for _, r := range reads {
				b.Run(r.name, func(b *testing.B) {
					for b.Loop() {
						if err := r.read(b); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run(r.name+"-parallel", func(b *testing.B) {
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := r.read(b); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
			}
		})
	}
}

// seedHotRows stores a client with two redirect URIs, a user with five
// accounts, and a grant with its refresh token, shaped like the ones a
// Plaid connection creates.
func seedHotRows(b *testing.B, s store.Store) {
	b.Helper()
	ctx := b.Context()
	at := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	client := store.Client{
		ID: "c1", Name: "Plaid", SecretHash: strings.Repeat("a", 64),
		RedirectURIs: []string{"https://cdn.plaid.com/link/v2/stable/oauth.html", "http://127.0.0.1:8787/callback"},
		GrantTypes:   []string{"authorization_code", "refresh_token"},
		Scopes:       []string{"openid", "offline_access", "profile", "email"},
		CreatedAt:    at, UpdatedAt: at,
	}
	user := store.User{ID: "u1", Subject: "sub_u1_0001", Username: "demo", CreatedAt: at, UpdatedAt: at}
	code := store.AuthCode{
		Hash: strings.Repeat("c", 64), GrantID: "g1", OAuthSessionID: "ses_1", ClientID: "c1", UserID: "u1",
		Subject: "sub_u1_0001", RedirectURI: client.RedirectURIs[0], Scopes: []string{"openid", "offline_access"},
		AuthTime: at, CreatedAt: at, ExpiresAt: at.Add(5 * time.Minute),
	}
	grant := store.Grant{
		ID: "g1", OAuthSessionID: "ses_1", ClientID: "c1", UserID: "u1", Subject: "sub_u1_0001",
		Scopes: code.Scopes, AccountSelection: true, AccountIDs: []string{"acct-1", "acct-2"},
		AuthTime: at, CreatedAt: at, ExpiresAt: at.Add(395 * 24 * time.Hour),
	}
	refresh := store.RefreshToken{Hash: "rt1", GrantID: "g1", ClientID: "c1", CreatedAt: at, ExpiresAt: grant.ExpiresAt}
	if err := s.CreateClient(ctx, client); err != nil {
		b.Fatalf("seed client: %v", err)
	}
	if err := s.CreateUser(ctx, user); err != nil {
		b.Fatalf("seed user: %v", err)
	}
	if err := s.CreateAuthCode(ctx, code); err != nil {
		b.Fatalf("seed code: %v", err)
	}
	if err := s.RedeemAuthCode(ctx, store.CodeRedemption{CodeHash: code.Hash, Now: at, Grant: grant, RefreshToken: &refresh}); err != nil {
		b.Fatalf("seed grant: %v", err)
	}
	var imp store.DataImport
	for i := range 5 {
		id := fmt.Sprintf("acct-%d", i)
		imp.Accounts = append(imp.Accounts, store.AccountData{Account: store.Account{
			ID: id, UserID: "u1", Category: "DEPOSIT_ACCOUNT", Type: "CHECKING", ProductName: "Everyday Checking",
			NumberDisplay: "...4321", Status: "OPEN", Currency: "USD",
			Details:   []byte(`{"accountId":"` + id + `","currentBalance":1234.56,"availableBalance":1200.00}`),
			CreatedAt: at.Add(time.Duration(i) * time.Second),
		}})
	}
	if err := s.ImportData(ctx, imp); err != nil {
		b.Fatalf("seed accounts: %v", err)
	}
}
