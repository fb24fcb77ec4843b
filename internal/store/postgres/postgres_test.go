package postgres_test

import (
	"testing"

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
