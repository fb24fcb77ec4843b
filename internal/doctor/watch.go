package doctor

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The JWKS watcher applies the guide's rotation rules over time: a key must
// be published 24 hours before it signs (Plaid caches JWKS for 24 hours), and
// a key must stay published while tokens signed by it may still be checked.
// It polls the JWKS, remembers in a state file when each kid was first and
// last seen, and, when it can get ID tokens, which kid signs them.

// rotationOverlap is the guide's 24-hour overlap.
const rotationOverlap = 24 * time.Hour

func watchOnly(id string) bool {
	return id == "jwks.watch" || strings.HasPrefix(id, "jwks.rotation_")
}

// WatchConfig configures a [Watcher].
type WatchConfig struct {
	JWKSURI string
	// StatePath is the JSON file the watcher keeps its memory in between runs.
	StatePath        string
	InsecureLoopback bool
	RootCAs          *x509.CertPool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// IDToken, when set, returns a freshly issued ID token at each poll, so
	// the watcher sees which key signs. It must not write the token anywhere.
	IDToken func(ctx context.Context) (string, error)
}

// Watcher polls a JWKS and reports rotation problems as they happen.
type Watcher struct {
	cfg    WatchConfig
	now    func() time.Time
	client *httpClient
	close  func()
	state  watchState
}

// watchState is what the state file holds. No token is ever stored.
type watchState struct {
	JWKSURI  string               `json:"jwks_uri"`
	Polls    int                  `json:"polls"`
	LastPoll time.Time            `json:"last_poll,omitzero"`
	Kids     map[string]*kidState `json:"kids"`
}

type kidState struct {
	// PublishedAfter and FirstSeen bracket the publication: the kid was
	// absent (or watching had not begun) at PublishedAfter and present at
	// FirstSeen.
	PublishedAfter time.Time `json:"published_after,omitzero"`
	FirstSeen      time.Time `json:"first_seen"`
	// Preexisting: published before watching began, at an unknown time.
	Preexisting bool      `json:"preexisting,omitempty"`
	LastSeen    time.Time `json:"last_seen"`
	Removed     time.Time `json:"removed,omitzero"`
	FirstSigned time.Time `json:"first_signed,omitzero"`
	LastSigned  time.Time `json:"last_signed,omitzero"`
	// TokensValidUntil is the latest exp of the tokens seen signed by the kid.
	TokensValidUntil time.Time `json:"tokens_valid_until,omitzero"`
}

// ErrStateMismatch is returned when the state file belongs to another JWKS.
var ErrStateMismatch = errors.New("the state file is for another jwks_uri")

// NewWatcher loads the state file (a missing file is a fresh start).
func NewWatcher(cfg WatchConfig) (*Watcher, error) {
	if cfg.JWKSURI == "" {
		return nil, fmt.Errorf("%w: no jwks_uri", ErrConfig)
	}
	if cfg.StatePath == "" {
		return nil, fmt.Errorf("%w: --state is required", ErrConfig)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	policy := transportPolicy{insecureLoopback: cfg.InsecureLoopback, rootCAs: cfg.RootCAs, now: now}
	transport := policy.newTransport()
	w := &Watcher{cfg: cfg, now: now, client: newHTTPClient(policy, transport, nil), close: transport.CloseIdleConnections}
	w.state = watchState{JWKSURI: cfg.JWKSURI, Kids: map[string]*kidState{}}
	b, err := os.ReadFile(cfg.StatePath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return w, nil
	case err != nil:
		return nil, fmt.Errorf("reading the state file: %w", err)
	}
	var st watchState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("the state file %s is not doctor's JSON: %w", cfg.StatePath, err)
	}
	if st.JWKSURI != cfg.JWKSURI {
		return nil, fmt.Errorf("%w: %s watches %s, not %s", ErrStateMismatch, cfg.StatePath, st.JWKSURI, cfg.JWKSURI)
	}
	if st.Kids == nil {
		st.Kids = map[string]*kidState{}
	}
	w.state = st
	return w, nil
}

