// Package store defines everything fdxd keeps: the value types, the
// interfaces that every storage backend implements, and the sentinel errors
// that backends translate their driver errors into.
//
// Protocol code depends on these interfaces only; SQL lives in the backend
// packages (store/sqlite, store/postgres), and storetest holds the one
// conformance suite every backend must pass.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Backends return them wrapped; callers test with errors.Is.
var (
	// ErrNotFound: no row with that key.
	ErrNotFound = errors.New("store: not found")
	// ErrAlreadyExists: a row with that key (or unique value) already exists.
	ErrAlreadyExists = errors.New("store: already exists")
	// ErrConflict: a compare-and-swap lost against a concurrent writer.
	ErrConflict = errors.New("store: conflict")
	// ErrAlreadyRedeemed: an authorization code was redeemed before.
	ErrAlreadyRedeemed = errors.New("store: authorization code already redeemed")
	// ErrRefreshTokenReused: a rotated-out refresh token was presented after
	// its grace ended or after its successor was used.
	ErrRefreshTokenReused = errors.New("store: rotated refresh token reused")
	// ErrUserDisabled: the user of a code being redeemed was disabled.
	ErrUserDisabled = errors.New("store: user disabled")
	// ErrUnavailable: the database cannot be reached. Callers answer 503.
	ErrUnavailable = errors.New("store: database unavailable")
)

// Store is everything persistent. Each embedded interface serves one part of
// the server; handlers take the narrowest one they need.
type Store interface {
	ClientStore
	UserStore
	FlowStore
	GrantStore
	KeyStore
	SettingStore
	AccountStore
	DataStore
	ObserveStore

	// GarbageCollect deletes what has expired at now: auth requests, login
	// sessions, codes, expired or long-revoked grants with their refresh
	// tokens.
	GarbageCollect(ctx context.Context, now time.Time) (GCResult, error)
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// MigrationStatus reports the latest applied migration and the latest one this binary knows.
	MigrationStatus(ctx context.Context) (applied, known int, err error)
	Close() error
}

// GCResult counts what GarbageCollect removed.
type GCResult struct {
	AuthRequests  int64
	LoginSessions int64
	AuthCodes     int64
	Grants        int64
	RefreshTokens int64
}

// ClientStore keeps the registered OAuth clients.
type ClientStore interface {
	CreateClient(ctx context.Context, c Client) error
	GetClient(ctx context.Context, id string) (Client, error)
	ListClients(ctx context.Context) ([]Client, error)
	// UpdateClient runs update on the current row inside a transaction and
	// stores what it returns. An error from update aborts the change.
	UpdateClient(ctx context.Context, id string, update func(Client) (Client, error)) error
	// DeleteClient removes the client together with its grants, codes and
	// refresh tokens.
	DeleteClient(ctx context.Context, id string) error
}

