package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fdxd/fdxd/internal/store"
)

const grantColumns = `id, oauth_session_id, client_id, user_id, subject, scopes, account_selection, account_ids,
	auth_time, created_at, expires_at, access_not_before, revoked_at, revoke_reason`

// grantFields are the scan targets of grantColumns; call finishGrant after
// the scan.
func grantFields(g *store.Grant) []any {
	return []any{&g.ID, &g.OAuthSessionID, &g.ClientID, &g.UserID, &g.Subject, &g.Scopes, &g.AccountSelection,
		&g.AccountIDs, scanTime(&g.AuthTime), scanTime(&g.CreatedAt), scanTime(&g.ExpiresAt),
		scanTime(&g.AccessNotBefore), scanTime(&g.RevokedAt), &g.RevokeReason}
}

func finishGrant(g *store.Grant) {
	g.Scopes, g.AccountIDs = nilIfEmpty(g.Scopes), nilIfEmpty(g.AccountIDs)
}

func scanGrant(row scanner) (store.Grant, error) {
	var g store.Grant
	err := row.Scan(grantFields(&g)...)
	finishGrant(&g)
	return g, err
}

func insertGrant(ctx context.Context, tx pgx.Tx, g store.Grant) error {
	_, err := tx.Exec(ctx, `INSERT INTO grants (`+grantColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		g.ID, g.OAuthSessionID, g.ClientID, g.UserID, g.Subject, list(g.Scopes), g.AccountSelection,
		list(g.AccountIDs), ts(g.AuthTime), ts(g.CreatedAt), ts(g.ExpiresAt), ts(g.AccessNotBefore),
		ts(g.RevokedAt), g.RevokeReason)
	return err
}

func (s *Store) GetGrant(ctx context.Context, id string) (store.Grant, error) {
	g, err := scanGrant(s.pool.QueryRow(ctx, `SELECT `+grantColumns+` FROM grants WHERE id = $1`, id))
	return g, s.fail("get grant", err)
}

func (s *Store) ListGrants(ctx context.Context, f store.GrantFilter) ([]store.Grant, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.UserID != "" {
		where = append(where, "user_id = "+arg(f.UserID))
	}
	if f.ClientID != "" {
		where = append(where, "client_id = "+arg(f.ClientID))
	}
	switch {
	case !f.ActiveAt.IsZero():
		where = append(where, "revoked_at IS NULL AND expires_at > "+arg(ts(f.ActiveAt)))
	case !f.IncludeDead:
		where = append(where, "revoked_at IS NULL")
	}
	q := `SELECT ` + grantColumns + ` FROM grants`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.pool.Query(ctx, q+" ORDER BY created_at NULLS FIRST, id", args...)
	if err != nil {
		return nil, s.fail("list grants", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Grant, error) { return scanGrant(row) })
	return out, s.fail("list grants", err)
}

func (s *Store) RevokeGrant(ctx context.Context, id string, at time.Time, reason string) error {
	if at.IsZero() {
		return errors.New("postgres: revoke grant: revocation time not set")
	}
	// One statement: the first revocation's time and reason stay, and a
	// missing grant is told apart from a revoked one.
	var found bool
	err := s.pool.QueryRow(ctx, `WITH revoked AS (
			UPDATE grants SET revoked_at = $2, revoke_reason = $3 WHERE id = $1 AND revoked_at IS NULL RETURNING 1
		)
		SELECT EXISTS (SELECT 1 FROM revoked) OR EXISTS (SELECT 1 FROM grants WHERE id = $1)`,
		id, ts(at), reason).Scan(&found)
	if err == nil && !found {
		err = store.ErrNotFound
	}
	return s.fail("revoke grant", err)
}

func (s *Store) RevokeUserGrants(ctx context.Context, userID string, at time.Time, reason string) (int64, error) {
	if at.IsZero() {
		return 0, errors.New("postgres: revoke user grants: revocation time not set")
	}
	tag, err := s.pool.Exec(ctx, `UPDATE grants SET revoked_at = $1, revoke_reason = $2 WHERE user_id = $3 AND revoked_at IS NULL`,
		ts(at), reason, userID)
	if err != nil {
		return 0, s.fail("revoke user grants", err)
	}
	return tag.RowsAffected(), nil
}

