package replicatest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/fdxd/fdxd/internal/keys"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/server"
	"github.com/fdxd/fdxd/internal/server/servertest"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/postgres"
	"github.com/fdxd/fdxd/internal/store/postgres/pgtest"
)

// Rotation test pacing: short, so the test takes a second, but the bound
// they imply is the one the documentation promises for the defaults
// (KeyCheckInterval 1 min, KeyReloadInterval 15 s).
const (
	testKeyCheckInterval  = 150 * time.Millisecond
	testKeyReloadInterval = 100 * time.Millisecond
)

// startInProcessCluster runs n servers built with server.New on one
// database, each with a store (a connection pool) of its own, one shared
// injected clock and one key-encryption key, behind the load balancer.
func startInProcessCluster(t *testing.T, clock *servertest.Clock, n int) (*cluster, []*server.Server) {
	t.Helper()
	dbURL := pgtest.NewDatabase(t)
	c := &cluster{t: t, dbURL: dbURL, lb: startLoadBalancer(t)}
	sealer, err := secret.NewSealer(secret.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	servers := make([]*server.Server, n)
	for i := range n {
		st, err := postgres.Open(t.Context(), dbURL, postgres.Options{MaxConns: 4})
		if err != nil {
			t.Fatalf("replica %c: open store: %v", 'A'+i, err)
		}
		t.Cleanup(func() { st.Close() })
		r := &replica{name: string(rune('A' + i)), logs: &servertest.SyncBuffer{}}
		servers[i], err = server.New(t.Context(), server.Config{
			Issuer: c.lb.url, Store: st, Sealer: sealer, Now: clock.Now,
			Logger:            observe.NewLogger(r.logs, nil),
			PasswordParams:    servertest.TestPasswordParams,
			KeyCheckInterval:  testKeyCheckInterval,
			KeyReloadInterval: testKeyReloadInterval,
		})
		if err != nil {
			t.Fatalf("replica %c: %v", 'A'+i, err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		r.url = "http://" + l.Addr().String()
		ctx, stop := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- servers[i].Serve(ctx, server.Listeners{Public: l}, 5*time.Second) }()
		t.Cleanup(func() {
			stop()
			if err := <-served; err != nil {
				t.Errorf("replica %c: serve: %v", 'A'+i, err)
			}
		})
		c.replicas = append(c.replicas, r)
		c.lb.add(r.url)
	}
	t.Cleanup(c.lb.transport.CloseIdleConnections)
	st, err := postgres.Open(t.Context(), dbURL, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c.store = st
	c.seed()
	return c, servers
}

// jwksOf fetches replica r's JWKS.
func jwksOf(t *testing.T, r *replica) []byte {
	t.Helper()
	resp, err := http.Get(r.url + "/jwks")
	if err != nil {
		t.Fatalf("JWKS of replica %s: %v", r.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("JWKS of replica %s: %d %v", r.name, resp.StatusCode, err)
	}
	return body
}

// kids lists the key IDs of a JWKS.
func kids(t *testing.T, body []byte) []string {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("JWKS does not parse: %v", err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

// sameJWKS reports whether every replica serves byte-identical JWKS, and
// returns it.
func sameJWKS(t *testing.T, c *cluster) ([]byte, bool) {
	t.Helper()
	first := jwksOf(t, c.replicas[0])
	for _, r := range c.replicas[1:] {
		if !bytes.Equal(jwksOf(t, r), first) {
			return first, false
		}
	}
	return first, true
}

func signingKeys(t *testing.T, st store.Store) (active, next, retired []string) {
	t.Helper()
	ks, err := st.ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks {
		switch k.State {
		case store.KeyActive:
			active = append(active, k.ID)
		case store.KeyNext:
			next = append(next, k.ID)
		case store.KeyRetired:
			retired = append(retired, k.ID)
		}
	}
	return active, next, retired
}

// TestRotationSeenByEveryReplica requests a rotation on replica A, moves
// the shared clock across the 24 h publication lead, and checks that the
// rotation happens exactly once (whichever replica's schedule gets the
// database lock first) and that every replica publishes the same JWKS and
// signs with the new key within KeyCheckInterval + KeyReloadInterval. ID
// tokens minted on each replica then verify against every replica's JWKS.
func TestRotationSeenByEveryReplica(t *testing.T) {
	clock := servertest.NewClock(time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC))
	c, servers := startInProcessCluster(t, clock, 3)
	ctx := t.Context()

	active, next, _ := signingKeys(t, c.store)
	if len(active) != 1 || len(next) != 1 {
		t.Fatalf("after three replicas started together: active %v, next %v; want one of each", active, next)
	}
	oldKid, newKid := active[0], next[0]
	before, same := sameJWKS(t, c)
	if !same {
		t.Fatal("the replicas publish different JWKS after starting")
	}
	if got := kids(t, before); len(got) != 2 {
		t.Fatalf("JWKS kids %v; want the active and the next key", got)
	}

	// An hour later an operator asks replica A for a rotation. (Not at the
	// very instant the first key was made: RequestRotation takes a key
	// activated at the request's instant for one it just rotated in.)
	clock.Advance(time.Hour)
	at, err := servers[replicaA].Keys().RequestRotation(ctx)
	if err != nil {
		t.Fatalf("request rotation on A: %v", err)
	}
	if want := clock.Now().Add(keys.PublishLead - time.Hour); !at.Equal(want) {
		t.Fatalf("rotation requested on A happens at %v; want %v (the next key's publication + 24 h)", at, want)
	}

	// Just short of the lead nothing may change, however often the
	// schedules run.
	clock.Advance(at.Sub(clock.Now()) - time.Minute)
	for i, s := range servers {
		if err := s.Keys().Step(ctx); err != nil {
			t.Fatalf("replica %c: step: %v", 'A'+i, err)
		}
		if kid, _, _ := s.Keys().Active(); kid != oldKid {
			t.Fatalf("replica %c signs with %s before the publication lead; want %s", 'A'+i, kid, oldKid)
		}
	}

	// Across the lead: every replica's schedule races for the rotation.
	clock.Advance(time.Minute)
	began := time.Now()
	bound := testKeyCheckInterval + testKeyReloadInterval
	var converged time.Duration
	for {
		body, same := sameJWKS(t, c)
		allNew := true
		for _, s := range servers {
			kid, _, _ := s.Keys().Active()
			allNew = allNew && kid == newKid
		}
		if same && allNew && !bytes.Equal(body, before) {
			converged = time.Since(began)
			break
		}
		if time.Since(began) > bound+5*time.Second {
			t.Fatalf("after %v the replicas have not all rotated to %s with one JWKS", time.Since(began), newKid)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("every replica signs with the new key and publishes the same JWKS %v after the lead passed (bound %v)", converged, bound)
	// One second of slack for a loaded two-core machine.
	if converged > bound+time.Second {
		t.Errorf("replicas converged after %v; want within KeyCheckInterval + KeyReloadInterval = %v", converged, bound)
	}

	active, next, retired := signingKeys(t, c.store)
	if len(active) != 1 || active[0] != newKid || len(retired) != 1 || retired[0] != oldKid || len(next) != 1 {
		t.Fatalf("after the rotation: active %v, retired %v, next %v; want [%s], [%s] and one new next key",
			active, retired, next, newKid, oldKid)
	}
	rotations := 0
	for _, r := range c.replicas {
		rotations += strings.Count(r.logs.String(), `"event":"keys.rotated"`)
	}
	if rotations != 1 {
		t.Fatalf("%d replicas logged keys.rotated; want exactly one rotation", rotations)
	}
	published := kids(t, jwksOf(t, c.replicas[replicaB]))
	for _, kid := range []string{oldKid, newKid, next[0]} {
		if !strings.Contains(strings.Join(published, " "), kid) {
			t.Errorf("JWKS %v lacks %s: the retired, active and next keys all stay published", published, kid)
		}
	}

	// An ID token minted on each replica carries the new kid and verifies
	// against every replica's JWKS.
	provider, err := oidc.NewProvider(onReplica(ctx, replicaA), c.lb.url)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauthConfig(provider)
	for i := range c.replicas {
		res := c.signIn(t, conf.AuthCodeURL("st-rot"), func(*http.Request) int { return i })
		if res.Code() == "" {
			t.Fatalf("sign-in on replica %c: status %d, page:\n%s", 'A'+i, res.StatusCode, res.Page)
		}
		tok, err := conf.Exchange(onReplica(ctx, i), res.Code())
		if err != nil {
			t.Fatalf("exchange on replica %c: %v", 'A'+i, err)
		}
		raw, _ := tok.Extra("id_token").(string)
		if kid := headerKid(t, raw); kid != newKid {
			t.Errorf("ID token from replica %c has kid %s; want %s", 'A'+i, kid, newKid)
		}
		for _, r := range c.replicas {
			v := oidc.NewVerifier(c.lb.url, oidc.NewRemoteKeySet(ctx, r.url+"/jwks"), &oidc.Config{ClientID: clientID, Now: clock.Now})
			if _, err := v.Verify(ctx, raw); err != nil {
				t.Errorf("ID token from replica %c against replica %s's JWKS: %v", 'A'+i, r.name, err)
			}
		}
	}
}

func headerKid(t *testing.T, raw string) string {
	t.Helper()
	sig, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.PS256})
	if err != nil || len(sig.Signatures) != 1 {
		t.Fatalf("ID token does not parse: %v", err)
	}
	return sig.Signatures[0].Header.KeyID
}

var signsAt = regexp.MustCompile(`starts signing at (\S+?);`)

// TestKeysRotateCommandWithRunningReplicas runs `fdxd keys rotate` against
// the database of three running fdxd processes: it reports when the
// rotation will happen (the next key's publication plus 24 h, as `keys
// list` shows), and the three keep publishing one unchanged JWKS until
// then.
func TestKeysRotateCommandWithRunningReplicas(t *testing.T) {
	c := startCluster(t, clusterOptions{})
	before, same := sameJWKS(t, c)
	if !same {
		t.Fatal("the replicas publish different JWKS after starting")
	}

	out := c.fdxd("keys", "rotate", "--db", c.dbURL)
	m := signsAt.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("fdxd keys rotate printed:\n%s\nwant when the rotation will happen", out)
	}
	at, err := time.Parse(time.RFC3339, m[1])
	if err != nil {
		t.Fatalf("fdxd keys rotate: time %q: %v", m[1], err)
	}
	var list []keys.KeyInfo
	if err := json.Unmarshal([]byte(c.fdxd("keys", "list", "--json", "--db", c.dbURL)), &list); err != nil {
		t.Fatalf("fdxd keys list --json: %v", err)
	}
	var nextInfo *keys.KeyInfo
	for i := range list {
		if list[i].State == string(store.KeyNext) {
			nextInfo = &list[i]
		}
	}
	if nextInfo == nil {
		t.Fatalf("fdxd keys list shows no next key: %+v", list)
	}
	// keys rotate prints whole seconds.
	if want := nextInfo.PublishedAt.Add(keys.PublishLead).Truncate(time.Second); !at.Equal(want) {
		t.Errorf("fdxd keys rotate says the rotation happens at %v; want %v (the next key's publication + 24 h)", at, want)
	}
	if !at.After(time.Now()) {
		t.Errorf("rotation time %v is not in the future: the next key was published just now", at)
	}
	requested, err := c.store.GetSetting(t.Context(), "keys.rotate_requested_at")
	if err != nil || requested == "" {
		t.Errorf("the rotation request is not in the database for every replica to see: %q %v", requested, err)
	}

	after, same := sameJWKS(t, c)
	if !same {
		t.Fatal("after fdxd keys rotate the replicas publish different JWKS")
	}
	if !bytes.Equal(after, before) {
		t.Errorf("the JWKS changed before the rotation is due:\nbefore %s\nafter  %s", before, after)
	}
}
