package oauth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/fdxd/fdxd/internal/keys"
	"github.com/fdxd/fdxd/internal/server"
	"github.com/fdxd/fdxd/internal/server/servertest"
)

// headerKid returns the kid and alg of a compact JWS.
func headerKid(t *testing.T, raw string) (kid, alg string) {
	t.Helper()
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.PS256})
	if err != nil {
		t.Fatal(err)
	}
	h := jws.Signatures[0].Header
	return h.KeyID, h.Algorithm
}

func idToken(t *testing.T, s *servertest.Server) string {
	t.Helper()
	raw, _ := tokens(t, s, "openid offline_access")["id_token"].(string)
	if raw == "" {
		t.Fatal("no ID token")
	}
	return raw
}

// TestKeyRotationSeenByGoOIDC drives a rotation with the injected clock and
// verifies ID tokens with go-oidc against the live JWKS throughout: a
// token signed before the rotation keeps verifying, one signed after
// verifies with the new kid, and no kid ever goes missing.
func TestKeyRotationSeenByGoOIDC(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	ctx := oidc.ClientContext(context.Background(), http.DefaultClient)
	provider, err := oidc.NewProvider(ctx, s.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	// A long-lived verifier, as an aggregator keeps one, caching the JWKS.
	cached := provider.Verifier(&oidc.Config{ClientID: servertest.ClientID, Now: s.Clock.Now})
	verifyFresh := func(raw string) error {
		// A verifier with an empty cache, as after a restart.
		ks := oidc.NewRemoteKeySet(ctx, s.Issuer+"/jwks")
		_, err := oidc.NewVerifier(s.Issuer, ks, &oidc.Config{ClientID: servertest.ClientID, Now: s.Clock.Now}).Verify(ctx, raw)
		return err
	}

	before := idToken(t, s)
	k1, alg := headerKid(t, before)
	if alg != "RS256" {
		t.Fatalf("default alg %s; want RS256", alg)
	}
	if _, err := cached.Verify(ctx, before); err != nil {
		t.Fatal(err)
	}

	// 90 days on, the scheduled step rotates.
	s.Clock.Advance(keys.DefaultRotationPeriod - 30*time.Minute)
	lastOld := idToken(t, s)
	s.Clock.Advance(30 * time.Minute)
	if err := s.Server.Keys().Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	after := idToken(t, s)
	k2, _ := headerKid(t, after)
	if k2 == k1 {
		t.Fatal("no rotation after the rotation period")
	}
	if _, err := cached.Verify(ctx, after); err != nil {
		t.Fatalf("cached verifier, token of the new key: %v", err)
	}
	if err := verifyFresh(after); err != nil {
		t.Fatalf("fresh verifier, token of the new key: %v", err)
	}
	// The last token of the old key is still valid for 30 minutes, and its
	// key is still published.
	if err := verifyFresh(lastOld); err != nil {
		t.Fatalf("a valid token signed by the retired key no longer verifies (kid_not_found): %v", err)
	}
	// The new kid had been published 24 h (indeed 90 days) before signing.
	body := jwks(t, s)
	if !strings.Contains(body, k1) || !strings.Contains(body, k2) {
		t.Fatal("JWKS lacks the retired or the active key")
	}
	// After 24 h plus the ID-token lifetime the retired key goes.
	s.Clock.Advance(25*time.Hour + time.Minute)
	if err := s.Server.Keys().Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	if body := jwks(t, s); strings.Contains(body, k1) {
		t.Fatal("retired key still published after 24 h plus the token lifetime")
	}
}

func jwks(t *testing.T, s *servertest.Server) string {
	t.Helper()
	resp, err := http.Get(s.Issuer + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	maxAge := strings.TrimPrefix(resp.Header.Get("Cache-Control"), "public, max-age=")
	secs, err := strconv.Atoi(maxAge)
	if err != nil || time.Duration(secs)*time.Second > keys.PublishLead {
		t.Fatalf("JWKS Cache-Control %q: max-age must not exceed the 24 h overlap", resp.Header.Get("Cache-Control"))
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			t.Fatal("JWKS publishes private key material")
		}
	}
	return string(b)
}

func TestSigningAlgorithms(t *testing.T) {
	for _, alg := range keys.Algorithms {
		t.Run(alg, func(t *testing.T) {
			s := servertest.Start(t, servertest.Options{Configure: func(c *server.Config) { c.SigningAlgorithm = alg }})
			provider, _, ctx := peers(t, s)
			raw := idToken(t, s)
			if _, got := headerKid(t, raw); got != alg {
				t.Fatalf("alg %s; want %s", got, alg)
			}
			v := provider.Verifier(&oidc.Config{ClientID: servertest.ClientID, Now: s.Clock.Now, SupportedSigningAlgs: []string{alg}})
			if _, err := v.Verify(ctx, raw); err != nil {
				t.Fatalf("go-oidc: %v", err)
			}
		})
	}
}

// TestDiscovery checks the documents against what Plaid and OIDC require.
func TestDiscovery(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		resp, err := http.Get(s.Issuer + path)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if m["issuer"] != s.Issuer || m["jwks_uri"] != s.Issuer+"/jwks" || m["authorization_response_iss_parameter_supported"] != true {
			t.Fatalf("%s: %v", path, m)
		}
		want := map[string][]string{
			"scopes_supported":                      {"openid", "offline_access", "profile", "email"},
			"response_types_supported":              {"code"},
			"grant_types_supported":                 {"authorization_code", "refresh_token"},
			"subject_types_supported":               {"public"},
			"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post"},
			"code_challenge_methods_supported":      {"S256"},
		}
		for field, values := range want {
			got, _ := m[field].([]any)
			for _, v := range values {
				found := false
				for _, g := range got {
					found = found || g == v
				}
				if !found {
					t.Errorf("%s %s lacks %s: %v", path, field, v, got)
				}
			}
		}
		for _, f := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "revocation_endpoint",
			"introspection_endpoint", "id_token_signing_alg_values_supported", "claims_supported"} {
			if m[f] == nil {
				t.Errorf("%s lacks %s", path, f)
			}
		}
	}
}
