package sqlite_test

import (
	"path/filepath"
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
