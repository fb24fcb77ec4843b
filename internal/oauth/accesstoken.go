package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fdxd/fdxd/internal/store"
)

// Access is what a verified access token grants.
type Access struct {
	GrantID        string
	ClientID       string
	UserID         string
	Subject        string
	OAuthSessionID string
	// Scopes are those of the token: the grant's, or fewer when a refresh
	// narrowed them.
	Scopes []string
	// AccountSelection is true when the user chose accounts; AccountIDs then
	// lists exactly those. When false every account of the user is covered.
	AccountSelection bool
	AccountIDs       []string
	IssuedAt         time.Time
	ExpiresAt        time.Time
}

// HasScope reports whether the token carries scope.
func (a Access) HasScope(scope string) bool { return slices.Contains(a.Scopes, scope) }

// Access-token verification errors. A store failure is returned wrapped
// instead (store.ErrUnavailable: answer 503).
var (
	// ErrTokenInvalid: malformed, not issued by this server (bad MAC), or
	// not an access token at all (an ID token, a refresh token).
	ErrTokenInvalid = errors.New("oauth: access token invalid")
	// ErrTokenExpired: past its expires_in.
	ErrTokenExpired = errors.New("oauth: access token expired")
	// ErrTokenRevoked: its grant was revoked or has ended, or the token was
	// revoked.
	ErrTokenRevoked = errors.New("oauth: access token revoked")
)

// accessTokenPrefix marks fdxd access tokens and their format version.
const accessTokenPrefix = "fdxat1."

// AccessTokens issues and verifies access tokens. A token is not a
// database row: it is a MAC'd value naming its grant, its scopes and its
// lifetime. Verification checks the MAC and then the grant's state, so a
// refresh writes nothing while revocation still takes effect at once.
type AccessTokens struct {
	key    []byte
	grants GrantGetter
	ttl    time.Duration
	now    func() time.Time
}

// GrantGetter is the part of the store that verification reads.
type GrantGetter interface {
	GetGrant(ctx context.Context, id string) (store.Grant, error)
}

// NewAccessTokens returns an issuer/verifier with a MAC key of at least 32
// bytes (shared by every replica), tokens valid for ttl.
func NewAccessTokens(key []byte, grants GrantGetter, ttl time.Duration, now func() time.Time) (*AccessTokens, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("oauth: access-token MAC key must be at least 32 bytes, got %d", len(key))
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("oauth: access-token lifetime must be positive, got %v", ttl)
	}
	if now == nil {
		now = time.Now
	}
	return &AccessTokens{key: slices.Clone(key), grants: grants, ttl: ttl, now: now}, nil
}

// TTL is the lifetime of the tokens Issue makes.
func (a *AccessTokens) TTL() time.Duration { return a.ttl }

// payload layout: issued (8) | expires (8) | nonce (8) | len(grant) (1) | grant | scopes (space-separated)
const fixedPayload = 8 + 8 + 8 + 1

// Issue makes an access token for grant g carrying g.Scopes, valid from now
// for the configured lifetime.
func (a *AccessTokens) Issue(g store.Grant, now time.Time) (token string, expiresAt time.Time) {
	expiresAt = now.Add(a.ttl)
	scopes := strings.Join(g.Scopes, " ")
	p := make([]byte, fixedPayload, fixedPayload+len(g.ID)+len(scopes))
	binary.BigEndian.PutUint64(p[0:], uint64(now.UnixMicro()))
	binary.BigEndian.PutUint64(p[8:], uint64(expiresAt.UnixMicro()))
	rand.Read(p[16:24])
	p[24] = byte(len(g.ID))
	p = append(p, g.ID...)
	p = append(p, scopes...)
	enc := base64.RawURLEncoding
	return accessTokenPrefix + enc.EncodeToString(p) + "." + enc.EncodeToString(a.mac(p)), expiresAt
}

func (a *AccessTokens) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(accessTokenPrefix))
	m.Write(payload)
	return m.Sum(nil)
}

// parsed is what the token itself says, before the grant is consulted.
type parsed struct {
	issued, expires time.Time
	grantID         string
	scopes          []string
}

func (a *AccessTokens) parse(token string) (parsed, error) {
	var p parsed
	rest, ok := strings.CutPrefix(token, accessTokenPrefix)
	if !ok || len(token) > 4096 {
		return p, ErrTokenInvalid
	}
	body, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return p, ErrTokenInvalid
	}
	enc := base64.RawURLEncoding
	payload, err := enc.DecodeString(body)
	if err != nil {
		return p, ErrTokenInvalid
	}
	mac, err := enc.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, a.mac(payload)) {
		return p, ErrTokenInvalid
	}
	if len(payload) < fixedPayload || len(payload) < fixedPayload+int(payload[24]) {
		return p, ErrTokenInvalid
	}
	p.issued = time.UnixMicro(int64(binary.BigEndian.Uint64(payload[0:]))).UTC()
	p.expires = time.UnixMicro(int64(binary.BigEndian.Uint64(payload[8:]))).UTC()
	end := fixedPayload + int(payload[24])
	p.grantID = string(payload[fixedPayload:end])
	p.scopes = strings.Fields(string(payload[end:]))
	return p, nil
}

// Verify checks token and returns what it grants.
func (a *AccessTokens) Verify(ctx context.Context, token string) (Access, error) {
	p, err := a.parse(token)
	if err != nil {
		return Access{}, err
	}
	now := a.now()
	if !now.Before(p.expires) {
		return Access{}, ErrTokenExpired
	}
	g, err := a.grants.GetGrant(ctx, p.grantID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Access{}, ErrTokenRevoked
	case err != nil:
		return Access{}, fmt.Errorf("oauth: verify access token: %w", err)
	}
	if !g.Active(now) || !p.issued.After(g.AccessNotBefore) {
		return Access{}, ErrTokenRevoked
	}
	// The token may carry fewer scopes than the grant (a narrowing refresh),
	// never more.
	scopes := slices.DeleteFunc(p.scopes, func(s string) bool { return !slices.Contains(g.Scopes, s) })
	return Access{
		GrantID:          g.ID,
		ClientID:         g.ClientID,
		UserID:           g.UserID,
		Subject:          g.Subject,
		OAuthSessionID:   g.OAuthSessionID,
		Scopes:           scopes,
		AccountSelection: g.AccountSelection,
		AccountIDs:       g.AccountIDs,
		IssuedAt:         p.issued,
		ExpiresAt:        p.expires,
	}, nil
}

// LooksLikeAccessToken reports whether s has the shape of this server's
// access tokens (for token_type_hint-less revocation and introspection).
func LooksLikeAccessToken(s string) bool { return strings.HasPrefix(s, accessTokenPrefix) }
