package maintenance

import (
	"path/filepath"
	"testing"
	"time"

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
