package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/sqlite"
	"github.com/fdxd/fdxd/internal/store/storetest"
)

func open(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "fdxd.db"))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

func TestConcurrency(t *testing.T) { storetest.RunConcurrency(t, open) }

func TestReopenKeepsDataAndSkipsMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fdxd.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := s.SetSetting(t.Context(), "k", "v"); err != nil {
		t.Fatalf("set: %v", err)
	}
	s.Close()
	s, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if v, err := s.GetSetting(t.Context(), "k"); err != nil || v != "v" {
		t.Fatalf("setting after reopen = %q, %v; want v", v, err)
	}
	applied, known, err := s.MigrationStatus(t.Context())
	if err != nil || applied != known || known == 0 {
		t.Fatalf("MigrationStatus = %d, %d, %v; want equal and non-zero", applied, known, err)
	}
}

// TestConcurrentWritersNeverSeeBusy: a server and a CLI process (two Stores
// on one file), each with many goroutines writing, never surface
// SQLITE_BUSY: the server queues on its one writer connection and the busy
// timeout absorbs the other process.
func TestConcurrentWritersNeverSeeBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fdxd.db")
	a, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for i := range 16 {
		s := store.Store(a)
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for j := range 50 {
				if err := s.SetSetting(t.Context(), fmt.Sprintf("k%d", i), fmt.Sprint(j)); err != nil {
					errs <- err
				}
				if _, err := s.GetSetting(t.Context(), fmt.Sprintf("k%d", (i+1)%16)); err != nil && !errors.Is(err, store.ErrNotFound) {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent write: %v", err)
	}
}

// processes stands for several fdxd processes on one database file (a
// server and a CLI, or two servers on one machine): each has its own Store,
// and the calls the traffic tests race go to them in turn. Everything else
// goes to the first.
type processes struct {
	*sqlite.Store
	all  []*sqlite.Store
	next atomic.Uint64
}

func (p *processes) pick() *sqlite.Store { return p.all[p.next.Add(1)%uint64(len(p.all))] }

func (p *processes) AddTraffic(ctx context.Context, b store.TrafficBatch) error {
	return p.pick().AddTraffic(ctx, b)
}

func (p *processes) OpenCountedIssue(ctx context.Context, iss store.Issue, q store.AlertCountQuery) (store.Issue, bool, error) {
	return p.pick().OpenCountedIssue(ctx, iss, q)
}

func (p *processes) OpenIssue(ctx context.Context, iss store.Issue) (store.Issue, bool, error) {
	return p.pick().OpenIssue(ctx, iss)
}

// TestObserveAcrossProcesses runs the observability suite with the racing
// calls spread over two Stores on one file: concurrent opens and traffic
// counts hold between processes too.
func TestObserveAcrossProcesses(t *testing.T) {
	storetest.RunObserve(t, func(t *testing.T) storetest.ObserveBackend {
		path := filepath.Join(t.TempDir(), "fdxd.db")
		p := &processes{}
		for range 2 {
			s, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			p.all = append(p.all, s)
		}
		p.Store = p.all[0]
		return p
	})
}
