package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
)

// bearerToken finds the access token of a protected-resource request: the
// Authorization header, or (POST only) the access_token form field (RFC 6750
// §2.1, §2.2). Tokens in the query are not accepted.
func bearerToken(w http.ResponseWriter, r *http.Request) (token string, e *Error, noToken bool) {
	header := r.Header.Get("Authorization")
	var form string
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		raw, perr := readForm(w, r)
		if perr != nil {
			return "", perr, false
		}
		if len(raw["access_token"]) > 1 {
			return "", invalidRequest("access_token is repeated"), false
		}
		form = raw.first("access_token")
	}
	if r.URL.Query().Has("access_token") {
		return "", invalidRequest("access tokens are not accepted in the query; use the Authorization header"), false
	}
	switch {
	case header != "" && form != "":
		return "", invalidRequest("the access token was sent twice (header and body)"), false
	case header != "":
		scheme, tok, _ := strings.Cut(header, " ")
		tok = strings.TrimSpace(tok)
		if !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return "", newError(ErrCodeInvalidToken, http.StatusUnauthorized, "the Authorization header must be 'Bearer <access token>'"), false
		}
		return tok, nil, false
	case form != "":
		return form, nil, false
	}
	return "", newError(ErrCodeInvalidToken, http.StatusUnauthorized, "no access token: send Authorization: Bearer <access token>"), true
}

// verifyBearer maps access-token verification to RFC 6750 errors.
func (s *Server) verifyBearer(ctx context.Context, token string) (Access, *Error) {
	a, err := s.cfg.AccessTokens.Verify(ctx, token)
	switch {
	case err == nil:
		rec := observe.From(ctx)
		rec.SetClient(a.ClientID)
		rec.SetSubject(a.Subject)
		rec.SetOAuthSession(a.OAuthSessionID)
		return a, nil
	case errors.Is(err, ErrTokenInvalid):
		return a, newError(ErrCodeInvalidToken, http.StatusUnauthorized, "the access token is malformed or was not issued by this server")
	case errors.Is(err, ErrTokenExpired):
		return a, newError(ErrCodeInvalidToken, http.StatusUnauthorized, "the access token expired")
	case errors.Is(err, ErrTokenRevoked):
		return a, newError(ErrCodeInvalidToken, http.StatusUnauthorized, "the access token was revoked")
	}
	return a, s.storeError(err)
}

// handleUserinfo is OIDC Core §5.3: sub plus the claims of the granted scopes.
func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fail := func(e *Error, noToken bool) {
		s.logError(ctx, "userinfo.failed", e)
		writeBearerError(w, r, e, noToken)
	}
	token, e, noToken := bearerToken(w, r)
	if e != nil {
		fail(e, noToken)
		return
	}
	if e := s.available(ctx); e != nil {
		fail(e, false)
		return
	}
	a, e := s.verifyBearer(ctx, token)
	if e != nil {
		fail(e, false)
		return
	}
	if !a.HasScope(ScopeOpenID) {
		fail(newError(ErrCodeInsufficientScope, http.StatusForbidden, "userinfo needs a token with the openid scope"), false)
		return
	}
	user, err := s.cfg.Store.GetUser(ctx, a.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		fail(newError(ErrCodeInvalidToken, http.StatusUnauthorized, "the user of this token no longer exists"), false)
		return
	case err != nil:
		fail(s.storeError(err), false)
		return
	}
	claims := map[string]any{"sub": a.Subject}
	if a.HasScope(ScopeProfile) {
		if user.Name != "" {
			claims["name"] = user.Name
		}
		claims["updated_at"] = user.UpdatedAt.Unix()
	}
	if a.HasScope(ScopeEmail) && user.Email != "" {
		claims["email"] = user.Email
		claims["email_verified"] = user.EmailVerified
	}
	body, err := json.Marshal(claims)
	if err != nil {
		fail(serverError(err), false)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.Write(append(body, '\n'))
}

