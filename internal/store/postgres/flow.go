package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/fdxd/fdxd/internal/store"
)

const authRequestColumns = `id, oauth_session_id, client_id, redirect_uri, scopes, state, nonce, code_challenge,
	code_challenge_method, prompt, max_age, login_hint, browser_binding_hash, csrf_token, user_id, auth_time,
	created_at, expires_at`

func scanAuthRequest(row scanner) (store.AuthRequest, error) {
	var r store.AuthRequest
	err := row.Scan(&r.ID, &r.OAuthSessionID, &r.ClientID, &r.RedirectURI, &r.Scopes, &r.State, &r.Nonce,
		&r.CodeChallenge, &r.CodeChallengeMethod, &r.Prompt, &r.MaxAge, &r.LoginHint, &r.BrowserBindingHash,
		&r.CSRFToken, &r.UserID, scanTime(&r.AuthTime), scanTime(&r.CreatedAt), scanTime(&r.ExpiresAt))
	r.Scopes, r.Prompt = nilIfEmpty(r.Scopes), nilIfEmpty(r.Prompt)
	return r, err
}

func authRequestArgs(r store.AuthRequest) []any {
	return []any{r.ID, r.OAuthSessionID, r.ClientID, r.RedirectURI, list(r.Scopes), r.State, r.Nonce,
		r.CodeChallenge, r.CodeChallengeMethod, list(r.Prompt), r.MaxAge, r.LoginHint, r.BrowserBindingHash,
		r.CSRFToken, r.UserID, ts(r.AuthTime), ts(r.CreatedAt), ts(r.ExpiresAt)}
}

func (s *Store) CreateAuthRequest(ctx context.Context, r store.AuthRequest) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO auth_requests (`+authRequestColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`, authRequestArgs(r)...)
	return s.fail("create auth request", err)
}

func (s *Store) GetAuthRequest(ctx context.Context, id string) (store.AuthRequest, error) {
	r, err := scanAuthRequest(s.pool.QueryRow(ctx, `SELECT `+authRequestColumns+` FROM auth_requests WHERE id = $1`, id))
	return r, s.fail("get auth request", err)
}

func (s *Store) UpdateAuthRequest(ctx context.Context, id string, update func(store.AuthRequest) (store.AuthRequest, error)) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		old, err := scanAuthRequest(tx.QueryRow(ctx, `SELECT `+authRequestColumns+` FROM auth_requests WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		r, err := update(old)
		if err != nil {
			return err
		}
		r.ID = old.ID
		_, err = tx.Exec(ctx, `UPDATE auth_requests SET oauth_session_id = $2, client_id = $3, redirect_uri = $4,
			scopes = $5, state = $6, nonce = $7, code_challenge = $8, code_challenge_method = $9, prompt = $10,
			max_age = $11, login_hint = $12, browser_binding_hash = $13, csrf_token = $14, user_id = $15,
			auth_time = $16, created_at = $17, expires_at = $18 WHERE id = $1`, authRequestArgs(r)...)
		return err
	})
	return s.fail("update auth request", err)
}

func (s *Store) DeleteAuthRequest(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM auth_requests WHERE id = $1`, id)
	return s.fail("delete auth request", mustAffect(tag, err))
}

func (s *Store) CreateLoginSession(ctx context.Context, ls store.LoginSession) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO login_sessions (id_hash, user_id, auth_time, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, ls.IDHash, ls.UserID, ts(ls.AuthTime), ts(ls.CreatedAt), ts(ls.ExpiresAt))
	return s.fail("create login session", err)
}

func (s *Store) GetLoginSession(ctx context.Context, idHash string) (store.LoginSession, error) {
	var ls store.LoginSession
	err := s.pool.QueryRow(ctx, `SELECT id_hash, user_id, auth_time, created_at, expires_at
		FROM login_sessions WHERE id_hash = $1`, idHash).Scan(&ls.IDHash, &ls.UserID, scanTime(&ls.AuthTime),
		scanTime(&ls.CreatedAt), scanTime(&ls.ExpiresAt))
	return ls, s.fail("get login session", err)
}

