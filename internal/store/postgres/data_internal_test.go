package postgres

import (
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/store/postgres/pgtest"
)

// TestKeysetQueriesSeekTheIndex checks that every page query can be one
// range scan of its index, bounded by the cursor's row value and in the
// order asked for, with no sort: page 1,000 must cost what page 1 costs.
// Sequential scans are switched off so that the empty test tables do not
// hide whether an index can serve the query.
func TestKeysetQueriesSeekTheIndex(t *testing.T) {
	s, err := Open(t.Context(), pgtest.NewDatabase(t), Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := s.pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(t.Context(), "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, query string
		args        []any
		index, cond string
	}{
		{"transactions", transactionPage, []any{"a", keyTime(at), "", keyTime(at), 10},
			"fdx_transactions_pkey", "ROW(at, transaction_id) > ROW("},
		{"statements", statementPage, []any{"a", "", "", "9", 10},
			"fdx_statements_pkey", "ROW(statement_date, statement_id) > ROW("},
		{"networks", networkPage, []any{"a", "payment", -1, 10},
			"fdx_networks_pkey", `("position" > `},
		{"accounts", accountPage + ` ORDER BY created_at, id LIMIT $4`, []any{"u", keyTime(at), "", 10},
			"accounts_user_order", "ROW(created_at, id) > ROW("},
		{"selected accounts", accountPage + ` AND id = ANY($4) ORDER BY created_at, id LIMIT $5`,
			[]any{"u", keyTime(at), "", []string{"a"}, 10},
			"accounts_user_order", "ROW(created_at, id) > ROW("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := conn.Query(t.Context(), "EXPLAIN "+tt.query, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			indexCond := ""
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				line = strings.TrimSpace(line)
				plan = append(plan, line)
				if strings.HasPrefix(line, "Index Cond:") {
					indexCond = line
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			got := strings.Join(plan, "; ")
			if !strings.Contains(got, "Index Scan using "+tt.index+" ") {
				t.Errorf("plan %q; want an index scan of %s", got, tt.index)
			}
			// The cursor bounds the scan itself, not a filter after it.
			if !strings.Contains(indexCond, tt.cond) {
				t.Errorf("index condition %q; want %q in it", indexCond, tt.cond)
			}
			if strings.Contains(got, "Sort") || strings.Contains(got, "Seq Scan") {
				t.Errorf("plan %q; want no sort and no sequential scan", got)
			}
		})
	}
}
