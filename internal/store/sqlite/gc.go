package sqlite

import (
	"context"
	"database/sql"
	"time"

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
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n := micros(now)
		steps := []struct {
			count *int64
			query string
			args  []any
		}{
			{&r.AuthRequests, `DELETE FROM auth_requests WHERE expires_at <= ?`, []any{n}},
			{&r.LoginSessions, `DELETE FROM login_sessions WHERE expires_at <= ?`, []any{n}},
			{&r.AuthCodes, `DELETE FROM auth_codes WHERE expires_at <= ?`, []any{micros(now.Add(-redeemedCodeRetention))}},
			{&r.RefreshTokens, `DELETE FROM refresh_tokens WHERE grant_id IN (SELECT id FROM grants
				WHERE expires_at <= ? OR (revoked_at > 0 AND revoked_at <= ?))`, []any{n, micros(now.Add(-revokedGrantRetention))}},
			{&r.Grants, `DELETE FROM grants WHERE expires_at <= ? OR (revoked_at > 0 AND revoked_at <= ?)`,
				[]any{n, micros(now.Add(-revokedGrantRetention))}},
		}
		for _, step := range steps {
			res, err := tx.ExecContext(ctx, step.query, step.args...)
			if err != nil {
				return err
			}
			if *step.count, err = res.RowsAffected(); err != nil {
				return err
			}
		}
		return nil
	})
	return r, translate("garbage collect", err)
}
