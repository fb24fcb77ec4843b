package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestKeysetQueriesSeekTheIndex checks that every page query seeks its
// clustered key instead of scanning: page 1,000 must cost what page 1 costs.
func TestKeysetQueriesSeekTheIndex(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "fdxd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		name, query string
		args        []any
		want        string
	}{
		{"transactions", transactionPage, []any{"a", 0, "", 1, 10},
			"SEARCH fdx_transactions USING PRIMARY KEY (account_id=? AND (at,transaction_id)>(?,?) AND at<?)"},
		{"statements", statementPage, []any{"a", "", "", "9", 10},
			"SEARCH fdx_statements USING PRIMARY KEY (account_id=? AND (statement_date,statement_id)>(?,?) AND statement_date<?)"},
		{"accounts", accountPage + ` ORDER BY created_at, id LIMIT ?`,
			[]any{"u", 0, "", 10}, "SEARCH accounts USING INDEX accounts_user_order (user_id=? AND (created_at,id)>(?,?))"},
		{"selected accounts", accountPage + ` AND id IN (SELECT value FROM json_each(?)) ORDER BY created_at, id LIMIT ?`,
			[]any{"u", 0, "", "[]", 10}, "USING INDEX accounts_user_order (user_id=? AND (created_at,id)>(?,?))"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := s.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+tt.query, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			got := strings.Join(plan, "; ")
			if !strings.Contains(got, tt.want) || strings.Contains(got, "TEMP B-TREE") {
				t.Fatalf("plan %q; want %q and no sort", got, tt.want)
			}
		})
	}
}
