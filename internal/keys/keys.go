// Package keys manages the ID-token signing keys: it generates them, keeps
// their private halves sealed under the key-encryption key, rotates them
// next → active → retired on a schedule that never lets a verifier meet an
// unknown kid, publishes the JWKS and signs.
//
// The rules, from Plaid's troubleshooting guide ("Confirm new keys published
// to JWKS before removing old ones (24-hour overlap)"):
//   - a key is in the JWKS at least PublishLead (24 h) before it signs;
//   - a retired key stays in the JWKS at least PublishLead plus the lifetime
//     of the tokens it signed after it last signed;
//   - the JWKS max-age never exceeds PublishLead.
//
// The one exception is the very first key of a new installation, which
// signs at once: no verifier can hold a cached JWKS that lacks it.
package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
)

// PublishLead is how long a key is published before it signs, and how long
// a retired key outlives the tokens it signed. It is not configurable: tests
// move an injected clock instead.
const PublishLead = 24 * time.Hour

// DefaultRotationPeriod is how long a key signs before the next one takes over.
const DefaultRotationPeriod = 90 * 24 * time.Hour

// jwksMaxAge is the JWKS Cache-Control max-age: well under PublishLead, so
// a verifier refetches long before a newly published key starts signing.
const jwksMaxAge = time.Hour

// Algorithms are the supported ID-token signing algorithms.
var Algorithms = []string{"RS256", "ES256", "PS256"}

// settingRotateRequested records when an operator asked for a rotation
// (fdxd keys rotate); every replica sees it through the store.
const settingRotateRequested = "keys.rotate_requested_at"

// Config configures a Manager.
type Config struct {
	Keys     store.KeyStore
	Settings store.SettingStore
	Sealer   *secret.Sealer
	// Algorithm for new keys: RS256 (default), ES256 or PS256.
	Algorithm string
	// RotationPeriod: how long a key signs (default 90 days, at least
	// PublishLead).
	RotationPeriod time.Duration
	// SignedTokenLifetime is the longest lifetime of a token these keys sign
	// (the ID token lifetime): retired keys stay published that much longer.
	SignedTokenLifetime time.Duration
	Now                 func() time.Time
	Logger              *slog.Logger
}

// Validate reports every problem with c at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Keys == nil || c.Settings == nil || c.Sealer == nil {
		errs = append(errs, errors.New("keys: store, settings and sealer are required"))
	}
	if c.Algorithm == "" {
		c.Algorithm = "RS256"
	}
	if !slices.Contains(Algorithms, c.Algorithm) {
		errs = append(errs, fmt.Errorf("keys: signing algorithm %q not supported (use one of %v)", c.Algorithm, Algorithms))
	}
	if c.RotationPeriod == 0 {
		c.RotationPeriod = DefaultRotationPeriod
	}
	if c.RotationPeriod < PublishLead {
		errs = append(errs, fmt.Errorf("keys: rotation period %v is shorter than the %v publication lead", c.RotationPeriod, PublishLead))
	}
	if c.SignedTokenLifetime <= 0 {
		errs = append(errs, errors.New("keys: the signed-token lifetime must be positive"))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return errors.Join(errs...)
}

// Manager rotates keys, publishes the JWKS and signs. Several Managers (one
// per replica) may share one store: rotations are decided inside the
// store's transaction, and each Manager reloads what the others did.
type Manager struct {
	cfg     Config
	current atomic.Pointer[keySet]
}

// keySet is an immutable snapshot of the keys, swapped atomically.
type keySet struct {
	keys   []store.SigningKey
	active *activeKey
	jwks   []byte
}

type activeKey struct {
	id        string
	algorithm jose.SignatureAlgorithm
	signer    jose.Signer
}

// New returns a Manager; call Step (or Run) before signing.
func New(cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Manager{cfg: cfg}, nil
}

// Step brings the key set up to date at the current time: removes expired
// retired keys, makes sure a next key is published, rotates when due and
// allowed, then reloads. It is safe to call on every replica at once.
func (m *Manager) Step(ctx context.Context) error {
	requested, err := m.rotationRequestedAt(ctx)
	if err != nil {
		return err
	}
	var events []func()
	err = m.cfg.Keys.UpdateSigningKeys(ctx, func(keys []store.SigningKey) ([]store.SigningKey, error) {
		events = events[:0]
		now := m.cfg.Now().UTC()
		return m.plan(keys, now, requested, func(f func()) { events = append(events, f) })
	})
	if err != nil {
		return fmt.Errorf("keys: rotate: %w", err)
	}
	for _, e := range events {
		e()
	}
	return m.Reload(ctx)
}

