package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
)

// tokenResponse is RFC 6749 §5.1 with OIDC's id_token.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// handleToken is the token endpoint: authorization_code and refresh_token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	grantType := ""
	fail := func(e *Error) {
		s.logError(ctx, "token.failed", e, "grant_type", grantType)
		writeJSONError(w, r, e)
	}
	raw, e := readForm(w, r)
	if e != nil {
		fail(e)
		return
	}
	p, e := raw.single()
	if e != nil {
		fail(e)
		return
	}
	grantType = truncateForLog(p["grant_type"])
	if e := s.available(ctx); e != nil {
		fail(e)
		return
	}
	client, e := s.authenticateClient(ctx, r, p)
	if e != nil {
		fail(e)
		return
	}
	if e := s.allowClient(client); e != nil {
		fail(e)
		return
	}
	var resp tokenResponse
	switch p["grant_type"] {
	case "":
		e = invalidRequest("grant_type is missing")
	case GrantAuthorizationCode:
		if !hasGrantType(client, GrantAuthorizationCode) {
			e = unauthorizedClient("this client may not use the authorization_code grant")
			break
		}
		resp, e = s.exchangeCode(ctx, client, p)
	case GrantRefreshToken:
		if !hasGrantType(client, GrantRefreshToken) {
			e = unauthorizedClient("this client may not use the refresh_token grant")
			break
		}
		resp, e = s.refresh(ctx, client, p)
	default:
		e = newError(ErrCodeUnsupportedGrantType, http.StatusBadRequest, "grant_type %q is not supported", grantType)
	}
	if e != nil {
		fail(e)
		return
	}
	body, err := json.Marshal(resp)
	if err != nil {
		fail(serverError(err))
		return
	}
	s.cfg.Logger.InfoContext(ctx, "tokens issued", "event", "token.issued", "grant_type", grantType,
		"scope", resp.Scope, "refresh_token_issued", resp.RefreshToken != "", "id_token_issued", resp.IDToken != "",
		"expires_in", resp.ExpiresIn)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.Write(append(body, '\n'))
}

// exchangeCode redeems an authorization code (RFC 6749 §4.1.3, RFC 7636
// §4.6). Tokens are made first and the code redeemed last, in one
// transaction with the grant and refresh token, so a failure leaves the
// code unused and nothing half-written.
func (s *Server) exchangeCode(ctx context.Context, client store.Client, p params) (tokenResponse, *Error) {
	rec := observe.From(ctx)
	code, redirectURI := p["code"], p["redirect_uri"]
	if code == "" {
		return tokenResponse{}, invalidRequest("code is missing")
	}
	if redirectURI == "" {
		return tokenResponse{}, invalidRequest("redirect_uri is missing")
	}
	ac, err := s.cfg.Store.GetAuthCode(ctx, secret.Hash(code))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return tokenResponse{}, invalidGrant("the authorization code is invalid or expired")
	case err != nil:
		return tokenResponse{}, s.storeError(err)
	}
	rec.SetState(ac.State)
	rec.SetOAuthSession(ac.OAuthSessionID)
	rec.SetSubject(ac.Subject)
	now := s.now()
	switch {
	case ac.ClientID != client.ID:
		return tokenResponse{}, invalidGrant("the authorization code was issued to another client")
	case !ac.RedeemedAt.IsZero():
		return tokenResponse{}, s.codeReplayed(ctx, ac)
	case !now.Before(ac.ExpiresAt):
		return tokenResponse{}, invalidGrant("the authorization code expired at %s", ac.ExpiresAt.Format(time.RFC3339))
	case redirectURI != ac.RedirectURI:
		return tokenResponse{}, invalidGrant("redirect_uri differs from the one in the authorization request")
	}
	if e := checkPKCE(ac, p["code_verifier"]); e != nil {
		return tokenResponse{}, e
	}
	user, err := s.cfg.Store.GetUser(ctx, ac.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return tokenResponse{}, invalidGrant("the user no longer exists")
	case err != nil:
		return tokenResponse{}, s.storeError(err)
	case user.Disabled:
		return tokenResponse{}, invalidGrant("the user is disabled")
	}

	grant := store.Grant{
		ID:               ac.GrantID,
		OAuthSessionID:   ac.OAuthSessionID,
		ClientID:         client.ID,
		UserID:           ac.UserID,
		Subject:          ac.Subject,
		Scopes:           ac.Scopes,
		AccountSelection: ac.AccountSelection,
		AccountIDs:       ac.AccountIDs,
		AuthTime:         ac.AuthTime,
		CreatedAt:        now,
		ExpiresAt:        now.Add(s.cfg.RefreshTokenTTL),
	}
	resp, err := s.mintTokens(grant, client.ID, ac.Nonce, true, now)
	if err != nil {
		return tokenResponse{}, serverError(err)
	}
	var refresh *store.RefreshToken
	if slices.Contains(grant.Scopes, ScopeOfflineAccess) && hasGrantType(client, GrantRefreshToken) {
		// Issued for offline_access whatever the prompt: Plaid's authorize
		// request sends none, and a connection without a refresh token dies
		// after 15 minutes.
		resp.RefreshToken = secret.Token("", 32)
		refresh = &store.RefreshToken{Hash: secret.Hash(resp.RefreshToken), GrantID: grant.ID, ClientID: client.ID,
			CreatedAt: now, ExpiresAt: grant.ExpiresAt}
	}
	err = s.cfg.Store.RedeemAuthCode(ctx, store.CodeRedemption{CodeHash: ac.Hash, Now: now, Grant: grant, RefreshToken: refresh})
	switch {
	case errors.Is(err, store.ErrAlreadyRedeemed):
		return tokenResponse{}, s.codeReplayed(ctx, ac)
	case errors.Is(err, store.ErrUserDisabled):
		return tokenResponse{}, invalidGrant("the user is disabled")
	case errors.Is(err, store.ErrNotFound):
		return tokenResponse{}, invalidGrant("the authorization code is invalid or expired")
	case err != nil:
		return tokenResponse{}, s.storeError(err)
	}
	return resp, nil
}

