package maintenance

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/sqlite"
)

func TestSwitchIsSharedAndCachedBriefly(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "fdxd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Unix(1_000_000, 0)
	clock := func() time.Time { return now }
	replicaA, replicaB := New(s, clock), New(s, clock)

	if on, err := replicaB.On(t.Context()); on || err != nil {
		t.Fatalf("fresh store: On = %v, %v; want off", on, err)
	}
	if err := replicaA.Set(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if on, _ := replicaA.On(t.Context()); !on {
		t.Fatal("the replica that switched does not see it at once")
	}
	if on, _ := replicaB.On(t.Context()); on {
		t.Fatal("cache not used: replica B re-read within CacheFor")
	}
	now = now.Add(CacheFor)
	if on, _ := replicaB.On(t.Context()); !on {
		t.Fatal("replica B does not see the switch after CacheFor")
	}
	if err := replicaA.Set(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	now = now.Add(CacheFor)
	if on, _ := replicaB.On(t.Context()); on {
		t.Fatal("replica B still in maintenance after it was switched off")
	}
}

func TestSwitchReportsDatabaseErrors(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "fdxd.db"))
	if err != nil {
		t.Fatal(err)
	}
	sw := New(s, nil)
	s.Close()
	if _, err := sw.On(t.Context()); err == nil {
		t.Fatal("On over a closed store returned no error")
	}
}

// failingSettings is a real store whose setting reads fail while down is
// set, as they do while the database is unreachable.
type failingSettings struct {
	store.SettingStore
	down atomic.Bool
}

func (f *failingSettings) GetSetting(ctx context.Context, name string) (string, error) {
	if f.down.Load() {
		return "", store.ErrUnavailable
	}
	return f.SettingStore.GetSetting(ctx, name)
}

// TestSwitchDoesNotCacheFailures: a failed read is not kept for CacheFor.
// The replica answers again on the first call after the database is back,
// at the same instant of its clock.
func TestSwitchDoesNotCacheFailures(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "fdxd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Unix(1_000_000, 0)
	settings := &failingSettings{SettingStore: s}
	sw := New(settings, func() time.Time { return now })

	settings.down.Store(true)
	if _, err := sw.On(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("On with the database down: error = %v; want store.ErrUnavailable", err)
	}
	settings.down.Store(false)
	if on, err := sw.On(t.Context()); on || err != nil {
		t.Fatalf("On right after the database is back: %v, %v; want off, nil (a failure must not be cached)", on, err)
	}

	// A good read is cached: a failure inside CacheFor is not even seen.
	settings.down.Store(true)
	if on, err := sw.On(t.Context()); on || err != nil {
		t.Fatalf("On within CacheFor of a good read: %v, %v; want the cached off, nil", on, err)
	}
	now = now.Add(CacheFor)
	if _, err := sw.On(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("On after CacheFor with the database down: error = %v; want store.ErrUnavailable", err)
	}
}
