package doctor

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// signingAlgs are the JWS algorithms an aggregator can verify ID tokens with:
// asymmetric only (a shared secret would have to be the client secret, and
// "none" is no signature).
var signingAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// keySet is a parsed JWKS.
type keySet struct {
	keys    []jose.JSONWebKey
	invalid []string // descriptions of keys that did not parse
}

func (ks *keySet) kids() []string {
	var out []string
	for _, k := range ks.keys {
		out = append(out, k.KeyID)
	}
	return out
}

func (ks *keySet) byKid(kid string) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range ks.keys {
		if k.KeyID == kid && k.Use != "enc" {
			out = append(out, k)
		}
	}
	return out
}

// errJWKSUnreachable marks a JWKS that could not be fetched.
var errJWKSUnreachable = errors.New("jwks_uri_unreachable")

// fetchJWKS gets and parses the JWKS at rawURL.
func fetchJWKS(ctx context.Context, c *httpClient, rawURL string) (*keySet, *response, error) {
	u, err := url.Parse(rawURL)
	if err != nil || !u.IsAbs() {
		return nil, nil, fmt.Errorf("%w: jwks_uri %q is not an absolute URL", errJWKSUnreachable, rawURL)
	}
	if err := c.policy.checkURL(u); err != nil {
		return nil, nil, fmt.Errorf("%w: %v; aggregators fetch the JWKS over HTTPS only", errJWKSUnreachable, err)
	}
	resp, err := c.get(ctx, rawURL, http.Header{"Accept": {"application/jwk-set+json, application/json"}})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errJWKSUnreachable, err)
	}
	if resp.status != http.StatusOK {
		return nil, resp, fmt.Errorf("%w: %s: %s", errJWKSUnreachable, resp.summary(), snippet(resp.body, 120))
	}
	ks, err := parseJWKS(resp.body)
	return ks, resp, err
}

// parseJWKS reads a JWKS key by key, so one unreadable key is reported
// without hiding the others.
func parseJWKS(body []byte) (*keySet, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %v", err)
	}
	if raw.Keys == nil {
		return nil, errors.New(`no "keys" array`)
	}
	ks := &keySet{}
	for i, k := range raw.Keys {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(k); err != nil {
			var hdr struct {
				Kid string `json:"kid"`
				Kty string `json:"kty"`
			}
			_ = json.Unmarshal(k, &hdr)
			ks.invalid = append(ks.invalid, fmt.Sprintf("key %d (kid %q, kty %q): %v", i, hdr.Kid, hdr.Kty, err))
			continue
		}
		ks.keys = append(ks.keys, key)
	}
	return ks, nil
}