// codeReplayed answers a second redemption: the grant made by the first is
// revoked with every token issued from it (RFC 6749 §4.1.2).
func (s *Server) codeReplayed(ctx context.Context, ac store.AuthCode) *Error {
	err := s.cfg.Store.RevokeGrant(ctx, ac.GrantID, s.now(), "authorization code replayed")
	revoked := err == nil
	if errors.Is(err, store.ErrNotFound) {
		err = nil // the first redemption has not committed a grant: nothing to revoke
	}
	attrs := []any{"event", "token.code_replayed", "grant_id", ac.GrantID, "grant_revoked", revoked}
	if err != nil {
		attrs = append(attrs, "revoke_error", err.Error())
		s.cfg.Logger.ErrorContext(ctx, "authorization code replayed; revoking its grant failed", attrs...)
		return s.storeError(err)
	}
	s.cfg.Logger.WarnContext(ctx, "authorization code replayed; tokens issued from it are revoked", attrs...)
	return invalidGrant("the authorization code was already used; tokens issued from it have been revoked")
}

// checkPKCE verifies code_verifier against the stored S256 challenge. A
// verifier without a challenge is refused too (a downgrade attempt).
func checkPKCE(ac store.AuthCode, verifier string) *Error {
	if ac.CodeChallenge == "" {
		if verifier != "" {
			return invalidGrant("code_verifier sent but the authorization request had no code_challenge")
		}
		return nil
	}
	if verifier == "" {
		return invalidGrant("code_verifier is missing")
	}
	if len(verifier) < 43 || len(verifier) > 128 || !isUnreserved(verifier) {
		return invalidGrant("code_verifier must be 43 to 128 unreserved characters")
	}
	sum := sha256.Sum256([]byte(verifier))
	if !secret.Equal(base64.RawURLEncoding.EncodeToString(sum[:]), ac.CodeChallenge) {
		return invalidGrant("code_verifier does not match the code_challenge")
	}
	return nil
}

func isUnreserved(s string) bool {
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
			return false
		}
	}
	return true
}

// refresh is RFC 6749 §6. Without rotation it writes nothing.
func (s *Server) refresh(ctx context.Context, client store.Client, p params) (tokenResponse, *Error) {
	rec := observe.From(ctx)
	value := p["refresh_token"]
	if value == "" {
		return tokenResponse{}, invalidRequest("refresh_token is missing")
	}
	rt, g, err := s.cfg.Store.GetRefreshTokenGrant(ctx, secret.Hash(value))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return tokenResponse{}, invalidGrant("the refresh token is invalid, expired or revoked")
	case err != nil:
		return tokenResponse{}, s.storeError(err)
	}
	if rt.ClientID != client.ID {
		return tokenResponse{}, invalidGrant("the refresh token was issued to another client")
	}
	rec.SetSubject(g.Subject)
	rec.SetOAuthSession(g.OAuthSessionID)
	now := s.now()
	switch {
	case !g.RevokedAt.IsZero():
		return tokenResponse{}, invalidGrant("the grant was revoked (%s)", g.RevokeReason)
	case !g.Active(now) || !now.Before(rt.ExpiresAt):
		return tokenResponse{}, invalidGrant("the refresh token expired at %s", rt.ExpiresAt.Format(time.RFC3339))
	}

	scoped := g
	if requested := p["scope"]; requested != "" {
		scoped.Scopes = nil
		for _, sc := range strings.Fields(requested) {
			if !slices.Contains(g.Scopes, sc) {
				return tokenResponse{}, invalidScope("scope %q was not granted; a refresh may only narrow the scope", truncateForLog(sc))
			}
			if !slices.Contains(scoped.Scopes, sc) {
				scoped.Scopes = append(scoped.Scopes, sc)
			}
		}
	}
	resp, err := s.mintTokens(scoped, client.ID, "", client.IDTokenOnRefresh, now)
	if err != nil {
		return tokenResponse{}, serverError(err)
	}
	if client.RotateRefreshTokens || rt.SuccessorHash != "" {
		next := secret.Token("", 32)
		err := s.cfg.Store.RotateRefreshToken(ctx, store.RefreshRotation{OldHash: rt.Hash, Now: now, Grace: s.cfg.RefreshGrace,
			New: store.RefreshToken{Hash: secret.Hash(next), GrantID: g.ID, ClientID: client.ID, CreatedAt: now, ExpiresAt: rt.ExpiresAt}})
		switch {
		case errors.Is(err, store.ErrRefreshTokenReused):
			return tokenResponse{}, s.refreshReused(ctx, g)
		case errors.Is(err, store.ErrNotFound):
			return tokenResponse{}, invalidGrant("the refresh token is invalid, expired or revoked")
		case err != nil:
			return tokenResponse{}, s.storeError(err)
		}
		resp.RefreshToken = next
	}
	return resp, nil
}