// plan computes the key set at now from keys. It runs inside the store's
// transaction and may run more than once; log lines are queued through
// emit and written after the commit.
func (m *Manager) plan(keys []store.SigningKey, now, rotateRequested time.Time, emit func(func())) ([]store.SigningKey, error) {
	log := m.cfg.Logger
	out := keys[:0:0]
	for _, k := range keys {
		if k.State == store.KeyRetired && !now.Before(k.RemoveAfter) {
			emit(func() { log.Info("signing key removed from the JWKS", "event", "keys.removed", "kid", k.ID) })
			continue
		}
		out = append(out, k)
	}
	keys = out

	active, next := -1, -1
	for i, k := range keys {
		switch k.State {
		case store.KeyActive:
			if active == -1 || k.ActivatedAt.After(keys[active].ActivatedAt) {
				active = i
			}
		case store.KeyNext:
			if next == -1 || k.PublishedAt.Before(keys[next].PublishedAt) {
				next = i
			}
		}
	}

	// A next key of another algorithm never signed: replace it so that an
	// algorithm change takes effect at the next rotation.
	if next != -1 && keys[next].Algorithm != m.cfg.Algorithm {
		old := keys[next].ID
		keys = slices.Delete(keys, next, next+1)
		if active > next {
			active--
		}
		next = -1
		emit(func() {
			log.Info("unused next signing key replaced for a new algorithm", "event", "keys.next_replaced", "kid", old,
				"algorithm", m.cfg.Algorithm)
		})
	}

	if active == -1 {
		if next != -1 && !now.Before(keys[next].PublishedAt.Add(PublishLead)) {
			keys[next].State, keys[next].ActivatedAt = store.KeyActive, now
			active, next = next, -1
		} else if !hasPublished(keys) {
			// A new installation: nothing was ever published, so nobody can
			// hold a JWKS without this key.
			k, err := m.generate(now)
			if err != nil {
				return nil, err
			}
			k.State, k.ActivatedAt = store.KeyActive, now
			keys = append(keys, k)
			active = len(keys) - 1
			emit(func() { log.Info("first signing key created", "event", "keys.created", "kid", k.ID, "state", "active") })
		} else {
			// Keys were published but none is active (an operator deleted
			// it): sign with the oldest published key rather than not at all.
			oldest := -1
			for i, k := range keys {
				if k.State == store.KeyNext && (oldest == -1 || k.PublishedAt.Before(keys[oldest].PublishedAt)) {
					oldest = i
				}
			}
			if oldest == -1 {
				// Only retired keys are left: not signing at all would fail
				// every sign-in, so a new key signs at once.
				k, err := m.generate(now)
				if err != nil {
					return nil, err
				}
				keys = append(keys, k)
				oldest = len(keys) - 1
			}
			keys[oldest].State, keys[oldest].ActivatedAt = store.KeyActive, now
			active = oldest
			if next == oldest {
				next = -1
			}
			k := keys[oldest]
			emit(func() {
				log.Warn("no active signing key: a key signs before its publication lead", "event", "keys.early_activation",
					"kid", k.ID)
			})
		}
	}

	due := !now.Before(keys[active].ActivatedAt.Add(m.cfg.RotationPeriod)) ||
		(!rotateRequested.IsZero() && keys[active].ActivatedAt.Before(rotateRequested))
	if due && next != -1 {
		if eligible := keys[next].PublishedAt.Add(PublishLead); !now.Before(eligible) {
			keys[active].State = store.KeyRetired
			keys[active].RetiredAt = now
			keys[active].RemoveAfter = now.Add(PublishLead + m.cfg.SignedTokenLifetime)
			keys[next].State, keys[next].ActivatedAt = store.KeyActive, now
			retired, promoted := keys[active], keys[next]
			emit(func() {
				log.Info("signing key rotated", "event", "keys.rotated", "retired_kid", retired.ID, "active_kid", promoted.ID,
					"retired_key_removed_after", retired.RemoveAfter.Format(time.RFC3339))
			})
			next = -1
		}
	}

	if next == -1 {
		k, err := m.generate(now)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		emit(func() {
			log.Info("next signing key published", "event", "keys.published", "kid", k.ID,
				"signs_from", k.PublishedAt.Add(PublishLead).Format(time.RFC3339))
		})
	}
	return keys, nil
}

