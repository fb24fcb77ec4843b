package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fdxd/fdxd/internal/store"
)

// revokedGrantRetention keeps revoked grants (and their refresh tokens) long
// enough that a replayed token is still recognised, and logged, as revoked.
const revokedGrantRetention = 30 * 24 * time.Hour

// redeemedCodeRetention keeps codes past their expiry so that a late replay
// is still recognised and revokes the grant it created.
const redeemedCodeRetention = 24 * time.Hour

func (s *Store) GarbageCollect(ctx context.Context, now time.Time) (store.GCResult, error) {
	var r store.GCResult
	err := s.tx(ctx, func(tx pgx.Tx) error {
		revokedBefore := ts(now.Add(-revokedGrantRetention))
		steps := []struct {
			count *int64
			query string
			args  []any
		}{
			{&r.AuthRequests, `DELETE FROM auth_requests WHERE expires_at <= $1`, []any{ts(now)}},
			{&r.LoginSessions, `DELETE FROM login_sessions WHERE expires_at <= $1`, []any{ts(now)}},
			{&r.AuthCodes, `DELETE FROM auth_codes WHERE expires_at <= $1`, []any{ts(now.Add(-redeemedCodeRetention))}},
			{&r.RefreshTokens, `DELETE FROM refresh_tokens WHERE grant_id IN (SELECT id FROM grants
				WHERE expires_at <= $1 OR revoked_at <= $2)`, []any{ts(now), revokedBefore}},
			{&r.Grants, `DELETE FROM grants WHERE expires_at <= $1 OR revoked_at <= $2`, []any{ts(now), revokedBefore}},
		}
		for _, step := range steps {
			tag, err := tx.Exec(ctx, step.query, step.args...)
			if err != nil {
				return err
			}
			*step.count = tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		// The transaction rolled back: nothing was removed.
		return store.GCResult{}, s.fail("garbage collect", err)
	}
	return r, nil
}