// refreshReused answers a rotated-out refresh token used after its grace:
// somebody holds a copy, so the grant ends.
func (s *Server) refreshReused(ctx context.Context, g store.Grant) *Error {
	if err := s.cfg.Store.RevokeGrant(ctx, g.ID, s.now(), "rotated refresh token reused"); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.cfg.Logger.ErrorContext(ctx, "rotated refresh token reused; revoking its grant failed", "event", "token.refresh_reused",
			"grant_id", g.ID, "revoke_error", err.Error())
		return s.storeError(err)
	}
	s.cfg.Logger.WarnContext(ctx, "rotated refresh token reused; the grant is revoked", "event", "token.refresh_reused", "grant_id", g.ID)
	return invalidGrant("the refresh token was already rotated; the grant has been revoked")
}

// mintTokens makes the access token and, when the grant has openid and
// withIDToken is set, the ID token. Nothing is written.
func (s *Server) mintTokens(g store.Grant, clientID, nonce string, withIDToken bool, now time.Time) (tokenResponse, error) {
	access, _ := s.cfg.AccessTokens.Issue(g, now)
	resp := tokenResponse{
		AccessToken: access,
		TokenType:   "Bearer",
		ExpiresIn:   int64(s.cfg.AccessTokens.TTL() / time.Second),
		Scope:       strings.Join(g.Scopes, " "),
	}
	if withIDToken && slices.Contains(g.Scopes, ScopeOpenID) {
		id, err := s.signIDToken(g, clientID, nonce, access, now)
		if err != nil {
			return tokenResponse{}, err
		}
		resp.IDToken = id
	}
	return resp, nil
}

// idTokenClaims are OIDC Core §2 claims; Plaid reads sub.
type idTokenClaims struct {
	Issuer          string `json:"iss"`
	Subject         string `json:"sub"`
	Audience        string `json:"aud"`
	Expiry          int64  `json:"exp"`
	IssuedAt        int64  `json:"iat"`
	AuthTime        int64  `json:"auth_time"`
	Nonce           string `json:"nonce,omitempty"`
	AccessTokenHash string `json:"at_hash,omitempty"`
	AuthorizedParty string `json:"azp"`
}

func (s *Server) signIDToken(g store.Grant, clientID, nonce, accessToken string, now time.Time) (string, error) {
	if err := ValidateSubject(g.Subject); err != nil {
		return "", err
	}
	claims := idTokenClaims{
		Issuer:          s.cfg.Issuer,
		Subject:         g.Subject,
		Audience:        clientID,
		Expiry:          now.Add(s.cfg.IDTokenTTL).Unix(),
		IssuedAt:        now.Unix(),
		AuthTime:        g.AuthTime.Unix(),
		Nonce:           nonce,
		AccessTokenHash: atHash(accessToken),
		AuthorizedParty: clientID,
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("oauth: encode ID token: %w", err)
	}
	return s.cfg.Keys.Sign(payload)
}

// atHash is OIDC Core §3.1.3.6: the left half of the SHA-256 of the access
// token (every supported algorithm hashes with SHA-256).
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// MinSubjectLength is Plaid's minimum for the consistency key.
const MinSubjectLength = 7

// ValidateSubject checks a sub: at least 7 characters (Plaid's consistency
// key), at most 255, printable ASCII.
func ValidateSubject(sub string) error {
	if len(sub) < MinSubjectLength {
		return fmt.Errorf("subject %q is %d characters; Plaid rejects a consistency key shorter than %d (use a longer id or an institution prefix)",
			sub, len(sub), MinSubjectLength)
	}
	if len(sub) > 255 {
		return fmt.Errorf("subject is %d characters; at most 255", len(sub))
	}
	for _, r := range sub {
		if r < 0x21 || r > 0x7e {
			return fmt.Errorf("subject %q must be printable ASCII without spaces", sub)
		}
	}
	return nil
}
