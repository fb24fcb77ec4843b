package keys

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/sqlite"
)

// clock is a test clock shared by managers.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

const idTokenTTL = time.Hour

func newManager(t *testing.T, s store.Store, clk *clock, sealer *secret.Sealer, alg string) *Manager {
	t.Helper()
	m, err := New(Config{Keys: s, Settings: s, Sealer: sealer, Algorithm: alg, SignedTokenLifetime: idTokenTTL,
		Now: clk.Now, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func setup(t *testing.T) (store.Store, *clock, *secret.Sealer) {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "fdxd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	sealer, err := secret.NewSealer(secret.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return s, &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, sealer
}

func step(t *testing.T, m *Manager) {
	t.Helper()
	if err := m.Step(t.Context()); err != nil {
		t.Fatalf("Step: %v", err)
	}
}

func jwksKids(t *testing.T, m *Manager) []string {
	t.Helper()
	body, _ := m.JWKS()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("JWKS does not parse: %v", err)
	}
	var kids []string
	for _, k := range set.Keys {
		if !k.IsPublic() {
			t.Fatalf("JWKS holds private key material for %s", k.KeyID)
		}
		kids = append(kids, k.KeyID)
	}
	return kids
}

// signedKid signs a payload and verifies it against the published JWKS,
// returning the kid that signed.
func signedKid(t *testing.T, m *Manager) string {
	t.Helper()
	tok, err := m.Sign([]byte(`{"sub":"x"}`))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.PS256})
	if err != nil {
		t.Fatalf("parse signed: %v", err)
	}
	kid := jws.Signatures[0].Header.KeyID
	body, _ := m.JWKS()
	var set jose.JSONWebKeySet
	json.Unmarshal(body, &set)
	ks := set.Key(kid)
	if len(ks) != 1 {
		t.Fatalf("kid %s of a fresh signature is not in the JWKS (kid_not_found)", kid)
	}
	if _, err := jws.Verify(ks[0]); err != nil {
		t.Fatalf("signature does not verify with the published key (invalid_signature): %v", err)
	}
	if typ, _ := jws.Signatures[0].Header.ExtraHeaders["typ"].(string); typ != "JWT" {
		t.Fatalf("typ header = %q; want JWT", typ)
	}
	return kid
}

func TestFirstStartThenScheduledRotation(t *testing.T) {
	s, clk, sealer := setup(t)
	m := newManager(t, s, clk, sealer, "RS256")
	if _, err := m.Sign([]byte("{}")); err == nil {
		t.Fatal("Sign before Step succeeded")
	}
	step(t, m)
	k1 := signedKid(t, m)
	if kids := jwksKids(t, m); len(kids) != 2 {
		t.Fatalf("JWKS after first start = %v; want the active key and a published next key", kids)
	}
	var k2 string
	for _, k := range m.List() {
		if k.State == "next" {
			k2 = k.ID
			if !k.SignsFrom.Equal(k.PublishedAt.Add(24 * time.Hour)) {
				t.Fatalf("next key signs from %v; want published + 24h", k.SignsFrom)
			}
		}
	}

	clk.Advance(DefaultRotationPeriod - time.Second)
	step(t, m)
	if got := signedKid(t, m); got != k1 {
		t.Fatalf("rotated before the period ended: signing with %s", got)
	}

	clk.Advance(time.Second)
	step(t, m)
	if got := signedKid(t, m); got != k2 {
		t.Fatalf("after the rotation period the signer is %s; want the next key %s", got, k2)
	}
	kids := jwksKids(t, m)
	if len(kids) != 3 || !strings.Contains(strings.Join(kids, " "), k1) {
		t.Fatalf("JWKS after rotation = %v; want retired, active and a new next key", kids)
	}

	// The retired key stays for 24 h plus the ID-token lifetime after it
	// last signed, then goes.
	clk.Advance(PublishLead + idTokenTTL - time.Second)
	step(t, m)
	if !m.Published(k1) {
		t.Fatal("retired key removed before 24 h + token lifetime")
	}
	clk.Advance(time.Second)
	step(t, m)
	if m.Published(k1) {
		t.Fatal("retired key still published after 24 h + token lifetime")
	}
}