// Close releases idle connections.
func (w *Watcher) Close() { w.close() }

// Run polls at every tick until ctx ends, passing each poll's results to
// report. It returns nil when ctx ends and an error only when the state
// cannot be saved.
func (w *Watcher) Run(ctx context.Context, ticks <-chan time.Time, report func([]Result)) error {
	for {
		results, err := w.Poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		report(results)
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticks:
		}
	}
}

// Poll fetches the JWKS once (and an ID token when it can), applies the
// rotation rules to what changed since the last poll, and saves the state.
func (w *Watcher) Poll(ctx context.Context) ([]Result, error) {
	rec := &recorder{}
	now := w.now()
	st := &w.state
	first := st.Polls == 0
	ks, _, err := fetchJWKS(ctx, w.client, w.cfg.JWKSURI)
	if err != nil {
		if !errors.Is(err, errJWKSUnreachable) {
			err = fmt.Errorf("jwks.parse: %w", err)
		}
		rec.fail("jwks.reachable", "%v", err)
		return rec.results, nil
	}
	current := map[string]bool{}
	for _, k := range ks.keys {
		if k.KeyID != "" && k.Use != "enc" {
			current[k.KeyID] = true
		}
	}
	kids := slices.Sorted(maps.Keys(current))

	if first {
		rec.info("jwks.watch", "watching %s: %s already published (%s)", w.cfg.JWKSURI, plural(len(kids), "key"), quoteList(kids))
	}
	for _, kid := range kids {
		k, known := st.Kids[kid]
		switch {
		case !known:
			k = &kidState{FirstSeen: now, Preexisting: first}
			if !first {
				k.PublishedAfter = st.LastPoll
				rec.info("jwks.watch", "kid %q published (between %s and %s)", kid, stamp(st.LastPoll), stamp(now))
			}
			st.Kids[kid] = k
		case !k.Removed.IsZero():
			rec.info("jwks.watch", "kid %q published again (it was removed at %s)", kid, stamp(k.Removed))
			k.Removed = time.Time{}
		}
		k.LastSeen = now
	}

	for _, kid := range slices.Sorted(maps.Keys(st.Kids)) {
		k := st.Kids[kid]
		if !k.Removed.IsZero() || current[kid] {
			continue
		}
		k.Removed = now
		w.checkRemoval(rec, kid, k, now)
	}

	if w.cfg.IDToken != nil {
		w.observeSigning(ctx, rec, ks, now)
	}

	st.Polls++
	st.LastPoll = now
	if err := w.save(); err != nil {
		return rec.results, err
	}
	if len(rec.results) == 0 {
		rec.pass("jwks.watch", "%s, no change (%s)", plural(len(kids), "key"), quoteList(kids))
	}
	// Events in the order they were seen, not catalogue order.
	return rec.results, nil
}

// checkRemoval applies the rules to a kid that just disappeared.
func (w *Watcher) checkRemoval(rec *recorder, kid string, k *kidState, now time.Time) {
	st := &w.state
	if k.TokensValidUntil.After(now) {
		rec.warn("jwks.rotation_removed_early", "kid %q was removed (between %s and %s) while a token signed by it is valid until %s: validating it now fails with kid_not_found", kid, stamp(st.LastPoll), stamp(now), stamp(k.TokensValidUntil))
		return
	}
	// Was a successor published at least 24 hours before? A remaining kid's
	// age is at most now - PublishedAfter; a preexisting one is old enough.
	remaining, settled := 0, false
	var successor string
	var age time.Duration
	for _, other := range slices.Sorted(maps.Keys(st.Kids)) {
		o := st.Kids[other]
		if other == kid || !o.Removed.IsZero() {
			continue
		}
		remaining++
		if o.Preexisting || now.Sub(o.PublishedAfter) >= rotationOverlap {
			settled = true
		} else if a := now.Sub(o.PublishedAfter); a > age {
			successor, age = other, a
		}
	}
	switch {
	case remaining == 0:
		rec.warn("jwks.rotation_removed_early", "kid %q was removed and the JWKS now has no signing key at all", kid)
	case !settled:
		rec.warn("jwks.rotation_removed_early", "kid %q was removed at most %s after its successor %q was published: less than the 24-hour overlap", kid, age.Round(time.Minute), successor)
	default:
		last := "never seen signing"
		if !k.LastSigned.IsZero() {
			last = "last seen signing at " + stamp(k.LastSigned)
		}
		rec.info("jwks.watch", "kid %q removed (%s); its successor was published more than 24 hours earlier", kid, last)
	}
}

