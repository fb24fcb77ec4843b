package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/fdxd/fdxd/internal/store"
)

const adminColumns = `username, password_hash, created_at, updated_at`

func scanAdmin(row scanner) (store.Admin, error) {
	var (
		a                store.Admin
		created, updated int64
	)
	err := row.Scan(&a.Username, &a.PasswordHash, &created, &updated)
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, err
}

func (s *Store) CreateAdmin(ctx context.Context, a store.Admin) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO admins (`+adminColumns+`) VALUES (?, ?, ?, ?)`,
		a.Username, a.PasswordHash, micros(a.CreatedAt), micros(a.UpdatedAt))
	return translate("create admin", err)
}

func (s *Store) GetAdmin(ctx context.Context, username string) (store.Admin, error) {
	a, err := scanAdmin(s.read.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admins WHERE username = ?`, username))
	return a, translate("get admin", err)
}

func (s *Store) ListAdmins(ctx context.Context) ([]store.Admin, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+adminColumns+` FROM admins ORDER BY username`)
	if err != nil {
		return nil, translate("list admins", err)
	}
	defer rows.Close()
	var out []store.Admin
	for rows.Next() {
		a, err := scanAdmin(rows)
		if err != nil {
			return nil, translate("list admins", err)
		}
		out = append(out, a)
	}
	return out, translate("list admins", rows.Err())
}

func (s *Store) UpdateAdmin(ctx context.Context, username string, update func(store.Admin) (store.Admin, error)) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanAdmin(tx.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admins WHERE username = ?`, username))
		if err != nil {
			return err
		}
		a, err := update(old)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE admins SET password_hash = ?, updated_at = ? WHERE username = ?`,
			a.PasswordHash, micros(a.UpdatedAt), username)
		return err
	})
	return translate("update admin", err)
}

func (s *Store) DeleteAdmin(ctx context.Context, username string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE username = ?`, username); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM admins WHERE username = ?`, username)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	return translate("delete admin", err)
}

func (s *Store) CreateAdminSession(ctx context.Context, a store.AdminSession) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO admin_sessions (id_hash, username, created_at, expires_at)
		VALUES (?, ?, ?, ?)`, a.IDHash, a.Username, micros(a.CreatedAt), micros(a.ExpiresAt))
	return translate("create admin session", err)
}

func (s *Store) GetAdminSession(ctx context.Context, idHash string) (store.AdminSession, error) {
	var (
		a                store.AdminSession
		created, expires int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT id_hash, username, created_at, expires_at FROM admin_sessions
		WHERE id_hash = ?`, idHash).Scan(&a.IDHash, &a.Username, &created, &expires)
	a.CreatedAt, a.ExpiresAt = fromMicros(created), fromMicros(expires)
	return a, translate("get admin session", err)
}

func (s *Store) DeleteAdminSession(ctx context.Context, idHash string) error {
	_, err := s.write.ExecContext(ctx, `DELETE FROM admin_sessions WHERE id_hash = ?`, idHash)
	return translate("delete admin session", err)
}

func (s *Store) DeleteExpiredAdminSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM admin_sessions WHERE expires_at <= ?`, micros(now))
	if err != nil {
		return 0, translate("delete expired admin sessions", err)
	}
	n, err := res.RowsAffected()
	return n, translate("delete expired admin sessions", err)
}

const deliveryColumns = `id, issue_id, event, channel, target, status, attempts, last_error, payload, created_at,
	updated_at, delivered_at`

func scanDelivery(row scanner) (store.Delivery, error) {
	var (
		d                           store.Delivery
		created, updated, delivered int64
	)
	err := row.Scan(&d.ID, &d.IssueID, &d.Event, &d.Channel, &d.Target, &d.Status, &d.Attempts, &d.LastError,
		&d.Payload, &created, &updated, &delivered)
	d.CreatedAt, d.UpdatedAt, d.DeliveredAt = fromMicros(created), fromMicros(updated), fromMicros(delivered)
	return d, err
}

func deliveryArgs(d store.Delivery) []any {
	payload := d.Payload
	if payload == nil {
		payload = []byte{}
	}
	return []any{d.ID, d.IssueID, d.Event, d.Channel, d.Target, d.Status, d.Attempts, d.LastError, payload,
		micros(d.CreatedAt), micros(d.UpdatedAt), micros(d.DeliveredAt)}
}

func (s *Store) CreateDelivery(ctx context.Context, d store.Delivery) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO deliveries (`+deliveryColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, deliveryArgs(d)...)
	return translate("create delivery", err)
}

func (s *Store) UpdateDelivery(ctx context.Context, id string, update func(store.Delivery) (store.Delivery, error)) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanDelivery(tx.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = ?`, id))
		if err != nil {
			return err
		}
		d, err := update(old)
		if err != nil {
			return err
		}
		d.ID = old.ID
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET issue_id = ?, event = ?, channel = ?, target = ?, status = ?,
			attempts = ?, last_error = ?, payload = ?, created_at = ?, updated_at = ?, delivered_at = ? WHERE id = ?`,
			append(deliveryArgs(d)[1:], d.ID)...)
		return err
	})
	return translate("update delivery", err)
}

func (s *Store) ListDeliveries(ctx context.Context, q store.DeliveryQuery) ([]store.Delivery, error) {
	query, args := `SELECT `+deliveryColumns+` FROM deliveries WHERE 1 = 1`, []any{}
	if q.IssueID != "" {
		query += ` AND issue_id = ?`
		args = append(args, q.IssueID)
	}
	if q.Status != "" {
		query += ` AND status = ?`
		args = append(args, q.Status)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.read.QueryContext(ctx, query+` ORDER BY created_at DESC, id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, translate("list deliveries", err)
	}
	defer rows.Close()
	var out []store.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, translate("list deliveries", err)
		}
		out = append(out, d)
	}
	return out, translate("list deliveries", rows.Err())
}
