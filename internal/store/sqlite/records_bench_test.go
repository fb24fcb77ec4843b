package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/sqlite"
)

// BenchmarkInsertRequestRecords is the cost of storing one request record
// in batches of 256, as the record writer does (the shape of a refresh).
func BenchmarkInsertRequestRecords(b *testing.B) {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "fdxd.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	batch := make([]store.RequestRecord, 256)
	n := 0
	for b.Loop() {
		i := n % len(batch)
		batch[i] = store.RequestRecord{RequestID: fmt.Sprintf("req_%016x", n*2654435761), Time: t0.Add(time.Duration(n) * time.Millisecond),
			Route: "token", Method: "POST", Path: "/token", Status: 200, Duration: 3 * time.Millisecond, RemoteAddr: "127.0.0.1",
			UserAgent: "Plaid/1.0", ClientID: "plaid", Subject: fmt.Sprintf("usr_%07d", n%5000), OAuthSessionID: fmt.Sprintf("ses_%07d", n%5000),
			Headers: map[string]string{"Authorization": "Basic [masked]", "Content-Type": "application/x-www-form-urlencoded",
				"User-Agent": "Plaid/1.0", "Content-Length": "73"}}
		n++
		if i == len(batch)-1 {
			if err := s.InsertRequestRecords(b.Context(), batch); err != nil {
				b.Fatal(err)
			}
		}
	}
}
