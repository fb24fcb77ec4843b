package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/postgres"
	"github.com/fdxd/fdxd/internal/store/postgres/pgtest"
	"github.com/fdxd/fdxd/internal/store/storetest"
)

// open opens a store on a fresh database of its own.
func open(t *testing.T) store.Store {
	t.Helper()
	return openURL(t, pgtest.NewDatabase(t), postgres.Options{})
}

func openURL(t *testing.T, url string, opts postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

func TestConcurrency(t *testing.T) { storetest.RunConcurrency(t, open) }

func TestObserveConformance(t *testing.T) {
	storetest.RunObserve(t, func(t *testing.T) storetest.ObserveBackend {
		return openURL(t, pgtest.NewDatabase(t), postgres.Options{})
	})
}

func TestDataConformance(t *testing.T) {
	storetest.RunData(t, func(t *testing.T) storetest.DataBackend {
		return openURL(t, pgtest.NewDatabase(t), postgres.Options{})
	})
}

// TestConcurrentOpenMigratesOnce starts several replicas on one fresh
// database at the same moment: the advisory lock lets exactly one apply
// each migration, and every one of them opens.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	names, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.NewDatabase(t)
	const replicas = 6
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		mu      sync.Mutex
		applied []string
	)
	for i := range replicas {
		wg.Go(func() {
			<-start
			// Half open a store, half run the migrate command; both take
			// the same lock.
			if i%2 == 0 {
				s, err := postgres.Open(t.Context(), dbURL, postgres.Options{MaxConns: 2})
				if err != nil {
					t.Errorf("replica %d: open: %v", i, err)
					return
				}
				s.Close()
				return
			}
			got, err := postgres.Migrate(t.Context(), dbURL, postgres.Options{})
			if err != nil {
				t.Errorf("replica %d: migrate: %v", i, err)
			}
			mu.Lock()
			applied = append(applied, got...)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()

	s := openURL(t, dbURL, postgres.Options{})
	gotApplied, known, err := s.MigrationStatus(t.Context())
	if err != nil || gotApplied != known || known != len(names) {
		t.Fatalf("MigrationStatus = %d, %d, %v; want %d, %d", gotApplied, known, err, len(names), len(names))
	}
	// Each migration ran once: no migrate call reports one twice, and
	// none reports one an Open had already applied.
	seen := map[string]int{}
	for _, name := range applied {
		seen[name]++
		if seen[name] > 1 {
			t.Errorf("migration %s applied %d times", name, seen[name])
		}
	}
	if again, err := postgres.Migrate(t.Context(), dbURL, postgres.Options{}); err != nil || len(again) != 0 {
		t.Errorf("Migrate on a migrated database = %v, %v; want nothing applied", again, err)
	}
}

// TestMigrateReportsWhatItApplied runs the migrate command on a fresh
// database, then again.
func TestMigrateReportsWhatItApplied(t *testing.T) {
	names, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.NewDatabase(t)
	got, err := postgres.Migrate(t.Context(), dbURL, postgres.Options{})
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	var want []string
	for _, n := range names {
		want = append(want, strings.TrimPrefix(n, "migrations/"))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Migrate applied %v; want %v", got, want)
	}
	got, err = postgres.Migrate(t.Context(), dbURL, postgres.Options{})
	if err != nil || got != nil {
		t.Fatalf("second Migrate = %v, %v; want nothing", got, err)
	}
}

// TestTimesRoundTripInUTC stores times given in other zones and with
// nanoseconds: they come back as the same instant, in UTC, at microsecond
// precision; zero times come back zero.
func TestTimesRoundTripInUTC(t *testing.T) {
	s := openURL(t, pgtest.NewDatabase(t), postgres.Options{})
	zone := time.FixedZone("UTC-5", -5*3600)
	at := time.Date(2026, 6, 30, 23, 59, 59, 987654321, zone)
	c := store.Client{ID: "c1", CreatedAt: at, UpdatedAt: at.Add(time.Nanosecond)}
	if err := s.CreateClient(t.Context(), c); err != nil {
		t.Fatalf("create client: %v", err)
	}
	got, err := s.GetClient(t.Context(), "c1")
	if err != nil {
		t.Fatalf("get client: %v", err)
	}
	want := at.Truncate(time.Microsecond).UTC()
	if got.CreatedAt != want || got.UpdatedAt != want {
		t.Errorf("times = %v, %v; want %v twice", got.CreatedAt, got.UpdatedAt, want)
	}
	if !got.PreviousSecretExpiresAt.IsZero() {
		t.Errorf("unset time = %v; want zero", got.PreviousSecretExpiresAt)
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	if _, err := postgres.Open(t.Context(), "postgres://127.0.0.1:1/db", postgres.Options{MaxConns: -2}); err == nil {
		t.Error("Open accepted a negative MaxConns")
	}
	if _, err := postgres.Open(t.Context(), "postgres://u:pw@[::1/db", postgres.Options{}); err == nil {
		t.Error("Open accepted a malformed URL")
	}
	// Nothing listens on port 1: unavailable, not a configuration error.
	_, err := postgres.Open(t.Context(), "postgres://postgres@127.0.0.1:1/db?sslmode=disable", postgres.Options{})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open with nothing listening: error = %v; want store.ErrUnavailable", err)
	}
}

// replicas stands for several fdxd processes on one database: each has its
// own Store (its own pool), and the calls the concurrency suites race go to
// them in turn. Everything else goes to the first.
type replicas struct {
	*postgres.Store
	all  []*postgres.Store
	next atomic.Uint64
}

func openReplicas(t *testing.T, n int) *replicas {
	t.Helper()
	dbURL := pgtest.NewDatabase(t)
	r := &replicas{}
	for range n {
		r.all = append(r.all, openURL(t, dbURL, postgres.Options{MaxConns: 8}))
	}
	r.Store = r.all[0]
	return r
}

func (r *replicas) pick() *postgres.Store { return r.all[r.next.Add(1)%uint64(len(r.all))] }

func (r *replicas) RedeemAuthCode(ctx context.Context, c store.CodeRedemption) error {
	return r.pick().RedeemAuthCode(ctx, c)
}

func (r *replicas) RotateRefreshToken(ctx context.Context, rr store.RefreshRotation) error {
	return r.pick().RotateRefreshToken(ctx, rr)
}

func (r *replicas) UpdateSigningKeys(ctx context.Context, update func([]store.SigningKey) ([]store.SigningKey, error)) error {
	return r.pick().UpdateSigningKeys(ctx, update)
}

func (r *replicas) ServerSecret(ctx context.Context, name string, create func() ([]byte, error)) ([]byte, error) {
	return r.pick().ServerSecret(ctx, name, create)
}

func (r *replicas) OpenIssue(ctx context.Context, iss store.Issue) (store.Issue, bool, error) {
	return r.pick().OpenIssue(ctx, iss)
}

func (r *replicas) AddTraffic(ctx context.Context, b store.TrafficBatch) error {
	return r.pick().AddTraffic(ctx, b)
}

func (r *replicas) OpenCountedIssue(ctx context.Context, iss store.Issue, q store.AlertCountQuery) (store.Issue, bool, error) {
	return r.pick().OpenCountedIssue(ctx, iss, q)
}

// TestConcurrencyAcrossReplicas runs the concurrency suites unchanged with
// the racing calls spread over three Stores on one database: single-use
// codes, one key update at a time, first-writer-wins secrets, one open
// issue per key and traffic counts that add up hold across processes, not
// only inside one.
func TestConcurrencyAcrossReplicas(t *testing.T) {
	storetest.RunConcurrency(t, func(t *testing.T) store.Store { return openReplicas(t, 3) })
	t.Run("Observe", func(t *testing.T) {
		storetest.RunObserve(t, func(t *testing.T) storetest.ObserveBackend { return openReplicas(t, 3) })
	})
}

// TestRetryRacingSuccessorUse races, on two replicas, a client retrying the
// rotation of rt0 (inside the grace) against a use of rt0's successor rt1.
// Exactly one may win, and the chain stays whole: whenever rt1's own
// successor exists, rt1 does too and is still rt0's successor.
func TestRetryRacingSuccessorUse(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	a := openURL(t, dbURL, postgres.Options{MaxConns: 4})
	b := openURL(t, dbURL, postgres.Options{MaxConns: 4})
	ctx := t.Context()
	at := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	mustOK(t, a.CreateClient(ctx, testClient("c1", "client")), "create client")
	mustOK(t, a.CreateUser(ctx, store.User{ID: "u1", Subject: "sub_u1_0001", Username: "u1", CreatedAt: at}), "create user")

	const rounds = 40
	for i := range rounds {
		grantID := fmt.Sprintf("g%d", i)
		name := func(s string) string { return fmt.Sprintf("%s-%d", s, i) }
		code := store.AuthCode{Hash: name("code"), GrantID: grantID, ClientID: "c1", UserID: "u1", CreatedAt: at,
			ExpiresAt: at.Add(time.Minute)}
		mustOK(t, a.CreateAuthCode(ctx, code), "create code")
		token := func(hash string) store.RefreshToken {
			return store.RefreshToken{Hash: hash, GrantID: grantID, ClientID: "c1", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
		}
		rt0 := token(name("rt0"))
		mustOK(t, a.RedeemAuthCode(ctx, store.CodeRedemption{CodeHash: code.Hash, Now: at,
			Grant:        store.Grant{ID: grantID, ClientID: "c1", UserID: "u1", CreatedAt: at, ExpiresAt: at.Add(time.Hour)},
			RefreshToken: &rt0}), "redeem")
		rotate := func(s *postgres.Store, old, new string) error {
			return s.RotateRefreshToken(ctx, store.RefreshRotation{OldHash: old, New: token(new), Now: at.Add(time.Second),
				Grace: 2 * time.Minute})
		}
		mustOK(t, rotate(a, name("rt0"), name("rt1")), "first rotation")

		var retryErr, useErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() { <-start; retryErr = rotate(a, name("rt0"), name("rt1b")) })
		wg.Go(func() { <-start; useErr = rotate(b, name("rt1"), name("rt2")) })
		close(start)
		wg.Wait()

		switch {
		case retryErr == nil && errors.Is(useErr, store.ErrNotFound):
			// The retry won: rt1 was replaced before anyone used it.
		case useErr == nil && errors.Is(retryErr, store.ErrRefreshTokenReused):
			// The use won: the retry came after the successor was used.
		default:
			t.Fatalf("round %d: retry error = %v, use error = %v; want exactly one to win", i, retryErr, useErr)
		}
		if _, err := a.GetRefreshToken(ctx, name("rt2")); err == nil {
			old, err := a.GetRefreshToken(ctx, name("rt0"))
			mustOK(t, err, "get rt0")
			if old.SuccessorHash != name("rt1") {
				t.Fatalf("round %d: rt2 exists but rt0's successor is %q", i, old.SuccessorHash)
			}
			_, err = a.GetRefreshToken(ctx, name("rt1"))
			mustOK(t, err, "rt1 after it was used")
		}
	}
}

// TestConcurrentImportsOfOneAccountID races two replicas importing the same
// new account ID for two different users: one import wins, the other gets
// ErrAlreadyExists, and the account holds only the winner's data.
func TestConcurrentImportsOfOneAccountID(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	a := openURL(t, dbURL, postgres.Options{MaxConns: 2})
	b := openURL(t, dbURL, postgres.Options{MaxConns: 2})
	ctx := t.Context()
	at := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	for _, u := range []string{"u1", "u2"} {
		mustOK(t, a.CreateUser(ctx, store.User{ID: u, Subject: "sub_" + u + "_0001", Username: u, CreatedAt: at}), "create user")
	}
	importFor := func(s *postgres.Store, userID, accountID string) error {
		return s.ImportData(ctx, store.DataImport{Now: at, Accounts: []store.AccountData{{
			Account:      store.Account{ID: accountID, UserID: userID, Status: "OPEN", Details: []byte(`{"owner":"` + userID + `"}`), CreatedAt: at},
			Transactions: []store.Transaction{{ID: "t-" + userID, At: at, Body: []byte(userID)}},
		}}})
	}
	for i := range 20 {
		id := fmt.Sprintf("acct-%d", i)
		var err1, err2 error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() { <-start; err1 = importFor(a, "u1", id) })
		wg.Go(func() { <-start; err2 = importFor(b, "u2", id) })
		close(start)
		wg.Wait()
		winner := ""
		switch {
		case err1 == nil && errors.Is(err2, store.ErrAlreadyExists):
			winner = "u1"
		case err2 == nil && errors.Is(err1, store.ErrAlreadyExists):
			winner = "u2"
		default:
			t.Fatalf("round %d: imports = %v, %v; want one success and one ErrAlreadyExists", i, err1, err2)
		}
		got, err := a.GetAccount(ctx, winner, id)
		mustOK(t, err, "get the winner's account")
		if string(got.Details) != `{"owner":"`+winner+`"}` {
			t.Fatalf("round %d: %s's account holds %s", i, winner, got.Details)
		}
		txns, err := a.ListTransactions(ctx, store.TransactionQuery{AccountID: id, From: at, To: at.Add(time.Hour), Limit: 10})
		mustOK(t, err, "list transactions")
		if len(txns) != 1 || txns[0].ID != "t-"+winner {
			t.Fatalf("round %d: transactions %+v; want only t-%s", i, txns, winner)
		}
	}
}

// TestAccountWithoutCreationTime stores an account whose CreatedAt is unset:
// it reads back unset and pages first, as on SQLite.
func TestAccountWithoutCreationTime(t *testing.T) {
	s := openURL(t, pgtest.NewDatabase(t), postgres.Options{})
	ctx := t.Context()
	at := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	mustOK(t, s.CreateUser(ctx, store.User{ID: "u1", Subject: "sub_u1_0001", Username: "u1"}), "create user")
	mustOK(t, s.ImportData(ctx, store.DataImport{Now: at, Accounts: []store.AccountData{
		{Account: store.Account{ID: "b-dated", UserID: "u1", CreatedAt: at}},
		{Account: store.Account{ID: "z-undated", UserID: "u1"}},
	}}), "import")
	got, err := s.GetAccount(ctx, "u1", "z-undated")
	mustOK(t, err, "get")
	if !got.CreatedAt.IsZero() || !got.UpdatedAt.Equal(at) {
		t.Fatalf("CreatedAt, UpdatedAt = %v, %v; want zero, %v", got.CreatedAt, got.UpdatedAt, at)
	}
	page, err := s.ListAccounts(ctx, store.AccountQuery{UserID: "u1", Limit: 1})
	mustOK(t, err, "first page")
	if len(page) != 1 || page[0].ID != "z-undated" {
		t.Fatalf("first page = %+v; want z-undated", page)
	}
	page, err = s.ListAccounts(ctx, store.AccountQuery{UserID: "u1", AfterCreatedAt: page[0].CreatedAt, AfterID: page[0].ID, Limit: 5})
	mustOK(t, err, "second page")
	if len(page) != 1 || page[0].ID != "b-dated" {
		t.Fatalf("second page = %+v; want b-dated", page)
	}
}
