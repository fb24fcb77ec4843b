package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/fdxd/fdxd/internal/store"
)

const grantColumns = `id, oauth_session_id, client_id, user_id, subject, scopes, account_selection, account_ids,
	auth_time, created_at, expires_at, access_not_before, revoked_at, revoke_reason`

// grantFields are the scan targets of grantColumns; finish converts them
// into g once the row is scanned.
func grantFields(g *store.Grant) (dest []any, finish func() error) {
	var (
		scopes, accounts                                     string
		selection                                            int64
		authTime, created, expires, accessNotBefore, revoked int64
	)
	dest = []any{&g.ID, &g.OAuthSessionID, &g.ClientID, &g.UserID, &g.Subject, &scopes, &selection, &accounts,
		&authTime, &created, &expires, &accessNotBefore, &revoked, &g.RevokeReason}
	return dest, func() (err error) {
		g.AccountSelection = selection == 1
		g.AuthTime, g.CreatedAt, g.ExpiresAt = fromMicros(authTime), fromMicros(created), fromMicros(expires)
		g.AccessNotBefore, g.RevokedAt = fromMicros(accessNotBefore), fromMicros(revoked)
		if g.Scopes, err = fromList(scopes); err != nil {
			return err
		}
		g.AccountIDs, err = fromList(accounts)
		return err
	}
}

func scanGrant(row scanner) (store.Grant, error) {
	var g store.Grant
	dest, finish := grantFields(&g)
	if err := row.Scan(dest...); err != nil {
		return g, err
	}
	return g, finish()
}

const insertGrantSQL = `INSERT INTO grants (` + grantColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func (s *Store) insertGrant(ctx context.Context, tx *sql.Tx, g store.Grant) error {
	_, err := s.txExec(ctx, tx, insertGrantSQL,
		g.ID, g.OAuthSessionID, g.ClientID, g.UserID, g.Subject, list(g.Scopes), boolInt(g.AccountSelection),
		list(g.AccountIDs), micros(g.AuthTime), micros(g.CreatedAt), micros(g.ExpiresAt), micros(g.AccessNotBefore),
		micros(g.RevokedAt), g.RevokeReason)
	return err
}

func (s *Store) GetGrant(ctx context.Context, id string) (store.Grant, error) {
	g, err := scanGrant(s.queryRow(ctx, `SELECT `+grantColumns+` FROM grants WHERE id = ?`, id))
	return g, translate("get grant", err)
}

func (s *Store) ListGrants(ctx context.Context, f store.GrantFilter) ([]store.Grant, error) {
	var (
		where []string
		args  []any
	)
	if f.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, f.UserID)
	}
	if f.ClientID != "" {
		where, args = append(where, "client_id = ?"), append(args, f.ClientID)
	}
	switch {
	case !f.ActiveAt.IsZero():
		where, args = append(where, "revoked_at = 0 AND expires_at > ?"), append(args, micros(f.ActiveAt))
	case !f.IncludeDead:
		where = append(where, "revoked_at = 0")
	}
	q := `SELECT ` + grantColumns + ` FROM grants`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.queryRows(ctx, q+" ORDER BY created_at, id", args...)
	if err != nil {
		return nil, translate("list grants", err)
	}
	defer rows.Close()
	var out []store.Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, translate("list grants", err)
		}
		out = append(out, g)
	}
	return out, translate("list grants", rows.Err())
}

func (s *Store) RevokeGrant(ctx context.Context, id string, at time.Time, reason string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE grants SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at = 0`,
			micros(at), reason, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM grants WHERE id = ?`, id).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	return translate("revoke grant", err)
}

func (s *Store) RevokeUserGrants(ctx context.Context, userID string, at time.Time, reason string) (int64, error) {
	res, err := s.exec(ctx, `UPDATE grants SET revoked_at = ?, revoke_reason = ? WHERE user_id = ? AND revoked_at = 0`,
		micros(at), reason, userID)
	if err != nil {
		return 0, translate("revoke user grants", err)
	}
	n, err := res.RowsAffected()
	return n, translate("revoke user grants", err)
}