func (s *Store) DeleteLoginSession(ctx context.Context, idHash string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM login_sessions WHERE id_hash = $1`, idHash)
	return s.fail("delete login session", mustAffect(tag, err))
}

const authCodeColumns = `hash, grant_id, oauth_session_id, client_id, user_id, subject, redirect_uri, scopes,
	account_ids, account_selection, nonce, state, code_challenge, code_challenge_method, auth_time, created_at,
	expires_at, redeemed_at`

func scanAuthCode(row scanner) (store.AuthCode, error) {
	var c store.AuthCode
	err := row.Scan(&c.Hash, &c.GrantID, &c.OAuthSessionID, &c.ClientID, &c.UserID, &c.Subject, &c.RedirectURI,
		&c.Scopes, &c.AccountIDs, &c.AccountSelection, &c.Nonce, &c.State, &c.CodeChallenge, &c.CodeChallengeMethod,
		scanTime(&c.AuthTime), scanTime(&c.CreatedAt), scanTime(&c.ExpiresAt), scanTime(&c.RedeemedAt))
	c.Scopes, c.AccountIDs = nilIfEmpty(c.Scopes), nilIfEmpty(c.AccountIDs)
	return c, err
}

func (s *Store) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO auth_codes (`+authCodeColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		c.Hash, c.GrantID, c.OAuthSessionID, c.ClientID, c.UserID, c.Subject, c.RedirectURI, list(c.Scopes),
		list(c.AccountIDs), c.AccountSelection, c.Nonce, c.State, c.CodeChallenge, c.CodeChallengeMethod,
		ts(c.AuthTime), ts(c.CreatedAt), ts(c.ExpiresAt), ts(c.RedeemedAt))
	return s.fail("create auth code", err)
}

func (s *Store) GetAuthCode(ctx context.Context, hash string) (store.AuthCode, error) {
	c, err := scanAuthCode(s.pool.QueryRow(ctx, `SELECT `+authCodeColumns+` FROM auth_codes WHERE hash = $1`, hash))
	return c, s.fail("get auth code", err)
}

func (s *Store) RedeemAuthCode(ctx context.Context, r store.CodeRedemption) error {
	if r.Now.IsZero() {
		// NULL means unredeemed: a zero time would leave the code reusable.
		return errors.New("postgres: redeem auth code: redemption time not set")
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// The conditional update is the single-use guarantee: a concurrent
		// redemption, on any replica, waits for this row lock and then finds
		// redeemed_at set (or, if this transaction rolls back, redeems it).
		tag, err := tx.Exec(ctx, `UPDATE auth_codes SET redeemed_at = $1 WHERE hash = $2 AND redeemed_at IS NULL`,
			ts(r.Now), r.CodeHash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM auth_codes WHERE hash = $1)`, r.CodeHash).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return store.ErrNotFound
			}
			return store.ErrAlreadyRedeemed
		}
		// FOR SHARE holds off DisableUser's row lock until this commits, so
		// that its revocation sees the grant; or it reads the committed
		// disabled flag when DisableUser came first.
		var disabled bool
		if err := tx.QueryRow(ctx, `SELECT disabled FROM users WHERE id = $1 FOR SHARE`, r.Grant.UserID).Scan(&disabled); err != nil {
			return fmt.Errorf("read the grant's user: %w", err)
		}
		if disabled {
			return store.ErrUserDisabled
		}
		if err := insertGrant(ctx, tx, r.Grant); err != nil {
			return fmt.Errorf("create grant: %w", err)
		}
		if r.RefreshToken != nil {
			if err := insertRefreshToken(ctx, tx, *r.RefreshToken); err != nil {
				return fmt.Errorf("create refresh token: %w", err)
			}
		}
		return nil
	})
	return s.fail("redeem auth code", err)
}