// handleRevoke is RFC 7009. Revoking a refresh token ends its grant;
// revoking an access token refuses it (and any older one of the same grant)
// while the grant lives on. Unknown tokens are not an error.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fail := s.jsonFailure(w, r, "revoke.failed")
	client, token, e := s.clientTokenRequest(w, r)
	if e != nil {
		fail(e)
		return
	}
	now := s.now()
	kind := "unknown"
	if LooksLikeAccessToken(token) {
		kind = "access_token"
		if parsed, err := s.cfg.AccessTokens.parse(token); err == nil {
			g, err := s.cfg.Store.GetGrant(ctx, parsed.grantID)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				fail(s.storeError(err))
				return
			case g.ClientID != client.ID:
				fail(invalidGrant("the token was not issued to this client"))
				return
			default:
				observe.From(ctx).SetSubject(g.Subject)
				if err := s.cfg.Store.RevokeAccessTokens(ctx, g.ID, parsed.issued); err != nil {
					fail(s.storeError(err))
					return
				}
			}
		}
	} else if rt, err := s.cfg.Store.GetRefreshToken(ctx, secret.Hash(token)); err == nil {
		kind = "refresh_token"
		if rt.ClientID != client.ID {
			fail(invalidGrant("the token was not issued to this client"))
			return
		}
		if err := s.cfg.Store.RevokeGrant(ctx, rt.GrantID, now, "refresh token revoked by the client"); err != nil &&
			!errors.Is(err, store.ErrNotFound) {
			fail(s.storeError(err))
			return
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		fail(s.storeError(err))
		return
	}
	s.cfg.Logger.InfoContext(ctx, "token revoked", "event", "token.revoked", "token_kind", kind)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// jsonFailure answers a failed request to a JSON endpoint: logged under
// event, then written as RFC 6749 §5.2 says.
func (s *Server) jsonFailure(w http.ResponseWriter, r *http.Request, event string) func(*Error) {
	return func(e *Error) {
		s.logError(r.Context(), event, e)
		writeJSONError(w, r, e)
	}
}

// clientTokenRequest reads a request about a token from its client
// (revocation, RFC 7009 §2.1; introspection, RFC 7662 §2.1): the form, the
// server's availability, the client's authentication and the token.
func (s *Server) clientTokenRequest(w http.ResponseWriter, r *http.Request) (store.Client, string, *Error) {
	raw, e := readForm(w, r)
	if e != nil {
		return store.Client{}, "", e
	}
	p, e := raw.single()
	if e != nil {
		return store.Client{}, "", e
	}
	if e := s.available(r.Context()); e != nil {
		return store.Client{}, "", e
	}
	client, e := s.authenticateClient(r.Context(), r, p)
	if e != nil {
		return store.Client{}, "", e
	}
	token := p["token"]
	if token == "" {
		return store.Client{}, "", invalidRequest("token is missing")
	}
	return client, token, nil
}

// introspection is RFC 7662 §2.2.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Subject   string `json:"sub,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Expiry    int64  `json:"exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
	Issuer    string `json:"iss,omitempty"`
}

// handleIntrospect is RFC 7662. A client sees only its own tokens; anything
// else is simply inactive.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fail := s.jsonFailure(w, r, "introspect.failed")
	client, token, e := s.clientTokenRequest(w, r)
	if e != nil {
		fail(e)
		return
	}
	result, e := s.introspect(ctx, client, token)
	if e != nil {
		fail(e)
		return
	}
	body, _ := json.Marshal(result)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.Write(append(body, '\n'))
}

func (s *Server) introspect(ctx context.Context, client store.Client, token string) (introspection, *Error) {
	inactive := introspection{}
	if LooksLikeAccessToken(token) {
		a, err := s.cfg.AccessTokens.Verify(ctx, token)
		switch {
		case errors.Is(err, ErrTokenInvalid), errors.Is(err, ErrTokenExpired), errors.Is(err, ErrTokenRevoked):
			return inactive, nil
		case err != nil:
			return inactive, s.storeError(err)
		case a.ClientID != client.ID:
			return inactive, nil
		}
		return introspection{Active: true, Scope: strings.Join(a.Scopes, " "), ClientID: a.ClientID, Subject: a.Subject,
			TokenType: "Bearer", Expiry: a.ExpiresAt.Unix(), IssuedAt: a.IssuedAt.Unix(), Issuer: s.cfg.Issuer}, nil
	}
	rt, g, err := s.cfg.Store.GetRefreshTokenGrant(ctx, secret.Hash(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return inactive, nil
	case err != nil:
		return inactive, s.storeError(err)
	case rt.ClientID != client.ID:
		return inactive, nil
	}
	now := s.now()
	if !g.Active(now) || !now.Before(rt.ExpiresAt) || (rt.SuccessorHash != "" && !now.Before(rt.RotatedAt.Add(s.cfg.RefreshGrace))) {
		return inactive, nil
	}
	return introspection{Active: true, Scope: strings.Join(g.Scopes, " "), ClientID: rt.ClientID, Subject: g.Subject,
		TokenType: "refresh_token", Expiry: rt.ExpiresAt.Unix(), IssuedAt: rt.CreatedAt.Unix(), Issuer: s.cfg.Issuer}, nil
}
