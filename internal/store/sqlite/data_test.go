package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/fdxd/fdxd/internal/store/sqlite"
	"github.com/fdxd/fdxd/internal/store/storetest"
)

func TestDataConformance(t *testing.T) {
	storetest.RunData(t, func(t *testing.T) storetest.DataBackend {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "fdxd.db"))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