func (s *Store) RevokeAccessTokens(ctx context.Context, grantID string, notBefore time.Time) error {
	// GREATEST ignores NULL and keeps the bound from moving backwards under
	// concurrent revocations.
	tag, err := s.pool.Exec(ctx, `UPDATE grants SET access_not_before = GREATEST(access_not_before, $1) WHERE id = $2`,
		ts(notBefore), grantID)
	return s.fail("revoke access tokens", mustAffect(tag, err))
}

const refreshTokenColumns = `hash, grant_id, client_id, created_at, expires_at, successor_hash, rotated_at`

func refreshTokenFields(t *store.RefreshToken) []any {
	return []any{&t.Hash, &t.GrantID, &t.ClientID, scanTime(&t.CreatedAt), scanTime(&t.ExpiresAt),
		&t.SuccessorHash, scanTime(&t.RotatedAt)}
}

func scanRefreshToken(row scanner) (store.RefreshToken, error) {
	var t store.RefreshToken
	err := row.Scan(refreshTokenFields(&t)...)
	return t, err
}

// refreshTokenGrantSQL reads a refresh token with its grant in one round
// trip: the refresh grant's hot path.
var refreshTokenGrantSQL = `SELECT ` + prefixed("t.", refreshTokenColumns) + `, ` + prefixed("g.", grantColumns) + `
	FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id WHERE t.hash = $1`

func (s *Store) GetRefreshTokenGrant(ctx context.Context, hash string) (store.RefreshToken, store.Grant, error) {
	var (
		t store.RefreshToken
		g store.Grant
	)
	err := s.pool.QueryRow(ctx, refreshTokenGrantSQL, hash).Scan(append(refreshTokenFields(&t), grantFields(&g)...)...)
	finishGrant(&g)
	return t, g, s.fail("get refresh token and grant", err)
}

// prefixed qualifies every column of a column list with prefix.
func prefixed(prefix, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

func insertRefreshToken(ctx context.Context, tx pgx.Tx, t store.RefreshToken) error {
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (`+refreshTokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.Hash, t.GrantID, t.ClientID, ts(t.CreatedAt), ts(t.ExpiresAt), t.SuccessorHash, ts(t.RotatedAt))
	return err
}

func (s *Store) GetRefreshToken(ctx context.Context, hash string) (store.RefreshToken, error) {
	t, err := scanRefreshToken(s.pool.QueryRow(ctx, `SELECT `+refreshTokenColumns+` FROM refresh_tokens WHERE hash = $1`, hash))
	return t, s.fail("get refresh token", err)
}

func (s *Store) RotateRefreshToken(ctx context.Context, r store.RefreshRotation) error {
	if r.Now.IsZero() {
		// NULL rotated_at means never rotated.
		return errors.New("postgres: rotate refresh token: rotation time not set")
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// Locks are taken along the chain, token before successor, so
		// rotations of one chain serialise and cannot deadlock.
		old, err := scanRefreshToken(tx.QueryRow(ctx,
			`SELECT `+refreshTokenColumns+` FROM refresh_tokens WHERE hash = $1 FOR UPDATE`, r.OldHash))
		if err != nil {
			return err
		}
		if old.SuccessorHash != "" {
			// The successor's lock makes a concurrent use of it (its own
			// rotation) either finish first, and count as a use here, or
			// wait until this retry has replaced it.
			successor, err := scanRefreshToken(tx.QueryRow(ctx,
				`SELECT `+refreshTokenColumns+` FROM refresh_tokens WHERE hash = $1 FOR UPDATE`, old.SuccessorHash))
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				return store.ErrRefreshTokenReused
			case err != nil:
				return err
			}
			if successor.SuccessorHash != "" || !r.Now.Before(old.RotatedAt.Add(r.Grace)) {
				return store.ErrRefreshTokenReused
			}
			if _, err := tx.Exec(ctx, `DELETE FROM refresh_tokens WHERE hash = $1`, successor.Hash); err != nil {
				return err
			}
		}
		if err := insertRefreshToken(ctx, tx, r.New); err != nil {
			return err
		}
		rotatedAt := old.RotatedAt
		if rotatedAt.IsZero() {
			rotatedAt = r.Now
		}
		_, err = tx.Exec(ctx, `UPDATE refresh_tokens SET successor_hash = $1, rotated_at = $2 WHERE hash = $3`,
			r.New.Hash, ts(rotatedAt), r.OldHash)
		return err
	})
	return s.fail("rotate refresh token", err)
}
