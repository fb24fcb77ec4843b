package postgres_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
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
