package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fdxd/fdxd/internal/store"
)

const clientColumns = `id, name, secret_hash, previous_secret_hash, previous_secret_expires_at, public,
	redirect_uris, grant_types, scopes, require_pkce, account_selection, rotate_refresh_tokens,
	id_token_on_refresh, rate_limit, created_at, updated_at`

func scanClient(row scanner) (store.Client, error) {
	var c store.Client
	err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &c.PreviousSecretHash, scanTime(&c.PreviousSecretExpiresAt),
		&c.Public, &c.RedirectURIs, &c.GrantTypes, &c.Scopes, &c.RequirePKCE, &c.AccountSelection,
		&c.RotateRefreshTokens, &c.IDTokenOnRefresh, &c.RateLimit, scanTime(&c.CreatedAt), scanTime(&c.UpdatedAt))
	c.RedirectURIs, c.GrantTypes, c.Scopes = nilIfEmpty(c.RedirectURIs), nilIfEmpty(c.GrantTypes), nilIfEmpty(c.Scopes)
	return c, err
}

func clientArgs(c store.Client) []any {
	return []any{c.ID, c.Name, c.SecretHash, c.PreviousSecretHash, ts(c.PreviousSecretExpiresAt), c.Public,
		list(c.RedirectURIs), list(c.GrantTypes), list(c.Scopes), c.RequirePKCE, c.AccountSelection,
		c.RotateRefreshTokens, c.IDTokenOnRefresh, c.RateLimit, ts(c.CreatedAt), ts(c.UpdatedAt)}
}

func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO clients (`+clientColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`, clientArgs(c)...)
	return s.fail("create client", err)
}

func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1`, id))
	return c, s.fail("get client", err)
}

func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY id`)
	if err != nil {
		return nil, s.fail("list clients", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Client, error) { return scanClient(row) })
	return out, s.fail("list clients", err)
}

func (s *Store) UpdateClient(ctx context.Context, id string, update func(store.Client) (store.Client, error)) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		old, err := scanClient(tx.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		c, err := update(old)
		if err != nil {
			return err
		}
		c.ID = old.ID
		_, err = tx.Exec(ctx, `UPDATE clients SET name = $2, secret_hash = $3, previous_secret_hash = $4,
			previous_secret_expires_at = $5, public = $6, redirect_uris = $7, grant_types = $8, scopes = $9,
			require_pkce = $10, account_selection = $11, rotate_refresh_tokens = $12, id_token_on_refresh = $13,
			rate_limit = $14, created_at = $15, updated_at = $16 WHERE id = $1`, clientArgs(c)...)
		return err
	})
	return s.fail("update client", err)
}

func (s *Store) DeleteClient(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM clients WHERE id = $1`, id)
	return s.fail("delete client", mustAffect(tag, err))
}

// mustAffect turns "no row changed" into pgx.ErrNoRows.
func mustAffect(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return pgx.ErrNoRows
	}
	return nil
}
