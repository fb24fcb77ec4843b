package sqlite_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/sqlite"
)

// BenchmarkInsertRequestRecords is the cost of storing one request record
// in batches, as the record writer does (the shape of a refresh).
func BenchmarkInsertRequestRecords(b *testing.B) {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "fdxd.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	batch := make([]store.RequestRecord, benchBatch)
	n := 0
	before := writtenBytes()
	for b.Loop() {
		i := n % len(batch)
		batch[i] = store.RequestRecord{RequestID: fmt.Sprintf("req_%016x", uint64(n)*0x9E3779B97F4A7C15), Time: t0.Add(time.Duration(n) * time.Millisecond),
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
	// Bytes written (WAL frames, checkpoints) per record: a figure the
	// machine's other work does not move, unlike the time.
	if after := writtenBytes(); before >= 0 && after >= before {
		b.ReportMetric(float64(after-before)/float64(n), "written-B/record")
	}
}

// writtenBytes is what this process has passed to write(2) so far
// (/proc/self/io wchar), or -1 where that is not known.
func writtenBytes() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// benchBatch is the records per transaction.
const benchBatch = 256
