package sqlite

import (
	"context"
	"database/sql"

	"github.com/fdxd/fdxd/internal/store"
)

const clientColumns = `id, name, secret_hash, previous_secret_hash, previous_secret_expires_at, public,
	redirect_uris, grant_types, scopes, require_pkce, account_selection, rotate_refresh_tokens,
	id_token_on_refresh, rate_limit, created_at, updated_at`

func scanClient(row scanner) (store.Client, error) {
	var (
		c                                                 store.Client
		prevExpires, created, updated                     int64
		public, requirePKCE, selection, rotate, idRefresh int64
		redirects, grants, scopes                         string
	)
	err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &c.PreviousSecretHash, &prevExpires, &public,
		&redirects, &grants, &scopes, &requirePKCE, &selection, &rotate, &idRefresh, &c.RateLimit, &created, &updated)
	if err != nil {
		return c, err
	}
	c.PreviousSecretExpiresAt = fromMicros(prevExpires)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	c.Public, c.RequirePKCE, c.AccountSelection = public == 1, requirePKCE == 1, selection == 1
	c.RotateRefreshTokens, c.IDTokenOnRefresh = rotate == 1, idRefresh == 1
	if c.RedirectURIs, err = fromList(redirects); err != nil {
		return c, err
	}
	if c.GrantTypes, err = fromList(grants); err != nil {
		return c, err
	}
	c.Scopes, err = fromList(scopes)
	return c, err
}

func clientArgs(c store.Client) []any {
	return []any{c.ID, c.Name, c.SecretHash, c.PreviousSecretHash, micros(c.PreviousSecretExpiresAt), boolInt(c.Public),
		list(c.RedirectURIs), list(c.GrantTypes), list(c.Scopes), boolInt(c.RequirePKCE), boolInt(c.AccountSelection),
		boolInt(c.RotateRefreshTokens), boolInt(c.IDTokenOnRefresh), c.RateLimit, micros(c.CreatedAt), micros(c.UpdatedAt)}
}

func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO clients (`+clientColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, clientArgs(c)...)
	return translate("create client", err)
}

func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(s.queryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id))
	return c, translate("get client", err)
}

func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := s.queryRows(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY id`)
	if err != nil {
		return nil, translate("list clients", err)
	}
	defer rows.Close()
	var out []store.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, translate("list clients", err)
		}
		out = append(out, c)
	}
	return out, translate("list clients", rows.Err())
}

func (s *Store) UpdateClient(ctx context.Context, id string, update func(store.Client) (store.Client, error)) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanClient(tx.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id))
		if err != nil {
			return err
		}
		c, err := update(old)
		if err != nil {
			return err
		}
		c.ID = old.ID
		args := clientArgs(c)
		_, err = tx.ExecContext(ctx, `UPDATE clients SET name = ?, secret_hash = ?, previous_secret_hash = ?,
			previous_secret_expires_at = ?, public = ?, redirect_uris = ?, grant_types = ?, scopes = ?, require_pkce = ?,
			account_selection = ?, rotate_refresh_tokens = ?, id_token_on_refresh = ?, rate_limit = ?, created_at = ?,
			updated_at = ? WHERE id = ?`, append(args[1:], c.ID)...)
		return err
	})
	return translate("update client", err)
}

func (s *Store) DeleteClient(ctx context.Context, id string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM clients WHERE id = ?`, id)
	if err != nil {
		return translate("delete client", err)
	}
	return translate("delete client", mustAffect(res))
}

// mustAffect turns "no row changed" into sql.ErrNoRows.
func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sql.ErrNoRows
	}
	return nil
}
