package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/fdxd/fdxd/internal/store"
)

const authRequestColumns = `id, oauth_session_id, client_id, redirect_uri, scopes, state, nonce, code_challenge,
	code_challenge_method, prompt, max_age, login_hint, browser_binding_hash, csrf_token, user_id, auth_time,
	created_at, expires_at`

func scanAuthRequest(row scanner) (store.AuthRequest, error) {
	var (
		r                          store.AuthRequest
		scopes, prompt             string
		authTime, created, expires int64
	)
	err := row.Scan(&r.ID, &r.OAuthSessionID, &r.ClientID, &r.RedirectURI, &scopes, &r.State, &r.Nonce,
		&r.CodeChallenge, &r.CodeChallengeMethod, &prompt, &r.MaxAge, &r.LoginHint, &r.BrowserBindingHash,
		&r.CSRFToken, &r.UserID, &authTime, &created, &expires)
	if err != nil {
		return r, err
	}
	r.AuthTime, r.CreatedAt, r.ExpiresAt = fromMicros(authTime), fromMicros(created), fromMicros(expires)
	if r.Scopes, err = fromList(scopes); err != nil {
		return r, err
	}
	r.Prompt, err = fromList(prompt)
	return r, err
}

func authRequestArgs(r store.AuthRequest) []any {
	return []any{r.ID, r.OAuthSessionID, r.ClientID, r.RedirectURI, list(r.Scopes), r.State, r.Nonce,
		r.CodeChallenge, r.CodeChallengeMethod, list(r.Prompt), r.MaxAge, r.LoginHint, r.BrowserBindingHash,
		r.CSRFToken, r.UserID, micros(r.AuthTime), micros(r.CreatedAt), micros(r.ExpiresAt)}
}

func (s *Store) CreateAuthRequest(ctx context.Context, r store.AuthRequest) error {
	_, err := s.exec(ctx, `INSERT INTO auth_requests (`+authRequestColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, authRequestArgs(r)...)
	return translate("create auth request", err)
}

func (s *Store) GetAuthRequest(ctx context.Context, id string) (store.AuthRequest, error) {
	r, err := scanAuthRequest(s.queryRow(ctx, `SELECT `+authRequestColumns+` FROM auth_requests WHERE id = ?`, id))
	return r, translate("get auth request", err)
}

func (s *Store) UpdateAuthRequest(ctx context.Context, id string, update func(store.AuthRequest) (store.AuthRequest, error)) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanAuthRequest(tx.QueryRowContext(ctx, `SELECT `+authRequestColumns+` FROM auth_requests WHERE id = ?`, id))
		if err != nil {
			return err
		}
		r, err := update(old)
		if err != nil {
			return err
		}
		r.ID = old.ID
		args := authRequestArgs(r)
		_, err = tx.ExecContext(ctx, `UPDATE auth_requests SET oauth_session_id = ?, client_id = ?, redirect_uri = ?,
			scopes = ?, state = ?, nonce = ?, code_challenge = ?, code_challenge_method = ?, prompt = ?, max_age = ?,
			login_hint = ?, browser_binding_hash = ?, csrf_token = ?, user_id = ?, auth_time = ?, created_at = ?,
			expires_at = ? WHERE id = ?`, append(args[1:], r.ID)...)
		return err
	})
	return translate("update auth request", err)
}

func (s *Store) DeleteAuthRequest(ctx context.Context, id string) error {
	res, err := s.exec(ctx, `DELETE FROM auth_requests WHERE id = ?`, id)
	if err != nil {
		return translate("delete auth request", err)
	}
	return translate("delete auth request", mustAffect(res))
}