func hasPublished(keys []store.SigningKey) bool { return len(keys) > 0 }

// RequestRotation asks every replica to rotate as soon as the next key has
// been published for PublishLead. It returns when that will be.
func (m *Manager) RequestRotation(ctx context.Context) (time.Time, error) {
	now := m.cfg.Now().UTC()
	if err := m.cfg.Settings.SetSetting(ctx, settingRotateRequested, strconv.FormatInt(now.UnixMicro(), 10)); err != nil {
		return time.Time{}, fmt.Errorf("keys: request rotation: %w", err)
	}
	if err := m.Step(ctx); err != nil {
		return time.Time{}, err
	}
	for _, k := range m.snapshot().keys {
		if k.State == store.KeyActive && !k.ActivatedAt.Before(now) {
			return k.ActivatedAt, nil // rotated already
		}
	}
	for _, k := range m.snapshot().keys {
		if k.State == store.KeyNext {
			return k.PublishedAt.Add(PublishLead), nil
		}
	}
	return time.Time{}, errors.New("keys: no next key after a rotation request")
}

func (m *Manager) rotationRequestedAt(ctx context.Context) (time.Time, error) {
	v, err := m.cfg.Settings.GetSetting(ctx, settingRotateRequested)
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("keys: read rotation request: %w", err)
	}
	us, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("keys: bad rotation request %q: %w", v, err)
	}
	return time.UnixMicro(us).UTC(), nil
}

// Reload reads the keys from the store and swaps in a new snapshot.
func (m *Manager) Reload(ctx context.Context) error {
	keys, err := m.cfg.Keys.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("keys: reload: %w", err)
	}
	if cur := m.current.Load(); cur != nil && slices.EqualFunc(cur.keys, keys, sameKey) {
		return nil
	}
	set, err := m.load(keys)
	if err != nil {
		return err
	}
	m.current.Store(set)
	return nil
}

func sameKey(a, b store.SigningKey) bool {
	return a.ID == b.ID && a.State == b.State && a.ActivatedAt.Equal(b.ActivatedAt) && a.RemoveAfter.Equal(b.RemoveAfter)
}

func (m *Manager) load(keys []store.SigningKey) (*keySet, error) {
	set := &keySet{keys: keys}
	var (
		published []json.RawMessage
		newest    *store.SigningKey
	)
	for i := range keys {
		k := &keys[i]
		published = append(published, k.PublicJWK)
		if k.State == store.KeyActive && (newest == nil || k.ActivatedAt.After(newest.ActivatedAt)) {
			newest = k
		}
	}
	jwks, err := json.Marshal(struct {
		Keys []json.RawMessage `json:"keys"`
	}{published})
	if err != nil {
		return nil, fmt.Errorf("keys: encode JWKS: %w", err)
	}
	set.jwks = jwks
	if newest != nil {
		a, err := m.activate(*newest)
		if err != nil {
			return nil, err
		}
		set.active = a
	}
	return set, nil
}

func (m *Manager) activate(k store.SigningKey) (*activeKey, error) {
	der, err := m.cfg.Sealer.Open(k.PrivateKeyCiphertext, sealPurpose(k.ID))
	if err != nil {
		return nil, fmt.Errorf("keys: unseal key %s: %w", k.ID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("keys: parse key %s: %w", k.ID, err)
	}
	alg := jose.SignatureAlgorithm(k.Algorithm)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: priv, KeyID: k.ID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("keys: signer for %s: %w", k.ID, err)
	}
	return &activeKey{id: k.ID, algorithm: alg, signer: signer}, nil
}

func sealPurpose(kid string) string { return "fdxd signing key " + kid }

// generate makes a new next key, published at now.
func (m *Manager) generate(now time.Time) (store.SigningKey, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch m.cfg.Algorithm {
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: generate: %w", err)
	}
	pub := jose.JSONWebKey{Key: priv.Public(), Algorithm: m.cfg.Algorithm, Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: thumbprint: %w", err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	pubJSON, err := pub.MarshalJSON()
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: encode public key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: encode private key: %w", err)
	}
	return store.SigningKey{
		ID:                   pub.KeyID,
		Algorithm:            m.cfg.Algorithm,
		State:                store.KeyNext,
		PublicJWK:            pubJSON,
		PrivateKeyCiphertext: m.cfg.Sealer.Seal(der, sealPurpose(pub.KeyID)),
		CreatedAt:            now,
		PublishedAt:          now,
	}, nil
}

