package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fdxd/fdxd/internal/store"
)

const userColumns = `id, subject, username, password_hash, name, email, email_verified, disabled, ineligible,
	created_at, updated_at`

func scanUser(row scanner) (store.User, error) {
	var u store.User
	err := row.Scan(&u.ID, &u.Subject, &u.Username, &u.PasswordHash, &u.Name, &u.Email, &u.EmailVerified, &u.Disabled,
		&u.Ineligible, scanTime(&u.CreatedAt), scanTime(&u.UpdatedAt))
	return u, err
}

func userArgs(u store.User) []any {
	return []any{u.ID, u.Subject, u.Username, u.PasswordHash, u.Name, u.Email, u.EmailVerified, u.Disabled,
		u.Ineligible, ts(u.CreatedAt), ts(u.UpdatedAt)}
}

func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		userArgs(u)...)
	return s.fail("create user", err)
}

func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	return u, s.fail("get user", err)
}

func (s *Store) GetUserByUsername(ctx context.Context, username string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, username))
	return u, s.fail("get user by username", err)
}

func (s *Store) GetUserBySubject(ctx context.Context, subject string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE subject = $1`, subject))
	return u, s.fail("get user by subject", err)
}

func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, s.fail("list users", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.User, error) { return scanUser(row) })
	return out, s.fail("list users", err)
}

func (s *Store) UpdateUser(ctx context.Context, id string, update func(store.User) (store.User, error)) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		old, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		u, err := update(old)
		if err != nil {
			return err
		}
		u.ID = old.ID
		_, err = tx.Exec(ctx, `UPDATE users SET subject = $2, username = $3, password_hash = $4, name = $5, email = $6,
			email_verified = $7, disabled = $8, ineligible = $9, created_at = $10, updated_at = $11 WHERE id = $1`,
			userArgs(u)...)
		return err
	})
	return s.fail("update user", err)
}

func (s *Store) DisableUser(ctx context.Context, id string, at time.Time, reason string) (int64, error) {
	if at.IsZero() {
		return 0, errors.New("postgres: disable user: time not set")
	}
	var revoked int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// The row lock waits for redemptions holding the user FOR SHARE, so
		// the grants they create are among those revoked below.
		if err := mustAffect(tx.Exec(ctx, `UPDATE users SET disabled = TRUE, updated_at = $2 WHERE id = $1`, id, ts(at))); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE grants SET revoked_at = $1, revoke_reason = $2 WHERE user_id = $3 AND revoked_at IS NULL`,
			ts(at), reason, id)
		revoked = tag.RowsAffected()
		return err
	})
	return revoked, s.fail("disable user", err)
}