func (s *Store) CreateLoginSession(ctx context.Context, ls store.LoginSession) error {
	_, err := s.exec(ctx, `INSERT INTO login_sessions (id_hash, user_id, auth_time, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, ls.IDHash, ls.UserID, micros(ls.AuthTime), micros(ls.CreatedAt), micros(ls.ExpiresAt))
	return translate("create login session", err)
}

func (s *Store) GetLoginSession(ctx context.Context, idHash string) (store.LoginSession, error) {
	var (
		ls                         store.LoginSession
		authTime, created, expires int64
	)
	err := s.queryRow(ctx, `SELECT id_hash, user_id, auth_time, created_at, expires_at
		FROM login_sessions WHERE id_hash = ?`, idHash).Scan(&ls.IDHash, &ls.UserID, &authTime, &created, &expires)
	ls.AuthTime, ls.CreatedAt, ls.ExpiresAt = fromMicros(authTime), fromMicros(created), fromMicros(expires)
	return ls, translate("get login session", err)
}

func (s *Store) DeleteLoginSession(ctx context.Context, idHash string) error {
	res, err := s.exec(ctx, `DELETE FROM login_sessions WHERE id_hash = ?`, idHash)
	if err != nil {
		return translate("delete login session", err)
	}
	return translate("delete login session", mustAffect(res))
}

const authCodeColumns = `hash, grant_id, oauth_session_id, client_id, user_id, subject, redirect_uri, scopes,
	account_ids, account_selection, nonce, state, code_challenge, code_challenge_method, auth_time, created_at,
	expires_at, redeemed_at`

func scanAuthCode(row scanner) (store.AuthCode, error) {
	var (
		c                                    store.AuthCode
		scopes, accounts                     string
		selection                            int64
		authTime, created, expires, redeemed int64
	)
	err := row.Scan(&c.Hash, &c.GrantID, &c.OAuthSessionID, &c.ClientID, &c.UserID, &c.Subject, &c.RedirectURI,
		&scopes, &accounts, &selection, &c.Nonce, &c.State, &c.CodeChallenge, &c.CodeChallengeMethod, &authTime,
		&created, &expires, &redeemed)
	if err != nil {
		return c, err
	}
	c.AccountSelection = selection == 1
	c.AuthTime, c.CreatedAt = fromMicros(authTime), fromMicros(created)
	c.ExpiresAt, c.RedeemedAt = fromMicros(expires), fromMicros(redeemed)
	if c.Scopes, err = fromList(scopes); err != nil {
		return c, err
	}
	c.AccountIDs, err = fromList(accounts)
	return c, err
}

func (s *Store) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	_, err := s.exec(ctx, `INSERT INTO auth_codes (`+authCodeColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Hash, c.GrantID, c.OAuthSessionID, c.ClientID, c.UserID, c.Subject, c.RedirectURI, list(c.Scopes),
		list(c.AccountIDs), boolInt(c.AccountSelection), c.Nonce, c.State, c.CodeChallenge, c.CodeChallengeMethod,
		micros(c.AuthTime), micros(c.CreatedAt), micros(c.ExpiresAt), micros(c.RedeemedAt))
	return translate("create auth code", err)
}

func (s *Store) GetAuthCode(ctx context.Context, hash string) (store.AuthCode, error) {
	c, err := scanAuthCode(s.queryRow(ctx, `SELECT `+authCodeColumns+` FROM auth_codes WHERE hash = ?`, hash))
	return c, translate("get auth code", err)
}

// redeemCodeSQL is the single-use guarantee: only one transaction can
// move redeemed_at away from 0.
const redeemCodeSQL = `UPDATE auth_codes SET redeemed_at = ? WHERE hash = ? AND redeemed_at = 0`

func (s *Store) RedeemAuthCode(ctx context.Context, r store.CodeRedemption) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.txExec(ctx, tx, redeemCodeSQL, micros(r.Now), r.CodeHash)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			var exists int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM auth_codes WHERE hash = ?`, r.CodeHash).Scan(&exists); err != nil {
				return err
			}
			if exists == 0 {
				return store.ErrNotFound
			}
			return store.ErrAlreadyRedeemed
		}
		// One writer at a time: DisableUser commits wholly before or after.
		var disabled bool
		if err := tx.QueryRowContext(ctx, `SELECT disabled FROM users WHERE id = ?`, r.Grant.UserID).Scan(&disabled); err != nil {
			return fmt.Errorf("read the grant's user: %w", err)
		}
		if disabled {
			return store.ErrUserDisabled
		}
		if err := s.insertGrant(ctx, tx, r.Grant); err != nil {
			return fmt.Errorf("create grant: %w", err)
		}
		if r.RefreshToken != nil {
			if err := s.insertRefreshToken(ctx, tx, *r.RefreshToken); err != nil {
				return fmt.Errorf("create refresh token: %w", err)
			}
		}
		return nil
	})
	return translate("redeem auth code", err)
}