func (m *Manager) snapshot() *keySet {
	if s := m.current.Load(); s != nil {
		return s
	}
	return &keySet{jwks: []byte(`{"keys":[]}`)}
}

// ErrNoSigningKey: Step has not produced an active key yet.
var ErrNoSigningKey = errors.New("keys: no active signing key")

// Sign signs payload (JSON claims) with the active key as a compact JWS
// with typ JWT and the key's kid.
func (m *Manager) Sign(payload []byte) (string, error) {
	a := m.snapshot().active
	if a == nil {
		return "", ErrNoSigningKey
	}
	jws, err := a.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("keys: sign with %s: %w", a.id, err)
	}
	return jws.CompactSerialize()
}

// Active returns the kid and algorithm that Sign uses now.
func (m *Manager) Active() (kid, algorithm string, ok bool) {
	a := m.snapshot().active
	if a == nil {
		return "", "", false
	}
	return a.id, string(a.algorithm), true
}

// JWKS returns the published key set, pre-encoded, and how long verifiers
// may cache it.
func (m *Manager) JWKS() (body []byte, maxAge time.Duration) {
	return m.snapshot().jwks, jwksMaxAge
}

// Published reports whether kid is in the JWKS now.
func (m *Manager) Published(kid string) bool {
	for _, k := range m.snapshot().keys {
		if k.ID == kid {
			return true
		}
	}
	return false
}

// Algorithm is the configured algorithm for new keys.
func (m *Manager) Algorithm() string { return m.cfg.Algorithm }

// KeyInfo describes a key for `fdxd keys list` and the admin pages.
type KeyInfo struct {
	ID          string    `json:"kid"`
	Algorithm   string    `json:"alg"`
	State       string    `json:"state"`
	PublishedAt time.Time `json:"published_at"`
	// SignsFrom is when a next key may start signing.
	SignsFrom   time.Time `json:"signs_from,omitzero"`
	ActivatedAt time.Time `json:"activated_at,omitzero"`
	// RotatesAt is when the active key is due to retire.
	RotatesAt   time.Time `json:"rotates_at,omitzero"`
	RetiredAt   time.Time `json:"retired_at,omitzero"`
	RemoveAfter time.Time `json:"remove_after,omitzero"`
}

// List describes every stored key, as of the last Step or Reload.
func (m *Manager) List() []KeyInfo {
	keys := m.snapshot().keys
	out := make([]KeyInfo, 0, len(keys))
	for _, k := range keys {
		info := KeyInfo{ID: k.ID, Algorithm: k.Algorithm, State: string(k.State), PublishedAt: k.PublishedAt,
			ActivatedAt: k.ActivatedAt, RetiredAt: k.RetiredAt, RemoveAfter: k.RemoveAfter}
		switch k.State {
		case store.KeyNext:
			info.SignsFrom = k.PublishedAt.Add(PublishLead)
		case store.KeyActive:
			info.RotatesAt = k.ActivatedAt.Add(m.cfg.RotationPeriod)
		}
		out = append(out, info)
	}
	return out
}

// Run calls Step every checkEvery and Reload every reloadEvery until ctx
// ends, logging failures. Replicas thus publish the same JWKS within
// reloadEvery of a change.
func (m *Manager) Run(ctx context.Context, checkEvery, reloadEvery time.Duration) {
	check := time.NewTicker(checkEvery)
	reload := time.NewTicker(reloadEvery)
	defer check.Stop()
	defer reload.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-check.C:
			if err := m.Step(ctx); err != nil && ctx.Err() == nil {
				m.cfg.Logger.Error("signing key rotation check failed", "event", "keys.step_failed", "error", err.Error())
			}
		case <-reload.C:
			if err := m.Reload(ctx); err != nil && ctx.Err() == nil {
				m.cfg.Logger.Error("signing key reload failed", "event", "keys.reload_failed", "error", err.Error())
			}
		}
	}
}

// VerifyOwnJWKS checks that the active kid is published in body (a JWKS as
// served): the self-check behind the "kid_not_found" alert.
func VerifyOwnJWKS(body []byte, kid string) error {
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&set); err != nil {
		return fmt.Errorf("keys: JWKS does not parse: %w", err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			return fmt.Errorf("keys: JWKS publishes private key material for %s", k.KeyID)
		}
	}
	if len(set.Key(kid)) == 0 {
		return fmt.Errorf("keys: kid_not_found: active kid %s is not in the JWKS", kid)
	}
	return nil
}