// observeSigning gets an ID token and records which kid signed it.
func (w *Watcher) observeSigning(ctx context.Context, rec *recorder, ks *keySet, now time.Time) {
	raw, err := w.cfg.IDToken(ctx)
	if err != nil {
		rec.warn("jwks.watch", "no ID token this poll, so signing was not observed: %v", err)
		return
	}
	rec.secret(raw)
	p, err := parseIDToken(raw)
	if err != nil {
		rec.fail("jwks.invalid_signature", "invalid_signature: %v", err)
		return
	}
	signedAt := now
	if p.claims.IssuedAt != nil && p.claims.IssuedAt.Time().Before(now) {
		signedAt = p.claims.IssuedAt.Time()
	}
	k := w.state.Kids[p.kid]
	if k == nil || !k.Removed.IsZero() {
		rec.fail("jwks.kid_not_found", "kid_not_found: an ID token issued at %s is signed with kid %q, which is not in the JWKS", stamp(signedAt), p.kid)
		return
	}
	verified := false
	for _, key := range ks.byKid(p.kid) {
		var c idTokenClaims
		if p.tok.Claims(key.Public().Key, &c) == nil {
			verified = true
			break
		}
	}
	if !verified {
		rec.fail("jwks.invalid_signature", "invalid_signature: the ID token signed with kid %q does not verify with the published key", p.kid)
	}
	if k.FirstSigned.IsZero() {
		k.FirstSigned = signedAt
		switch {
		case k.Preexisting:
			rec.info("jwks.watch", "kid %q signs ID tokens (published before watching began)", p.kid)
		case signedAt.Sub(k.PublishedAfter) < rotationOverlap:
			rec.warn("jwks.rotation_early_use", "kid %q signed an ID token at %s, at most %s after it was published (between %s and %s): aggregators whose cached JWKS predates it fail with kid_not_found", p.kid, stamp(signedAt), signedAt.Sub(k.PublishedAfter).Round(time.Minute), stamp(k.PublishedAfter), stamp(k.FirstSeen))
		default:
			rec.info("jwks.watch", "kid %q started signing at least %s after it was published", p.kid, signedAt.Sub(k.FirstSeen).Round(time.Minute))
		}
	}
	k.LastSigned = signedAt
	if p.claims.Expiry != nil && p.claims.Expiry.Time().After(k.TokensValidUntil) {
		k.TokensValidUntil = p.claims.Expiry.Time()
	}
}

// save writes the state atomically: a temporary file renamed over the old.
func (w *Watcher) save() error {
	b, err := json.MarshalIndent(w.state, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the state: %w", err)
	}
	dir := filepath.Dir(w.cfg.StatePath)
	tmp, err := os.CreateTemp(dir, ".doctor-state-*")
	if err != nil {
		return fmt.Errorf("saving the state: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("saving the state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving the state: %w", err)
	}
	if err := os.Rename(tmp.Name(), w.cfg.StatePath); err != nil {
		return fmt.Errorf("saving the state: %w", err)
	}
	return nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "(unknown)"
	}
	return t.UTC().Format(time.RFC3339)
}
