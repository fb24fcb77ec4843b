package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/fdxd/fdxd/internal/store"
)

const userColumns = `id, subject, username, password_hash, name, email, email_verified, disabled, ineligible,
	created_at, updated_at`

func scanUser(row scanner) (store.User, error) {
	var (
		u                              store.User
		verified, disabled, ineligible int64
		created, updated               int64
	)
	err := row.Scan(&u.ID, &u.Subject, &u.Username, &u.PasswordHash, &u.Name, &u.Email, &verified, &disabled,
		&ineligible, &created, &updated)
	u.EmailVerified, u.Disabled, u.Ineligible = verified == 1, disabled == 1, ineligible == 1
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	return u, err
}

func userArgs(u store.User) []any {
	return []any{u.ID, u.Subject, u.Username, u.PasswordHash, u.Name, u.Email, boolInt(u.EmailVerified),
		boolInt(u.Disabled), boolInt(u.Ineligible), micros(u.CreatedAt), micros(u.UpdatedAt)}
}

func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		userArgs(u)...)
	return translate("create user", err)
}

func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	return u, translate("get user", err)
}

func (s *Store) GetUserByUsername(ctx context.Context, username string) (store.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, username))
	return u, translate("get user by username", err)
}

func (s *Store) GetUserBySubject(ctx context.Context, subject string) (store.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE subject = ?`, subject))
	return u, translate("get user by subject", err)
}

func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.queryRows(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, translate("list users", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, translate("list users", err)
		}
		out = append(out, u)
	}
	return out, translate("list users", rows.Err())
}

func (s *Store) UpdateUser(ctx context.Context, id string, update func(store.User) (store.User, error)) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
		if err != nil {
			return err
		}
		u, err := update(old)
		if err != nil {
			return err
		}
		u.ID = old.ID
		args := userArgs(u)
		_, err = tx.ExecContext(ctx, `UPDATE users SET subject = ?, username = ?, password_hash = ?, name = ?, email = ?,
			email_verified = ?, disabled = ?, ineligible = ?, created_at = ?, updated_at = ? WHERE id = ?`,
			append(args[1:], u.ID)...)
		return err
	})
	return translate("update user", err)
}

func (s *Store) DisableUser(ctx context.Context, id string, at time.Time, reason string) (int64, error) {
	if at.IsZero() {
		// 0 means "not revoked" here: the grants would stay live.
		return 0, errors.New("sqlite: disable user: time not set")
	}
	var revoked int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET disabled = 1, updated_at = ? WHERE id = ?`, micros(at), id)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `UPDATE grants SET revoked_at = ?, revoke_reason = ? WHERE user_id = ? AND revoked_at = 0`,
			micros(at), reason, id)
		if err != nil {
			return err
		}
		revoked, err = res.RowsAffected()
		return err
	})
	return revoked, translate("disable user", err)
}