func (r *run) checkJWKS(ctx context.Context) {
	ids := []string{"jwks.reachable", "jwks.parse", "jwks.unique_kids", "jwks.private_material", "jwks.algorithms"}
	if r.ep.jwks == "" {
		for _, id := range ids {
			r.rec.skip(id, "no jwks_uri (see discovery.endpoints)")
		}
		return
	}
	ks, resp, err := fetchJWKS(ctx, r.client, r.ep.jwks)
	if ks == nil {
		if errors.Is(err, errJWKSUnreachable) {
			r.rec.fail("jwks.reachable", "%v", err)
			for _, id := range ids[1:] {
				r.rec.skip(id, "no JWKS (see jwks.reachable)")
			}
		} else {
			r.rec.pass("jwks.reachable", "%s", resp.summary())
			r.rec.fail("jwks.parse", "%v: %s", err, snippet(resp.body, 120))
			for _, id := range ids[2:] {
				r.rec.skip(id, "no JWKS (see jwks.parse)")
			}
		}
		return
	}
	note := ""
	if resp.url.Scheme == "http" {
		note = " (http allowed for a loopback host by --insecure-loopback)"
	}
	r.rec.pass("jwks.reachable", "%s%s", resp.summary(), note)
	r.jwks = ks

	switch {
	case len(ks.invalid) > 0:
		r.rec.fail("jwks.parse", "%d of %d keys do not parse: %s", len(ks.invalid), len(ks.invalid)+len(ks.keys), strings.Join(ks.invalid, "; "))
	case len(ks.keys) == 0:
		r.rec.fail("jwks.parse", "the JWKS has no keys")
	default:
		r.rec.pass("jwks.parse", "%s: %s", plural(len(ks.keys), "key"), quoteList(ks.kids()))
	}

	var noKid int
	count := map[string]int{}
	for _, k := range ks.keys {
		if k.KeyID == "" {
			noKid++
			continue
		}
		count[k.KeyID+"\x00"+k.Use]++
	}
	var dups []string
	for key, n := range count {
		if n > 1 {
			dups = append(dups, fmt.Sprintf("%q ×%d", strings.Split(key, "\x00")[0], n))
		}
	}
	slices.Sort(dups)
	switch {
	case len(dups) > 0:
		r.rec.fail("jwks.unique_kids", "duplicate kids: %s", strings.Join(dups, ", "))
	case noKid > 0 && len(ks.keys) > 1:
		r.rec.fail("jwks.unique_kids", "%d of %d keys have no kid: a token's kid cannot select among them", noKid, len(ks.keys))
	case noKid > 0:
		r.rec.warn("jwks.unique_kids", "the only key has no kid; tokens cannot name it and the next rotation will break validation")
	case len(ks.keys) > 0:
		r.rec.pass("jwks.unique_kids", "%s, every kid unique", plural(len(ks.keys), "key"))
	default:
		r.rec.skip("jwks.unique_kids", "no keys")
	}

	var private []string
	for _, k := range ks.keys {
		if !k.IsPublic() {
			private = append(private, fmt.Sprintf("%q (%s)", k.KeyID, keyKind(k)))
		}
	}
	if len(private) > 0 {
		r.rec.fail("jwks.private_material", "private or symmetric key material published: %s", strings.Join(private, ", "))
	} else if len(ks.keys) > 0 {
		r.rec.pass("jwks.private_material", "public keys only")
	} else {
		r.rec.skip("jwks.private_material", "no keys")
	}

	var usable, bad []string
	for _, k := range ks.keys {
		if k.Use == "enc" {
			continue
		}
		desc := fmt.Sprintf("%q %s", k.KeyID, keyKind(k))
		if k.Algorithm != "" {
			desc += " " + k.Algorithm
		}
		if problem := keyProblem(k); problem != "" {
			bad = append(bad, desc+": "+problem)
		} else {
			usable = append(usable, desc)
		}
	}
	switch {
	case len(bad) > 0:
		r.rec.fail("jwks.algorithms", "%s", strings.Join(bad, "; "))
	case len(usable) > 0:
		r.rec.pass("jwks.algorithms", "%s", strings.Join(usable, ", "))
	default:
		r.rec.skip("jwks.algorithms", "no signing keys")
	}
}

func keyKind(k jose.JSONWebKey) string {
	switch key := k.Key.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", key.N.BitLen())
	case *rsa.PrivateKey:
		return fmt.Sprintf("RSA %d private", key.N.BitLen())
	case *ecdsa.PublicKey:
		return "EC " + key.Curve.Params().Name
	case *ecdsa.PrivateKey:
		return "EC " + key.Curve.Params().Name + " private"
	case ed25519.PublicKey:
		return "Ed25519"
	case ed25519.PrivateKey:
		return "Ed25519 private"
	case []byte:
		return "oct (symmetric)"
	default:
		return fmt.Sprintf("%T", k.Key)
	}
}

