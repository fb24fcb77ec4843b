package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/fdxd/fdxd/internal/store"
)

const signingKeyColumns = `id, algorithm, state, public_jwk, private_key_ciphertext, created_at, published_at,
	activated_at, retired_at, remove_after`

func scanSigningKey(row scanner) (store.SigningKey, error) {
	var k store.SigningKey
	err := row.Scan(&k.ID, &k.Algorithm, &k.State, &k.PublicJWK, &k.PrivateKeyCiphertext, scanTime(&k.CreatedAt),
		scanTime(&k.PublishedAt), scanTime(&k.ActivatedAt), scanTime(&k.RetiredAt), scanTime(&k.RemoveAfter))
	return k, err
}

// querier is satisfied by the pool and by a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func listSigningKeys(ctx context.Context, q querier) ([]store.SigningKey, error) {
	rows, err := q.Query(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys ORDER BY created_at NULLS FIRST, id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.SigningKey, error) { return scanSigningKey(row) })
}

func (s *Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	keys, err := listSigningKeys(ctx, s.pool)
	return keys, s.fail("list signing keys", err)
}

func (s *Store) UpdateSigningKeys(ctx context.Context, update func([]store.SigningKey) ([]store.SigningKey, error)) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// The advisory lock excludes every other UpdateSigningKeys on every
		// replica until this transaction ends; the key set is read after it
		// is granted, so update always sees the last committed rotation.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, signingKeyLockKey); err != nil {
			return err
		}
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
			_, err := tx.Exec(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
				ON CONFLICT (id) DO UPDATE SET algorithm = excluded.algorithm, state = excluded.state,
					public_jwk = excluded.public_jwk, private_key_ciphertext = excluded.private_key_ciphertext,
					created_at = excluded.created_at, published_at = excluded.published_at,
					activated_at = excluded.activated_at, retired_at = excluded.retired_at,
					remove_after = excluded.remove_after`,
				k.ID, k.Algorithm, string(k.State), k.PublicJWK, k.PrivateKeyCiphertext, ts(k.CreatedAt),
				ts(k.PublishedAt), ts(k.ActivatedAt), ts(k.RetiredAt), ts(k.RemoveAfter))
			if err != nil {
				return err
			}
		}
		var gone []string
		for _, k := range old {
			if !keep[k.ID] {
				gone = append(gone, k.ID)
			}
		}
		if len(gone) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM signing_keys WHERE id = ANY($1)`, gone); err != nil {
				return err
			}
		}
		return nil
	})
	return s.fail("update signing keys", err)
}

func (s *Store) ServerSecret(ctx context.Context, name string, create func() ([]byte, error)) ([]byte, error) {
	var value []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM server_secrets WHERE name = $1`, name).Scan(&value)
	if err == nil {
		return value, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, s.fail("get server secret", err)
	}
	fresh, err := create()
	if err != nil {
		return nil, fmt.Errorf("postgres: create server secret %s: %w", name, err)
	}
	// Two statements, not one: a read in the INSERT's own statement would
	// use a snapshot taken before a concurrent first writer committed. ON
	// CONFLICT waits for that writer; the second statement then sees its row.
	if _, err := s.pool.Exec(ctx, `INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
		name, fresh); err != nil {
		return nil, s.fail("store server secret", err)
	}
	err = s.pool.QueryRow(ctx, `SELECT value FROM server_secrets WHERE name = $1`, name).Scan(&value)
	return value, s.fail("store server secret", err)
}

func (s *Store) GetSetting(ctx context.Context, name string) (string, error) {
	var value string
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&value)
	return value, s.fail("get setting", err)
}

func (s *Store) SetSetting(ctx context.Context, name, value string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = now()`, name, value)
	return s.fail("set setting", err)
}
