package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/fdxd/fdxd/internal/store"
)

const signingKeyColumns = `id, algorithm, state, public_jwk, private_key_ciphertext, created_at, published_at,
	activated_at, retired_at, remove_after`

func scanSigningKey(row scanner) (store.SigningKey, error) {
	var (
		k                                                   store.SigningKey
		state                                               string
		created, published, activated, retired, removeAfter int64
	)
	err := row.Scan(&k.ID, &k.Algorithm, &state, &k.PublicJWK, &k.PrivateKeyCiphertext, &created, &published,
		&activated, &retired, &removeAfter)
	k.State = store.KeyState(state)
	k.CreatedAt, k.PublishedAt, k.ActivatedAt = fromMicros(created), fromMicros(published), fromMicros(activated)
	k.RetiredAt, k.RemoveAfter = fromMicros(retired), fromMicros(removeAfter)
	return k, err
}

func listSigningKeys(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]store.SigningKey, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SigningKey
	for rows.Next() {
		k, err := scanSigningKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (s *Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	keys, err := listSigningKeys(ctx, s.read)
	return keys, translate("list signing keys", err)
}

func (s *Store) UpdateSigningKeys(ctx context.Context, update func([]store.SigningKey) ([]store.SigningKey, error)) error {
	// BEGIN IMMEDIATE on the single writer excludes every other writer, in
	// this process and in any other one on the same file.
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := listSigningKeys(ctx, tx)
		if err != nil {
			return err
		}
		// update gets its own copy: it may reorder or delete in place.
		next, err := update(slices.Clone(old))
		if err != nil {
			return err
		}
		keep := make(map[string]bool, len(next))
		for _, k := range next {
			if keep[k.ID] {
				return fmt.Errorf("duplicate signing key %s", k.ID)
			}
			keep[k.ID] = true
			_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET algorithm = excluded.algorithm, state = excluded.state,
					public_jwk = excluded.public_jwk, private_key_ciphertext = excluded.private_key_ciphertext,
					created_at = excluded.created_at, published_at = excluded.published_at,
					activated_at = excluded.activated_at, retired_at = excluded.retired_at,
					remove_after = excluded.remove_after`,
				k.ID, k.Algorithm, string(k.State), k.PublicJWK, k.PrivateKeyCiphertext, micros(k.CreatedAt),
				micros(k.PublishedAt), micros(k.ActivatedAt), micros(k.RetiredAt), micros(k.RemoveAfter))
			if err != nil {
				return err
			}
		}
		for _, k := range old {
			if !keep[k.ID] {
				if _, err := tx.ExecContext(ctx, `DELETE FROM signing_keys WHERE id = ?`, k.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return translate("update signing keys", err)
}

func (s *Store) ServerSecret(ctx context.Context, name string, create func() ([]byte, error)) ([]byte, error) {
	var value []byte
	err := s.queryRow(ctx, `SELECT value FROM server_secrets WHERE name = ?`, name).Scan(&value)
	if err == nil {
		return value, nil
	}
	if err != sql.ErrNoRows {
		return nil, translate("get server secret", err)
	}
	fresh, err := create()
	if err != nil {
		return nil, fmt.Errorf("sqlite: create server secret %s: %w", name, err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO server_secrets (name, value, created_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO NOTHING`, name, fresh, micros(time.Now())); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM server_secrets WHERE name = ?`, name).Scan(&value)
	})
	return value, translate("store server secret", err)
}

func (s *Store) GetSetting(ctx context.Context, name string) (string, error) {
	var value string
	err := s.queryRow(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&value)
	return value, translate("get setting", err)
}

func (s *Store) SetSetting(ctx context.Context, name, value string) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		name, value, micros(time.Now()))
	return translate("set setting", err)
}