// UserStore keeps the provider's customers who sign in.
type UserStore interface {
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByUsername(ctx context.Context, username string) (User, error)
	GetUserBySubject(ctx context.Context, subject string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	UpdateUser(ctx context.Context, id string, update func(User) (User, error)) error
	// DisableUser marks the user disabled and, in the same transaction,
	// revokes every active grant of theirs, returning how many. A code
	// redemption racing with it either commits first (and its grant is
	// revoked here) or fails with ErrUserDisabled.
	DisableUser(ctx context.Context, id string, at time.Time, reason string) (int64, error)
}

// FlowStore keeps the short-lived state of an authorization attempt: the
// pending authorize request, the browser's login session and the codes.
type FlowStore interface {
	CreateAuthRequest(ctx context.Context, r AuthRequest) error
	GetAuthRequest(ctx context.Context, id string) (AuthRequest, error)
	UpdateAuthRequest(ctx context.Context, id string, update func(AuthRequest) (AuthRequest, error)) error
	DeleteAuthRequest(ctx context.Context, id string) error

	CreateLoginSession(ctx context.Context, s LoginSession) error
	GetLoginSession(ctx context.Context, idHash string) (LoginSession, error)
	DeleteLoginSession(ctx context.Context, idHash string) error

	CreateAuthCode(ctx context.Context, c AuthCode) error
	GetAuthCode(ctx context.Context, hash string) (AuthCode, error)
	// RedeemAuthCode marks the code redeemed at r.Now and, in the same
	// transaction, creates r.Grant and r.RefreshToken (when not nil). Of
	// concurrent redemptions of one code exactly one succeeds; the others,
	// and every later one, get ErrAlreadyRedeemed. When the grant's user is
	// disabled by the time it commits, nothing is written and the answer is
	// ErrUserDisabled (see DisableUser).
	RedeemAuthCode(ctx context.Context, r CodeRedemption) error
}

// GrantStore keeps grants (what a user allowed a client) and the refresh
// tokens that keep them alive.
type GrantStore interface {
	GetGrant(ctx context.Context, id string) (Grant, error)
	ListGrants(ctx context.Context, f GrantFilter) ([]Grant, error)
	// RevokeGrant marks the grant revoked; its refresh and access tokens are
	// refused from then on. Revoking a revoked grant is not an error.
	RevokeGrant(ctx context.Context, id string, at time.Time, reason string) error
	// RevokeUserGrants revokes every active grant of a user.
	RevokeUserGrants(ctx context.Context, userID string, at time.Time, reason string) (int64, error)
	// RevokeAccessTokens refuses every access token of the grant issued at or
	// before notBefore; the grant and its refresh tokens stay valid.
	RevokeAccessTokens(ctx context.Context, grantID string, notBefore time.Time) error

	GetRefreshToken(ctx context.Context, hash string) (RefreshToken, error)
	// GetRefreshTokenGrant returns a refresh token with its grant, in one
	// query (the refresh grant's hot path). ErrNotFound when either is gone.
	GetRefreshTokenGrant(ctx context.Context, hash string) (RefreshToken, Grant, error)
	// RotateRefreshToken replaces the token r.OldHash by r.New:
	//   - not rotated before: r.New becomes its successor;
	//   - rotated before, still inside r.Grace of that rotation, and its
	//     successor never used (never rotated itself): the unused successor is
	//     deleted and r.New takes its place (a client retrying a lost response);
	//   - otherwise: ErrRefreshTokenReused, nothing written.
	RotateRefreshToken(ctx context.Context, r RefreshRotation) error
}

// KeyStore keeps the ID-token signing keys and the server's own secrets.
type KeyStore interface {
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// UpdateSigningKeys runs update on the current key set inside a
	// transaction that excludes every other UpdateSigningKeys (on every
	// replica) and stores what it returns: keys absent from the result are
	// deleted, new ones inserted, changed ones updated. update may be called
	// with a fresher set than the caller last saw, and so must decide again.
	UpdateSigningKeys(ctx context.Context, update func([]SigningKey) ([]SigningKey, error)) error

	// ServerSecret returns the secret stored under name, storing the value
	// create returns when there is none. Concurrent callers (on any replica)
	// all get the one value that was stored first.
	ServerSecret(ctx context.Context, name string, create func() ([]byte, error)) ([]byte, error)
}

// SettingStore keeps small operational switches shared by every replica,
// such as maintenance mode.
type SettingStore interface {
	// GetSetting returns ErrNotFound when the setting was never set.
	GetSetting(ctx context.Context, name string) (string, error)
	SetSetting(ctx context.Context, name, value string) error
}

// AccountStore is what the authorization server needs to know of a user's
// accounts: enough to let them pick which ones to share.
type AccountStore interface {
	ListAccountSummaries(ctx context.Context, userID string) ([]AccountSummary, error)
}

// Client is a registered OAuth client (an aggregator such as Plaid).
type Client struct {
	ID   string
	Name string
	// SecretHash is the SHA-256 of the client secret, hex-encoded; empty for
	// a public client.
	SecretHash string
	// PreviousSecretHash stays accepted until PreviousSecretExpiresAt, so a
	// secret can be rotated without an outage.
	PreviousSecretHash      string
	PreviousSecretExpiresAt time.Time
	// Public clients hold no secret and must use PKCE.
	Public       bool
	RedirectURIs []string
	GrantTypes   []string
	// Scopes the client may request; empty means every supported scope.
	Scopes []string
	// RequirePKCE makes PKCE mandatory for a confidential client too.
	RequirePKCE bool
	// AccountSelection shows the account-selection page after login.
	AccountSelection bool
	// RotateRefreshTokens issues a new refresh token on every refresh.
	RotateRefreshTokens bool
	// IDTokenOnRefresh adds a freshly signed ID token to refresh responses.
	IDTokenOnRefresh bool
	// RateLimit is requests per second at the token endpoint; 0 means the
	// server default, a negative value means no limit.
	RateLimit float64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// User is one of the provider's customers.
type User struct {
	// ID is internal and never leaves the server.
	ID string
	// Subject is the OIDC sub and Core Exchange consistency key: stable,
	// never the username, at least 7 characters.
	Subject      string
	Username     string
	PasswordHash string
	Name         string
	Email        string
	// EmailVerified is reported as the email_verified claim.
	EmailVerified bool
	Disabled      bool
	// Ineligible users may sign in but may not connect to aggregators
	// (unauthorized_client).
	Ineligible bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// AuthRequest is an authorization attempt between /authorize and the
// redirect back to the client.
type AuthRequest struct {
	ID string
	// OAuthSessionID ties every log line of one attempt together, through to
	// the token exchange.
	OAuthSessionID      string
	ClientID            string
	RedirectURI         string
	Scopes              []string
	State               string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              []string
	// MaxAge is the max_age parameter in seconds; -1 when absent.
	MaxAge    int64
	LoginHint string
	// BrowserBindingHash is the SHA-256 of a cookie set on the browser that
	// started the attempt; only that browser may finish it.
	BrowserBindingHash string
	// CSRFToken is embedded in the forms of this attempt.
	CSRFToken string
	// UserID and AuthTime are set once the user has authenticated.
	UserID    string
	AuthTime  time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
}

// LoginSession is a browser's authenticated session with the server.
type LoginSession struct {
	// IDHash is the SHA-256 of the session cookie value.
	IDHash    string
	UserID    string
	AuthTime  time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
}

// AuthCode is an issued authorization code.
type AuthCode struct {
	// Hash is the SHA-256 of the code; the code itself is never stored.
	Hash string
	// GrantID is the grant the code creates when redeemed; known up front so
	// that a replay can revoke it.
	GrantID             string
	OAuthSessionID      string
	ClientID            string
	UserID              string
	Subject             string
	RedirectURI         string
	Scopes              []string
	AccountIDs          []string
	AccountSelection    bool
	Nonce               string
	State               string
	CodeChallenge       string
	CodeChallengeMethod string
	AuthTime            time.Time
	CreatedAt           time.Time
	ExpiresAt           time.Time
	// RedeemedAt is zero until the code is redeemed.
	RedeemedAt time.Time
}

// CodeRedemption is what RedeemAuthCode writes in one transaction.
type CodeRedemption struct {
	CodeHash     string
	Now          time.Time
	Grant        Grant
	RefreshToken *RefreshToken
}

// Grant is what a user allowed a client: scopes and, when the client asks
// for account selection, the chosen accounts.
type Grant struct {
	ID             string
	OAuthSessionID string
	ClientID       string
	UserID         string
	Subject        string
	Scopes         []string
	// AccountSelection is true when the user chose accounts; AccountIDs then
	// lists exactly those (possibly none). When false every account of the
	// user is covered.
	AccountSelection bool
	AccountIDs       []string
	AuthTime         time.Time
	CreatedAt        time.Time
	// ExpiresAt bounds the grant and its refresh tokens (absolute lifetime).
	ExpiresAt time.Time
	// AccessNotBefore: access tokens issued at or before it are refused.
	AccessNotBefore time.Time
	// RevokedAt is zero while the grant is active.
	RevokedAt    time.Time
	RevokeReason string
}

// Active reports whether the grant may still be used at now.
func (g Grant) Active(now time.Time) bool {
	return g.RevokedAt.IsZero() && now.Before(g.ExpiresAt)
}

// GrantFilter selects grants; empty fields match everything.
type GrantFilter struct {
	UserID      string
	ClientID    string
	ActiveAt    time.Time // when set, only grants active at that time
	IncludeDead bool      // when false and ActiveAt is zero, revoked grants are left out
}

// RefreshToken is a stored refresh token (by hash only).
type RefreshToken struct {
	Hash      string
	GrantID   string
	ClientID  string
	CreatedAt time.Time
	ExpiresAt time.Time
	// SuccessorHash and RotatedAt are set when the token was rotated out.
	SuccessorHash string
	RotatedAt     time.Time
}

// RefreshRotation asks RotateRefreshToken to replace OldHash by New.
type RefreshRotation struct {
	OldHash string
	New     RefreshToken
	Now     time.Time
	Grace   time.Duration
}

// KeyState is where a signing key is in its life.
type KeyState string

const (
	// KeyNext is published in the JWKS but signs nothing yet.
	KeyNext KeyState = "next"
	// KeyActive signs ID tokens.
	KeyActive KeyState = "active"
	// KeyRetired signs nothing and stays published until tokens it signed
	// have expired and verifiers' caches have moved on.
	KeyRetired KeyState = "retired"
)

// SigningKey is an ID-token signing key.
type SigningKey struct {
	// ID is the kid: the RFC 7638 thumbprint of the public key.
	ID        string
	Algorithm string
	State     KeyState
	// PublicJWK is the public key as a JSON Web Key.
	PublicJWK []byte
	// PrivateKeyCiphertext is the private key, encrypted under the key
	// encryption key.
	PrivateKeyCiphertext []byte
	CreatedAt            time.Time
	// PublishedAt: first in the JWKS. ActivatedAt: first signed. RetiredAt:
	// last signed. RemoveAfter: dropped from the JWKS after this time.
	PublishedAt time.Time
	ActivatedAt time.Time
	RetiredAt   time.Time
	RemoveAfter time.Time
}

// AccountSummary is an account as the selection page shows it.
type AccountSummary struct {
	ID            string
	UserID        string
	Category      string
	Type          string
	ProductName   string
	Nickname      string
	NumberDisplay string
	Status        string
}