// keyProblem says why k cannot verify ID tokens safely, or "".
func keyProblem(k jose.JSONWebKey) string {
	if k.Algorithm != "" && !slices.Contains(signingAlgs, jose.SignatureAlgorithm(k.Algorithm)) {
		return fmt.Sprintf("alg %s is not an asymmetric signature algorithm", k.Algorithm)
	}
	switch key := k.Key.(type) {
	case *rsa.PublicKey:
		if key.N.BitLen() < 2048 {
			return fmt.Sprintf("RSA key of %d bits (at least 2048 needed)", key.N.BitLen())
		}
	case *rsa.PrivateKey:
		if key.N.BitLen() < 2048 {
			return fmt.Sprintf("RSA key of %d bits (at least 2048 needed)", key.N.BitLen())
		}
	case []byte:
		return "symmetric key: aggregators cannot verify with it"
	}
	return ""
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// idTokenClaims are the claims doctor checks.
type idTokenClaims struct {
	Issuer   string           `json:"iss"`
	Subject  string           `json:"sub"`
	Audience jwt.Audience     `json:"aud"`
	Expiry   *jwt.NumericDate `json:"exp"`
	IssuedAt *jwt.NumericDate `json:"iat"`
	Nonce    string           `json:"nonce"`
	AZP      string           `json:"azp"`
}

// parsedIDToken is an ID token read without trusting it yet.
type parsedIDToken struct {
	tok    *jwt.JSONWebToken
	kid    string
	alg    string
	claims idTokenClaims
}

func parseIDToken(raw string) (*parsedIDToken, error) {
	tok, err := jwt.ParseSigned(raw, signingAlgs)
	if err != nil {
		alg := ""
		if hdr, herr := jwtHeader(raw); herr == nil {
			alg = hdr.Alg
		}
		if alg != "" && !slices.Contains(signingAlgs, jose.SignatureAlgorithm(alg)) {
			return nil, fmt.Errorf("the ID token is signed with alg %q, which an aggregator cannot verify with a published key", alg)
		}
		return nil, fmt.Errorf("the ID token is not a signed JWT: %v", err)
	}
	p := &parsedIDToken{tok: tok, kid: tok.Headers[0].KeyID, alg: tok.Headers[0].Algorithm}
	if err := tok.UnsafeClaimsWithoutVerification(&p.claims); err != nil {
		return nil, fmt.Errorf("the ID token's claims do not parse: %v", err)
	}
	return p, nil
}

type joseHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

func jwtHeader(raw string) (joseHeader, error) {
	var h joseHeader
	part, _, ok := strings.Cut(raw, ".")
	if !ok {
		return h, errors.New("not a JWT")
	}
	b, err := base64URLDecode(part)
	if err != nil {
		return h, err
	}
	return h, json.Unmarshal(b, &h)
}

// checkIDTokenSignature records jwks.kid_not_found and jwks.invalid_signature
// for an ID token, fetching the JWKS again before calling a kid missing, as
// an aggregator whose cache misses would.
func (r *run) checkIDTokenSignature(ctx context.Context, raw string) {
	if raw == "" {
		r.rec.skip("jwks.kid_not_found", "no ID token (see token.id_token)")
		r.rec.skip("jwks.invalid_signature", "no ID token (see token.id_token)")
		return
	}
	if r.jwks == nil || len(r.jwks.keys) == 0 {
		r.rec.skip("jwks.kid_not_found", "no usable JWKS (see jwks.reachable, jwks.parse)")
		r.rec.skip("jwks.invalid_signature", "no usable JWKS (see jwks.reachable, jwks.parse)")
		return
	}
	p, err := parseIDToken(raw)
	if err != nil {
		r.rec.skip("jwks.kid_not_found", "the ID token does not parse")
		r.rec.fail("jwks.invalid_signature", "invalid_signature: %v", err)
		return
	}
	candidates := r.jwks.byKid(p.kid)
	if len(candidates) == 0 && p.kid != "" {
		// A key published after doctor's first fetch is not missing.
		if fresh, _, err := fetchJWKS(ctx, r.client, r.ep.jwks); err == nil {
			candidates = fresh.byKid(p.kid)
		}
	}
	switch {
	case p.kid == "" && len(r.jwks.keys) == 1:
		candidates = r.jwks.keys
		r.rec.warn("jwks.kid_not_found", "the ID token header has no kid; the JWKS has one key, so it verifies today, but the next rotation will break validation")
	case p.kid == "":
		r.rec.fail("jwks.kid_not_found", "kid_not_found: the ID token header has no kid and the JWKS has %d keys (%s)", len(r.jwks.keys), quoteList(r.jwks.kids()))
	case len(candidates) == 0:
		r.rec.fail("jwks.kid_not_found", "kid_not_found: the ID token's kid %q is not in the JWKS (published: %s), not even on a second fetch", p.kid, quoteList(r.jwks.kids()))
	default:
		r.rec.pass("jwks.kid_not_found", "kid %q (alg %s) is published", p.kid, p.alg)
	}
	if len(candidates) == 0 {
		r.rec.skip("jwks.invalid_signature", "no published key to verify with (see jwks.kid_not_found)")
		return
	}
	var lastErr error
	for _, k := range candidates {
		var c idTokenClaims
		if err := p.tok.Claims(k.Public().Key, &c); err == nil {
			r.rec.pass("jwks.invalid_signature", "the ID token's %s signature verifies with key %q", p.alg, k.KeyID)
			return
		} else {
			lastErr = err
		}
	}
	r.rec.fail("jwks.invalid_signature", "invalid_signature: the %s signature does not verify with the key published as %q: %v", p.alg, p.kid, lastErr)
}
