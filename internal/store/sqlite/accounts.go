package sqlite

import (
	"context"

	"github.com/fdxd/fdxd/internal/store"
)

func (s *Store) ListAccountSummaries(ctx context.Context, userID string) ([]store.AccountSummary, error) {
	rows, err := s.queryRows(ctx, `SELECT id, user_id, category, account_type, product_name, nickname,
		number_display, status FROM accounts WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, translate("list account summaries", err)
	}
	defer rows.Close()
	var out []store.AccountSummary
	for rows.Next() {
		var a store.AccountSummary
		if err := rows.Scan(&a.ID, &a.UserID, &a.Category, &a.Type, &a.ProductName, &a.Nickname, &a.NumberDisplay,
			&a.Status); err != nil {
			return nil, translate("list account summaries", err)
		}
		out = append(out, a)
	}
	return out, translate("list account summaries", rows.Err())
}