func (s *Store) RevokeAccessTokens(ctx context.Context, grantID string, notBefore time.Time) error {
	// max() keeps the bound from moving backwards under concurrent revocations.
	res, err := s.exec(ctx, `UPDATE grants SET access_not_before = max(access_not_before, ?) WHERE id = ?`,
		micros(notBefore), grantID)
	if err != nil {
		return translate("revoke access tokens", err)
	}
	return translate("revoke access tokens", mustAffect(res))
}

const refreshTokenColumns = `hash, grant_id, client_id, created_at, expires_at, successor_hash, rotated_at`

// refreshTokenFields are the scan targets of refreshTokenColumns.
func refreshTokenFields(t *store.RefreshToken) (dest []any, finish func()) {
	var created, expires, rotated int64
	dest = []any{&t.Hash, &t.GrantID, &t.ClientID, &created, &expires, &t.SuccessorHash, &rotated}
	return dest, func() {
		t.CreatedAt, t.ExpiresAt, t.RotatedAt = fromMicros(created), fromMicros(expires), fromMicros(rotated)
	}
}

func scanRefreshToken(row scanner) (store.RefreshToken, error) {
	var t store.RefreshToken
	dest, finish := refreshTokenFields(&t)
	err := row.Scan(dest...)
	finish()
	return t, err
}

const insertRefreshTokenSQL = `INSERT INTO refresh_tokens (` + refreshTokenColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?)`

func (s *Store) insertRefreshToken(ctx context.Context, tx *sql.Tx, t store.RefreshToken) error {
	_, err := s.txExec(ctx, tx, insertRefreshTokenSQL,
		t.Hash, t.GrantID, t.ClientID, micros(t.CreatedAt), micros(t.ExpiresAt), t.SuccessorHash, micros(t.RotatedAt))
	return err
}

func (s *Store) GetRefreshToken(ctx context.Context, hash string) (store.RefreshToken, error) {
	t, err := scanRefreshToken(s.queryRow(ctx, `SELECT `+refreshTokenColumns+` FROM refresh_tokens WHERE hash = ?`, hash))
	return t, translate("get refresh token", err)
}

// refreshTokenGrantSQL reads a refresh token with its grant in one query:
// the refresh grant's hot path.
var refreshTokenGrantSQL = `SELECT ` + prefixed("t.", refreshTokenColumns) + `, ` + prefixed("g.", grantColumns) + `
	FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id WHERE t.hash = ?`

func (s *Store) GetRefreshTokenGrant(ctx context.Context, hash string) (store.RefreshToken, store.Grant, error) {
	var (
		t store.RefreshToken
		g store.Grant
	)
	tDest, tFinish := refreshTokenFields(&t)
	gDest, gFinish := grantFields(&g)
	if err := s.queryRow(ctx, refreshTokenGrantSQL, hash).Scan(append(tDest, gDest...)...); err != nil {
		return t, g, translate("get refresh token and grant", err)
	}
	tFinish()
	return t, g, translate("get refresh token and grant", gFinish())
}

// prefixed qualifies every column of a column list with prefix.
func prefixed(prefix, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

func (s *Store) RotateRefreshToken(ctx context.Context, r store.RefreshRotation) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanRefreshToken(tx.QueryRowContext(ctx, `SELECT `+refreshTokenColumns+` FROM refresh_tokens WHERE hash = ?`, r.OldHash))
		if err != nil {
			return err
		}
		if old.SuccessorHash != "" {
			successor, err := scanRefreshToken(tx.QueryRowContext(ctx,
				`SELECT `+refreshTokenColumns+` FROM refresh_tokens WHERE hash = ?`, old.SuccessorHash))
			switch {
			case err == sql.ErrNoRows:
				return store.ErrRefreshTokenReused
			case err != nil:
				return err
			}
			if successor.SuccessorHash != "" || !r.Now.Before(old.RotatedAt.Add(r.Grace)) {
				return store.ErrRefreshTokenReused
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE hash = ?`, successor.Hash); err != nil {
				return err
			}
		}
		if err := s.insertRefreshToken(ctx, tx, r.New); err != nil {
			return err
		}
		rotatedAt := old.RotatedAt
		if rotatedAt.IsZero() {
			rotatedAt = r.Now
		}
		_, err = tx.ExecContext(ctx, `UPDATE refresh_tokens SET successor_hash = ?, rotated_at = ? WHERE hash = ?`,
			r.New.Hash, micros(rotatedAt), r.OldHash)
		return err
	})
	return translate("rotate refresh token", err)
}
