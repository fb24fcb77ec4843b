package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fdxd/fdxd/internal/store"
)

func scanAdmin(row scanner) (store.Admin, error) {
	var a store.Admin
	err := row.Scan(&a.Username, &a.PasswordHash, scanTime(&a.CreatedAt), scanTime(&a.UpdatedAt))
	return a, err
}

func (s *Store) CreateAdmin(ctx context.Context, a store.Admin) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO admins (username, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4)`,
		a.Username, a.PasswordHash, ts(a.CreatedAt), ts(a.UpdatedAt))
	return s.fail("create admin", err)
}

func (s *Store) GetAdmin(ctx context.Context, username string) (store.Admin, error) {
	a, err := scanAdmin(s.pool.QueryRow(ctx, `SELECT username, password_hash, created_at, updated_at
		FROM admins WHERE username = $1`, username))
	return a, s.fail("get admin", err)
}

func (s *Store) ListAdmins(ctx context.Context) ([]store.Admin, error) {
	rows, err := s.pool.Query(ctx, `SELECT username, password_hash, created_at, updated_at FROM admins ORDER BY username`)
	if err != nil {
		return nil, s.fail("list admins", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Admin, error) { return scanAdmin(row) })
	return out, s.fail("list admins", err)
}

func (s *Store) UpdateAdmin(ctx context.Context, username string, update func(store.Admin) (store.Admin, error)) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		old, err := scanAdmin(tx.QueryRow(ctx, `SELECT username, password_hash, created_at, updated_at
			FROM admins WHERE username = $1 FOR UPDATE`, username))
		if err != nil {
			return err
		}
		a, err := update(old)
		if err != nil {
			return err
		}
		// The username and creation time stay, as on every backend.
		_, err = tx.Exec(ctx, `UPDATE admins SET password_hash = $2, updated_at = $3 WHERE username = $1`,
			old.Username, a.PasswordHash, ts(a.UpdatedAt))
		return err
	})
	return s.fail("update admin", err)
}

func (s *Store) DeleteAdmin(ctx context.Context, username string) error {
	// The sessions go by cascade, in the same statement.
	tag, err := s.pool.Exec(ctx, `DELETE FROM admins WHERE username = $1`, username)
	return s.fail("delete admin", mustAffect(tag, err))
}

func (s *Store) CreateAdminSession(ctx context.Context, as store.AdminSession) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO admin_sessions (id_hash, username, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		as.IDHash, as.Username, ts(as.CreatedAt), ts(as.ExpiresAt))
	return s.fail("create admin session", err)
}

func (s *Store) GetAdminSession(ctx context.Context, idHash string) (store.AdminSession, error) {
	var as store.AdminSession
	err := s.pool.QueryRow(ctx, `SELECT id_hash, username, created_at, expires_at FROM admin_sessions WHERE id_hash = $1`,
		idHash).Scan(&as.IDHash, &as.Username, scanTime(&as.CreatedAt), scanTime(&as.ExpiresAt))
	return as, s.fail("get admin session", err)
}

func (s *Store) DeleteAdminSession(ctx context.Context, idHash string) error {
	// Signing out of a session that is already gone is not an error.
	_, err := s.pool.Exec(ctx, `DELETE FROM admin_sessions WHERE id_hash = $1`, idHash)
	return s.fail("delete admin session", err)
}

func (s *Store) DeleteExpiredAdminSessions(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM admin_sessions WHERE expires_at <= $1`, ts(now))
	if err != nil {
		return 0, s.fail("delete expired admin sessions", err)
	}
	return tag.RowsAffected(), nil
}

const deliveryColumns = `id, issue_id, event, channel, target, status, attempts, last_error, payload, created_at,
	updated_at, delivered_at`

func scanDelivery(row scanner) (store.Delivery, error) {
	var d store.Delivery
	err := row.Scan(&d.ID, &d.IssueID, &d.Event, &d.Channel, &d.Target, &d.Status, &d.Attempts, &d.LastError, &d.Payload,
		scanTime(&d.CreatedAt), scanTime(&d.UpdatedAt), scanTime(&d.DeliveredAt))
	return d, err
}

func deliveryArgs(d store.Delivery) []any {
	return []any{d.ID, d.IssueID, d.Event, d.Channel, d.Target, d.Status, d.Attempts, d.LastError, blob(d.Payload),
		ts(d.CreatedAt), ts(d.UpdatedAt), ts(d.DeliveredAt)}
}

func (s *Store) CreateDelivery(ctx context.Context, d store.Delivery) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO deliveries (`+deliveryColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, deliveryArgs(d)...)
	return s.fail("create delivery", err)
}

func (s *Store) UpdateDelivery(ctx context.Context, id string, update func(store.Delivery) (store.Delivery, error)) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		old, err := scanDelivery(tx.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		d, err := update(old)
		if err != nil {
			return err
		}
		d.ID = old.ID
		_, err = tx.Exec(ctx, `UPDATE deliveries SET issue_id = $2, event = $3, channel = $4, target = $5, status = $6,
			attempts = $7, last_error = $8, payload = $9, created_at = $10, updated_at = $11, delivered_at = $12
			WHERE id = $1`, deliveryArgs(d)...)
		return err
	})
	return s.fail("update delivery", err)
}

func (s *Store) ListDeliveries(ctx context.Context, q store.DeliveryQuery) ([]store.Delivery, error) {
	var (
		conds []string
		args  []any
	)
	for _, f := range []struct{ col, v string }{{"issue_id", q.IssueID}, {"status", q.Status}} {
		if f.v != "" {
			args = append(args, f.v)
			conds = append(conds, f.col+" = $"+strconv.Itoa(len(args)))
		}
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	args = append(args, defaultLimit(q.Limit, 100))
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryColumns+` FROM deliveries`+where+
		` ORDER BY created_at DESC NULLS LAST, id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, s.fail("list deliveries", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Delivery, error) { return scanDelivery(row) })
	return out, s.fail("list deliveries", err)
}