func TestRequestedRotationWaitsForPublicationLead(t *testing.T) {
	s, clk, sealer := setup(t)
	m := newManager(t, s, clk, sealer, "RS256")
	step(t, m)
	k1 := signedKid(t, m)

	// Asked one hour after start: the next key was published one hour ago,
	// so it may sign only 23 h from now.
	clk.Advance(time.Hour)
	at, err := m.RequestRotation(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().Add(23 * time.Hour); !at.Equal(want) {
		t.Fatalf("RequestRotation says %v; want %v", at, want)
	}
	if got := signedKid(t, m); got != k1 {
		t.Fatal("a requested rotation promoted a key published less than 24 h ago")
	}
	clk.Advance(23*time.Hour - time.Second)
	step(t, m)
	if got := signedKid(t, m); got != k1 {
		t.Fatal("rotated one second early")
	}
	clk.Advance(time.Second)
	step(t, m)
	k2 := signedKid(t, m)
	if k2 == k1 {
		t.Fatal("requested rotation did not happen once the next key was eligible")
	}
	// The request is spent: later steps do not rotate again.
	clk.Advance(48 * time.Hour)
	step(t, m)
	if got := signedKid(t, m); got != k2 {
		t.Fatal("one rotation request rotated twice")
	}

	// A request once the next key is eligible rotates at once.
	at, err = m.RequestRotation(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !at.Equal(clk.Now()) || signedKid(t, m) == k2 {
		t.Fatalf("RequestRotation with an eligible next key: at %v, want now and a new signer", at)
	}
}

// TestRotationInvariantsOverTwoYears drives the schedule with a 30-day
// period and checks, every six hours, the guide's two rules from a
// verifier's side: a signing kid was published 24 h before it signed, and a
// kid that signed a still-valid token (plus a 24 h cache) is published.
func TestRotationInvariantsOverTwoYears(t *testing.T) {
	s, clk, sealer := setup(t)
	m, err := New(Config{Keys: s, Settings: s, Sealer: sealer, RotationPeriod: 30 * 24 * time.Hour,
		SignedTokenLifetime: idTokenTTL, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	step(t, m)
	firstSeen := map[string]time.Time{}
	lastSigned := map[string]time.Time{}
	rotations := 0
	for range 4 * 730 {
		step(t, m)
		now := clk.Now()
		for _, kid := range jwksKids(t, m) {
			if _, ok := firstSeen[kid]; !ok {
				firstSeen[kid] = now
			}
		}
		kid := signedKid(t, m)
		if _, signedBefore := lastSigned[kid]; !signedBefore && len(lastSigned) > 0 {
			rotations++
			if now.Sub(firstSeen[kid]) < PublishLead {
				t.Fatalf("%v: kid %s signs %v after it was first published; want ≥ 24 h", now, kid, now.Sub(firstSeen[kid]))
			}
		}
		lastSigned[kid] = now
		for old, at := range lastSigned {
			if now.Sub(at) < PublishLead+idTokenTTL && !m.Published(old) {
				t.Fatalf("%v: kid %s signed at %v and is no longer published", now, old, at)
			}
		}
		clk.Advance(6 * time.Hour)
	}
	if rotations < 20 {
		t.Fatalf("%d rotations in two years with a 30-day period; want at least 20", rotations)
	}
	if n := len(jwksKids(t, m)); n > 3 {
		t.Fatalf("JWKS holds %d keys; retired keys are not being removed", n)
	}
}

func TestReplicasShareOneRotation(t *testing.T) {
	s, clk, sealer := setup(t)
	a := newManager(t, s, clk, sealer, "RS256")
	b := newManager(t, s, clk, sealer, "RS256")
	var wg sync.WaitGroup
	wg.Go(func() { step(t, a) })
	wg.Go(func() { step(t, b) })
	wg.Wait()
	if err := a.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ka, kb := jwksKids(t, a), jwksKids(t, b); len(ka) != 2 || strings.Join(ka, ",") != strings.Join(kb, ",") {
		t.Fatalf("replicas publish %v and %v; want the same two keys", ka, kb)
	}
	clk.Advance(DefaultRotationPeriod)
	wg.Go(func() { step(t, a) })
	wg.Go(func() { step(t, b) })
	wg.Wait()
	a.Reload(t.Context())
	b.Reload(t.Context())
	if ka, kb := jwksKids(t, a), jwksKids(t, b); len(ka) != 3 || strings.Join(ka, ",") != strings.Join(kb, ",") {
		t.Fatalf("after a shared rotation replicas publish %v and %v; want the same three keys", ka, kb)
	}
	if signedKid(t, a) != signedKid(t, b) {
		t.Fatal("replicas sign with different keys after reloading")
	}
}

func TestAlgorithmsAndChange(t *testing.T) {
	for _, alg := range Algorithms {
		t.Run(alg, func(t *testing.T) {
			s, clk, sealer := setup(t)
			m := newManager(t, s, clk, sealer, alg)
			step(t, m)
			signedKid(t, m)
			if _, got, _ := m.Active(); got != alg {
				t.Fatalf("active algorithm = %s; want %s", got, alg)
			}
		})
	}

	// Switching RS256 → ES256: the unused next key is replaced, and the
	// rotation after 24 h signs with ES256.
	s, clk, sealer := setup(t)
	rs := newManager(t, s, clk, sealer, "RS256")
	step(t, rs)
	clk.Advance(time.Hour)
	es := newManager(t, s, clk, sealer, "ES256")
	step(t, es)
	if _, alg, _ := es.Active(); alg != "RS256" {
		t.Fatalf("algorithm change switched the signer at once to %s", alg)
	}
	if _, err := es.RequestRotation(t.Context()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(PublishLead)
	step(t, es)
	if _, alg, _ := es.Active(); alg != "ES256" {
		t.Fatalf("after the lead the signer is %s; want ES256", alg)
	}
}

func TestPrivateKeysAreSealedAtRest(t *testing.T) {
	s, clk, sealer := setup(t)
	m := newManager(t, s, clk, sealer, "RS256")
	step(t, m)
	keys, err := s.ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		// PKCS#8 DER starts with a SEQUENCE header; a sealed key starts with
		// a random nonce and must not parse as a key.
		if _, err := x509.ParsePKCS8PrivateKey(k.PrivateKeyCiphertext); err == nil {
			t.Fatalf("key %s is stored as plain DER", k.ID)
		}
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(k.PublicJWK); err != nil || !jwk.IsPublic() {
			t.Fatalf("stored public JWK of %s: %v, public=%v", k.ID, err, jwk.IsPublic())
		}
	}
	// Another key-encryption key cannot load them.
	other, _ := secret.NewSealer(secret.NewKey())
	m2 := newManager(t, s, clk, other, "RS256")
	if err := m2.Reload(context.Background()); err == nil {
		t.Fatal("keys loaded under the wrong key-encryption key")
	}
}

func TestKidIsRFC7638Thumbprint(t *testing.T) {
	s, clk, sealer := setup(t)
	m := newManager(t, s, clk, sealer, "ES256")
	step(t, m)
	body, _ := m.JWKS()
	var set jose.JSONWebKeySet
	json.Unmarshal(body, &set)
	for _, k := range set.Keys {
		if err := VerifyOwnJWKS(body, k.KeyID); err != nil {
			t.Fatal(err)
		}
		if k.Use != "sig" || k.Algorithm != "ES256" {
			t.Fatalf("JWK use/alg = %q/%q; want sig/ES256", k.Use, k.Algorithm)
		}
	}
	if err := VerifyOwnJWKS(body, "not-a-kid"); err == nil || !strings.Contains(err.Error(), "kid_not_found") {
		t.Fatalf("VerifyOwnJWKS(unknown) = %v; want kid_not_found", err)
	}
}

func TestConfigValidation(t *testing.T) {
	s, clk, sealer := setup(t)
	bad := []Config{
		{Keys: s, Settings: s, Sealer: sealer, Algorithm: "HS256", SignedTokenLifetime: time.Hour, Now: clk.Now},
		{Keys: s, Settings: s, Sealer: sealer, RotationPeriod: time.Hour, SignedTokenLifetime: time.Hour, Now: clk.Now},
		{Keys: s, Settings: s, Sealer: sealer},
		{SignedTokenLifetime: time.Hour},
	}
	for i, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
}

// TestRecoversWhenOnlyRetiredKeysRemain: an operator deleted the active and
// next keys; the manager signs again rather than failing every sign-in.
func TestRecoversWhenOnlyRetiredKeysRemain(t *testing.T) {
	s, clk, sealer := setup(t)
	m := newManager(t, s, clk, sealer, "RS256")
	step(t, m)
	clk.Advance(DefaultRotationPeriod)
	step(t, m)
	if err := s.UpdateSigningKeys(t.Context(), func(keys []store.SigningKey) ([]store.SigningKey, error) {
		var retired []store.SigningKey
		for _, k := range keys {
			if k.State == store.KeyRetired {
				retired = append(retired, k)
			}
		}
		return retired, nil
	}); err != nil {
		t.Fatal(err)
	}
	step(t, m)
	kid := signedKid(t, m)
	if !m.Published(kid) || len(jwksKids(t, m)) != 3 {
		t.Fatalf("after recovery: signer %s, JWKS %v; want a new active key, a next key and the retired one", kid, jwksKids(t, m))
	}
}
