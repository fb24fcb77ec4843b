package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/fdxd/fdxd/internal/store"
)

func (s *Store) ListAccountSummaries(ctx context.Context, userID string) ([]store.AccountSummary, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, user_id, category, account_type, product_name, nickname,
		number_display, status FROM accounts WHERE user_id = $1 ORDER BY created_at NULLS FIRST, id`, userID)
	if err != nil {
		return nil, s.fail("list account summaries", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.AccountSummary, error) {
		var a store.AccountSummary
		err := row.Scan(&a.ID, &a.UserID, &a.Category, &a.Type, &a.ProductName, &a.Nickname, &a.NumberDisplay, &a.Status)
		return a, err
	})
	return out, s.fail("list account summaries", err)
}
