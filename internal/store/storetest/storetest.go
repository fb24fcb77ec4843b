// Package storetest is the conformance suite every store.Store backend must
// pass. A backend's own test calls Run with a function that opens a fresh,
// empty, migrated store for each subtest.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/store"
)

// NewStore opens a fresh, empty, migrated store. It registers its own
// cleanup with t.
type NewStore func(t *testing.T) store.Store

// Run runs every conformance test against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"Clients", testClients},
		{"ClientUpdateAbort", testClientUpdateAbort},
		{"Users", testUsers},
		{"AuthRequests", testAuthRequests},
		{"LoginSessions", testLoginSessions},
		{"AuthCodeRedemption", testAuthCodeRedemption},
		{"AuthCodeRedemptionRollsBack", testAuthCodeRedemptionRollsBack},
		{"DisableUser", testDisableUser},
		{"Grants", testGrants},
		{"RefreshRotation", testRefreshRotation},
		{"SigningKeys", testSigningKeys},
		{"ServerSecret", testServerSecret},
		{"Settings", testSettings},
		{"DeleteClientCascades", testDeleteClientCascades},
		{"GarbageCollect", testGarbageCollect},
		{"Ping", testPing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newStore(t))
		})
	}
	t.Run("Data", func(t *testing.T) { RunData(t, func(t *testing.T) DataBackend { return newStore(t) }) })
	t.Run("Observe", func(t *testing.T) { RunObserve(t, func(t *testing.T) ObserveBackend { return newStore(t) }) })
}

// RunConcurrency runs the tests that hammer one store from many goroutines.
// They are kept apart so backends can run them without -race when the
// driver is slow under it.
func RunConcurrency(t *testing.T, newStore NewStore) {
	t.Run("ConcurrentCodeRedemption", func(t *testing.T) { testConcurrentCodeRedemption(t, newStore(t)) })
	t.Run("ConcurrentKeyUpdates", func(t *testing.T) { testConcurrentKeyUpdates(t, newStore(t)) })
	t.Run("ConcurrentServerSecret", func(t *testing.T) { testConcurrentServerSecret(t, newStore(t)) })
	t.Run("ConcurrentRefreshRotation", func(t *testing.T) { testConcurrentRefreshRotation(t, newStore(t)) })
	t.Run("DisableUserDuringRedemptions", func(t *testing.T) { testDisableUserDuringRedemptions(t, newStore(t)) })
}

// base is a fixed instant with microsecond precision, which every backend
// can store exactly.
var base = time.Date(2026, 11, 25, 15, 0, 0, 123456000, time.UTC)

func ctx(t *testing.T) context.Context { return t.Context() }

func mustNil(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func mustIs(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error = %v; want %v", what, err, want)
	}
}

func mustEqual[T any](t *testing.T, got, want T, what string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func newClient(id string) store.Client {
	return store.Client{
		ID:           id,
		Name:         "Client " + id,
		SecretHash:   "hash-" + id,
		RedirectURIs: []string{"https://cdn.plaid.com/link/v2/stable/oauth.html", "http://127.0.0.1:8787/callback"},
		GrantTypes:   []string{"authorization_code", "refresh_token"},
		CreatedAt:    base,
		UpdatedAt:    base,
	}
}

func newUser(id string) store.User {
	return store.User{
		ID:           id,
		Subject:      "sub_" + id + "_0001",
		Username:     "user-" + id,
		PasswordHash: "$argon2id$stand-in",
		Name:         "User " + id,
		Email:        id + "@example.test",
		CreatedAt:    base,
		UpdatedAt:    base,
	}
}

// seed creates client "c1" and user "u1", which most tests need for foreign keys.
func seed(t *testing.T, s store.Store) (store.Client, store.User) {
	t.Helper()
	c, u := newClient("c1"), newUser("u1")
	mustNil(t, s.CreateClient(ctx(t), c), "create client")
	mustNil(t, s.CreateUser(ctx(t), u), "create user")
	return c, u
}

func newCode(hash, grantID string) store.AuthCode {
	return store.AuthCode{
		Hash:                hash,
		GrantID:             grantID,
		OAuthSessionID:      "ses_" + grantID,
		ClientID:            "c1",
		UserID:              "u1",
		Subject:             "sub_u1_0001",
		RedirectURI:         "http://127.0.0.1:8787/callback",
		Scopes:              []string{"openid", "offline_access"},
		AccountSelection:    true,
		AccountIDs:          []string{"acct-1", "acct-2"},
		Nonce:               "n-0S6_WzA2Mj",
		State:               "af0ifjsldkj",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		AuthTime:            base,
		CreatedAt:           base,
		ExpiresAt:           base.Add(5 * time.Minute),
	}
}

func grantFor(c store.AuthCode) store.Grant {
	return store.Grant{
		ID:               c.GrantID,
		OAuthSessionID:   c.OAuthSessionID,
		ClientID:         c.ClientID,
		UserID:           c.UserID,
		Subject:          c.Subject,
		Scopes:           c.Scopes,
		AccountSelection: c.AccountSelection,
		AccountIDs:       c.AccountIDs,
		AuthTime:         c.AuthTime,
		CreatedAt:        base.Add(time.Minute),
		ExpiresAt:        base.Add(395 * 24 * time.Hour),
	}
}

func refreshFor(hash string, g store.Grant) store.RefreshToken {
	return store.RefreshToken{Hash: hash, GrantID: g.ID, ClientID: g.ClientID, CreatedAt: g.CreatedAt, ExpiresAt: g.ExpiresAt}
}

// redeem creates a code and redeems it into a grant with refresh token rt.
func redeem(t *testing.T, s store.Store, codeHash, grantID, rt string) store.Grant {
	t.Helper()
	c := newCode(codeHash, grantID)
	mustNil(t, s.CreateAuthCode(ctx(t), c), "create code")
	g := grantFor(c)
	r := refreshFor(rt, g)
	mustNil(t, s.RedeemAuthCode(ctx(t), store.CodeRedemption{CodeHash: codeHash, Now: g.CreatedAt, Grant: g, RefreshToken: &r}), "redeem code")
	return g
}

func testClients(t *testing.T, s store.Store) {
	c := newClient("c1")
	c.Scopes = []string{"openid", "offline_access"}
	c.RequirePKCE, c.AccountSelection, c.RotateRefreshTokens, c.IDTokenOnRefresh = true, true, true, true
	c.RateLimit = 12.5
	c.PreviousSecretHash, c.PreviousSecretExpiresAt = "old-hash", base.Add(time.Hour)
	mustNil(t, s.CreateClient(ctx(t), c), "create client")
	mustIs(t, s.CreateClient(ctx(t), c), store.ErrAlreadyExists, "create duplicate client")

	got, err := s.GetClient(ctx(t), "c1")
	mustNil(t, err, "get client")
	mustEqual(t, got, c, "get client")

	_, err = s.GetClient(ctx(t), "nope")
	mustIs(t, err, store.ErrNotFound, "get missing client")

	public := newClient("c0-public")
	public.SecretHash, public.Public = "", true
	public.RedirectURIs, public.GrantTypes = nil, nil
	mustNil(t, s.CreateClient(ctx(t), public), "create public client")

	all, err := s.ListClients(ctx(t))
	mustNil(t, err, "list clients")
	mustEqual(t, len(all), 2, "client count")
	mustEqual(t, all[0], public, "first client (ordered by id)")

	later := base.Add(time.Hour)
	err = s.UpdateClient(ctx(t), "c1", func(old store.Client) (store.Client, error) {
		old.RedirectURIs = append(old.RedirectURIs, "https://example.test/cb")
		old.SecretHash = "new-hash"
		old.UpdatedAt = later
		return old, nil
	})
	mustNil(t, err, "update client")
	got, err = s.GetClient(ctx(t), "c1")
	mustNil(t, err, "get updated client")
	mustEqual(t, got.SecretHash, "new-hash", "updated secret hash")
	mustEqual(t, got.RedirectURIs[2], "https://example.test/cb", "appended redirect URI")
	mustEqual(t, got.UpdatedAt, later, "updated_at")

	mustIs(t, s.UpdateClient(ctx(t), "nope", func(c store.Client) (store.Client, error) { return c, nil }),
		store.ErrNotFound, "update missing client")

	mustNil(t, s.DeleteClient(ctx(t), "c1"), "delete client")
	_, err = s.GetClient(ctx(t), "c1")
	mustIs(t, err, store.ErrNotFound, "get deleted client")
	mustIs(t, s.DeleteClient(ctx(t), "c1"), store.ErrNotFound, "delete deleted client")
}

func testClientUpdateAbort(t *testing.T, s store.Store) {
	c := newClient("c1")
	mustNil(t, s.CreateClient(ctx(t), c), "create client")
	boom := errors.New("boom")
	err := s.UpdateClient(ctx(t), "c1", func(old store.Client) (store.Client, error) {
		old.Name = "changed"
		return old, boom
	})
	mustIs(t, err, boom, "update returning an error")
	got, err := s.GetClient(ctx(t), "c1")
	mustNil(t, err, "get client")
	mustEqual(t, got.Name, c.Name, "name after aborted update")
}

func testUsers(t *testing.T, s store.Store) {
	u := newUser("u1")
	u.EmailVerified, u.Ineligible = true, true
	mustNil(t, s.CreateUser(ctx(t), u), "create user")

	dupName := newUser("u2")
	dupName.Username = u.Username
	mustIs(t, s.CreateUser(ctx(t), dupName), store.ErrAlreadyExists, "duplicate username")
	dupSub := newUser("u3")
	dupSub.Subject = u.Subject
	mustIs(t, s.CreateUser(ctx(t), dupSub), store.ErrAlreadyExists, "duplicate subject")

	for what, get := range map[string]func() (store.User, error){
		"by id":       func() (store.User, error) { return s.GetUser(ctx(t), "u1") },
		"by username": func() (store.User, error) { return s.GetUserByUsername(ctx(t), u.Username) },
		"by subject":  func() (store.User, error) { return s.GetUserBySubject(ctx(t), u.Subject) },
	} {
		got, err := get()
		mustNil(t, err, "get user "+what)
		mustEqual(t, got, u, "get user "+what)
	}
	_, err := s.GetUserByUsername(ctx(t), "nobody")
	mustIs(t, err, store.ErrNotFound, "get missing user")

	mustNil(t, s.CreateUser(ctx(t), newUser("u0")), "create second user")
	users, err := s.ListUsers(ctx(t))
	mustNil(t, err, "list users")
	mustEqual(t, len(users), 2, "user count")
	mustEqual(t, users[0].ID, "u0", "users ordered by username")

	mustNil(t, s.UpdateUser(ctx(t), "u1", func(old store.User) (store.User, error) {
		old.Disabled = true
		old.PasswordHash = "$argon2id$new"
		return old, nil
	}), "update user")
	got, err := s.GetUser(ctx(t), "u1")
	mustNil(t, err, "get updated user")
	mustEqual(t, got.Disabled, true, "disabled")
	mustEqual(t, got.PasswordHash, "$argon2id$new", "password hash")

	// Changing a username onto another user's must fail and change nothing.
	err = s.UpdateUser(ctx(t), "u0", func(old store.User) (store.User, error) {
		old.Username = u.Username
		return old, nil
	})
	mustIs(t, err, store.ErrAlreadyExists, "rename onto a taken username")
}

func testAuthRequests(t *testing.T, s store.Store) {
	r := store.AuthRequest{
		ID:                  "ar1",
		OAuthSessionID:      "ses_1",
		ClientID:            "c1",
		RedirectURI:         "http://127.0.0.1:8787/callback",
		Scopes:              []string{"openid", "offline_access"},
		State:               "state-1",
		Nonce:               "nonce-1",
		CodeChallenge:       "challenge",
		CodeChallengeMethod: "S256",
		Prompt:              []string{"login"},
		MaxAge:              -1,
		LoginHint:           "demo",
		BrowserBindingHash:  "bind",
		CSRFToken:           "csrf",
		CreatedAt:           base,
		ExpiresAt:           base.Add(30 * time.Minute),
	}
	mustNil(t, s.CreateAuthRequest(ctx(t), r), "create auth request")
	mustIs(t, s.CreateAuthRequest(ctx(t), r), store.ErrAlreadyExists, "create duplicate auth request")
	got, err := s.GetAuthRequest(ctx(t), "ar1")
	mustNil(t, err, "get auth request")
	mustEqual(t, got, r, "get auth request")

	mustNil(t, s.UpdateAuthRequest(ctx(t), "ar1", func(old store.AuthRequest) (store.AuthRequest, error) {
		old.UserID, old.AuthTime = "u1", base.Add(time.Minute)
		return old, nil
	}), "update auth request")
	got, err = s.GetAuthRequest(ctx(t), "ar1")
	mustNil(t, err, "get updated auth request")
	mustEqual(t, got.UserID, "u1", "user id")
	mustEqual(t, got.AuthTime, base.Add(time.Minute), "auth time")

	mustNil(t, s.DeleteAuthRequest(ctx(t), "ar1"), "delete auth request")
	_, err = s.GetAuthRequest(ctx(t), "ar1")
	mustIs(t, err, store.ErrNotFound, "get deleted auth request")
	mustIs(t, s.DeleteAuthRequest(ctx(t), "ar1"), store.ErrNotFound, "delete deleted auth request")
}

func testLoginSessions(t *testing.T, s store.Store) {
	seed(t, s)
	ls := store.LoginSession{IDHash: "h1", UserID: "u1", AuthTime: base, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	mustNil(t, s.CreateLoginSession(ctx(t), ls), "create login session")
	got, err := s.GetLoginSession(ctx(t), "h1")
	mustNil(t, err, "get login session")
	mustEqual(t, got, ls, "get login session")
	mustNil(t, s.DeleteLoginSession(ctx(t), "h1"), "delete login session")
	_, err = s.GetLoginSession(ctx(t), "h1")
	mustIs(t, err, store.ErrNotFound, "get deleted login session")
}

func testAuthCodeRedemption(t *testing.T, s store.Store) {
	seed(t, s)
	c := newCode("code-hash", "g1")
	mustNil(t, s.CreateAuthCode(ctx(t), c), "create code")
	mustIs(t, s.CreateAuthCode(ctx(t), c), store.ErrAlreadyExists, "create duplicate code")
	got, err := s.GetAuthCode(ctx(t), "code-hash")
	mustNil(t, err, "get code")
	mustEqual(t, got, c, "get code")

	g := grantFor(c)
	rt := refreshFor("rt1", g)
	redemption := store.CodeRedemption{CodeHash: "code-hash", Now: base.Add(time.Minute), Grant: g, RefreshToken: &rt}
	mustNil(t, s.RedeemAuthCode(ctx(t), redemption), "first redemption")

	got, err = s.GetAuthCode(ctx(t), "code-hash")
	mustNil(t, err, "get redeemed code")
	mustEqual(t, got.RedeemedAt, base.Add(time.Minute), "redeemed_at")

	gotGrant, err := s.GetGrant(ctx(t), "g1")
	mustNil(t, err, "get grant")
	mustEqual(t, gotGrant, g, "grant created by redemption")
	gotRT, err := s.GetRefreshToken(ctx(t), "rt1")
	mustNil(t, err, "get refresh token")
	mustEqual(t, gotRT, rt, "refresh token created by redemption")
	pairRT, pairGrant, err := s.GetRefreshTokenGrant(ctx(t), "rt1")
	mustNil(t, err, "get refresh token with its grant")
	mustEqual(t, pairRT, rt, "refresh token read with its grant")
	mustEqual(t, pairGrant, g, "grant read with its refresh token")
	_, _, err = s.GetRefreshTokenGrant(ctx(t), "no-such-token")
	mustIs(t, err, store.ErrNotFound, "get unknown refresh token with its grant")

	second := redemption
	second.Grant.ID = "g1-again"
	second.RefreshToken = nil
	mustIs(t, s.RedeemAuthCode(ctx(t), second), store.ErrAlreadyRedeemed, "second redemption")
	_, err = s.GetGrant(ctx(t), "g1-again")
	mustIs(t, err, store.ErrNotFound, "grant of a failed redemption")

	missing := redemption
	missing.CodeHash = "no-such-code"
	mustIs(t, s.RedeemAuthCode(ctx(t), missing), store.ErrNotFound, "redeem unknown code")

	// Without a refresh token the grant is still created.
	c2 := newCode("code-2", "g2")
	mustNil(t, s.CreateAuthCode(ctx(t), c2), "create code 2")
	mustNil(t, s.RedeemAuthCode(ctx(t), store.CodeRedemption{CodeHash: "code-2", Now: base, Grant: grantFor(c2)}), "redeem code 2")
	_, err = s.GetGrant(ctx(t), "g2")
	mustNil(t, err, "grant of code 2")
}

func testAuthCodeRedemptionRollsBack(t *testing.T, s store.Store) {
	seed(t, s)
	// A redemption whose refresh token collides must leave the code
	// unredeemed and no grant behind.
	g := redeem(t, s, "code-a", "ga", "rt-taken")
	_ = g
	c := newCode("code-b", "gb")
	mustNil(t, s.CreateAuthCode(ctx(t), c), "create code b")
	gb := grantFor(c)
	clash := refreshFor("rt-taken", gb)
	err := s.RedeemAuthCode(ctx(t), store.CodeRedemption{CodeHash: "code-b", Now: base, Grant: gb, RefreshToken: &clash})
	if err == nil {
		t.Fatal("redemption with a duplicate refresh token hash succeeded")
	}
	got, err := s.GetAuthCode(ctx(t), "code-b")
	mustNil(t, err, "get code b")
	mustEqual(t, got.RedeemedAt, time.Time{}, "redeemed_at after a failed redemption")
	_, err = s.GetGrant(ctx(t), "gb")
	mustIs(t, err, store.ErrNotFound, "grant after a failed redemption")

	ok := refreshFor("rt-b", gb)
	mustNil(t, s.RedeemAuthCode(ctx(t), store.CodeRedemption{CodeHash: "code-b", Now: base, Grant: gb, RefreshToken: &ok}),
		"retried redemption")
}

func testDisableUser(t *testing.T, s store.Store) {
	seed(t, s)
	mustNil(t, s.CreateUser(ctx(t), newUser("u2")), "create user 2")
	redeem(t, s, "code-1", "g1", "rt1")
	redeem(t, s, "code-2", "g2", "rt2")
	mustNil(t, s.RevokeGrant(ctx(t), "g2", base.Add(time.Hour), "revoked before"), "revoke g2")
	// u2's grant must survive u1's disabling.
	c3 := newCode("code-3", "g3")
	c3.UserID, c3.Subject = "u2", "sub_u2_0001"
	mustNil(t, s.CreateAuthCode(ctx(t), c3), "create code of u2")
	mustNil(t, s.RedeemAuthCode(ctx(t), store.CodeRedemption{CodeHash: "code-3", Now: base, Grant: grantFor(c3)}), "redeem code of u2")

	at := base.Add(2 * time.Hour)
	n, err := s.DisableUser(ctx(t), "u1", at, "user disabled")
	mustNil(t, err, "disable u1")
	mustEqual(t, n, int64(1), "grants revoked by disabling (g2 was revoked already)")
	u, err := s.GetUser(ctx(t), "u1")
	mustNil(t, err, "get u1")
	mustEqual(t, u.Disabled, true, "u1 disabled")
	mustEqual(t, u.UpdatedAt, at, "u1 updated_at")
	g1, err := s.GetGrant(ctx(t), "g1")
	mustNil(t, err, "get g1")
	mustEqual(t, g1.RevokedAt, at, "g1 revoked at")
	mustEqual(t, g1.RevokeReason, "user disabled", "g1 revoke reason")
	g2, err := s.GetGrant(ctx(t), "g2")
	mustNil(t, err, "get g2")
	mustEqual(t, g2.RevokedAt, base.Add(time.Hour), "g2 keeps its first revocation")
	g3, err := s.GetGrant(ctx(t), "g3")
	mustNil(t, err, "get g3")
	mustEqual(t, g3.RevokedAt, time.Time{}, "u2's grant")

	// A code of a disabled user is not redeemed, and nothing is written.
	c4 := newCode("code-4", "g4")
	mustNil(t, s.CreateAuthCode(ctx(t), c4), "create code 4")
	g4 := grantFor(c4)
	rt4 := refreshFor("rt4", g4)
	mustIs(t, s.RedeemAuthCode(ctx(t), store.CodeRedemption{CodeHash: "code-4", Now: base, Grant: g4, RefreshToken: &rt4}),
		store.ErrUserDisabled, "redeem a code of a disabled user")
	got, err := s.GetAuthCode(ctx(t), "code-4")
	mustNil(t, err, "get code 4")
	mustEqual(t, got.RedeemedAt, time.Time{}, "redeemed_at of a refused redemption")
	_, err = s.GetGrant(ctx(t), "g4")
	mustIs(t, err, store.ErrNotFound, "grant of a refused redemption")
	_, err = s.GetRefreshToken(ctx(t), "rt4")
	mustIs(t, err, store.ErrNotFound, "refresh token of a refused redemption")

	_, err = s.DisableUser(ctx(t), "no-such-user", at, "user disabled")
	mustIs(t, err, store.ErrNotFound, "disable an unknown user")
	if _, err := s.DisableUser(ctx(t), "u2", time.Time{}, "user disabled"); err == nil {
		t.Error("DisableUser without a time succeeded")
	}
	g3, err = s.GetGrant(ctx(t), "g3")
	mustNil(t, err, "get g3")
	mustEqual(t, g3.RevokedAt, time.Time{}, "u2's grant after a refused DisableUser")
}

func testGrants(t *testing.T, s store.Store) {
	seed(t, s)
	mustNil(t, s.CreateUser(ctx(t), newUser("u2")), "create user 2")
	g1 := redeem(t, s, "code-1", "g1", "rt1")
	g2 := redeem(t, s, "code-2", "g2", "rt2")
	c3 := newCode("code-3", "g3")
	c3.UserID, c3.Subject = "u2", "sub_u2_0001"
	mustNil(t, s.CreateAuthCode(ctx(t), c3), "create code 3")
	g3 := grantFor(c3)
	mustNil(t, s.RedeemAuthCode(ctx(t), store.CodeRedemption{CodeHash: "code-3", Now: base, Grant: g3}), "redeem code 3")

	if !g1.Active(base.Add(time.Hour)) {
		t.Fatal("fresh grant not active")
	}
	if g1.Active(g1.ExpiresAt) {
		t.Fatal("grant active at its expiry")
	}

	list, err := s.ListGrants(ctx(t), store.GrantFilter{UserID: "u1"})
	mustNil(t, err, "list grants of u1")
	mustEqual(t, []string{list[0].ID, list[1].ID}, []string{"g1", "g2"}, "grants of u1")

	revokedAt := base.Add(2 * time.Hour)
	mustNil(t, s.RevokeGrant(ctx(t), "g1", revokedAt, "replay"), "revoke grant")
	mustNil(t, s.RevokeGrant(ctx(t), "g1", revokedAt.Add(time.Hour), "again"), "revoke revoked grant")
	mustIs(t, s.RevokeGrant(ctx(t), "nope", revokedAt, "x"), store.ErrNotFound, "revoke unknown grant")
	got, err := s.GetGrant(ctx(t), "g1")
	mustNil(t, err, "get revoked grant")
	mustEqual(t, got.RevokedAt, revokedAt, "revoked_at keeps the first revocation")
	mustEqual(t, got.RevokeReason, "replay", "revoke reason")
	if got.Active(revokedAt) {
		t.Fatal("revoked grant is active")
	}

	list, err = s.ListGrants(ctx(t), store.GrantFilter{UserID: "u1"})
	mustNil(t, err, "list live grants")
	mustEqual(t, len(list), 1, "live grants of u1")
	list, err = s.ListGrants(ctx(t), store.GrantFilter{UserID: "u1", IncludeDead: true})
	mustNil(t, err, "list all grants")
	mustEqual(t, len(list), 2, "all grants of u1")
	list, err = s.ListGrants(ctx(t), store.GrantFilter{ActiveAt: g2.ExpiresAt})
	mustNil(t, err, "list grants active at expiry")
	mustEqual(t, len(list), 0, "grants active at their expiry")
	list, err = s.ListGrants(ctx(t), store.GrantFilter{ClientID: "c1", ActiveAt: base})
	mustNil(t, err, "list active grants of c1")
	mustEqual(t, len(list), 2, "active grants of c1")

	n, err := s.RevokeUserGrants(ctx(t), "u2", revokedAt, "user disabled")
	mustNil(t, err, "revoke user grants")
	mustEqual(t, n, int64(1), "grants revoked for u2")
	got, err = s.GetGrant(ctx(t), g3.ID)
	mustNil(t, err, "get g3")
	mustEqual(t, got.RevokeReason, "user disabled", "g3 revoke reason")

	nb := base.Add(3 * time.Hour)
	mustNil(t, s.RevokeAccessTokens(ctx(t), "g2", nb), "revoke access tokens")
	mustNil(t, s.RevokeAccessTokens(ctx(t), "g2", nb.Add(-time.Hour)), "revoke access tokens, earlier bound")
	got, err = s.GetGrant(ctx(t), "g2")
	mustNil(t, err, "get g2")
	mustEqual(t, got.AccessNotBefore, nb, "access_not_before never moves back")
	if !got.Active(nb) {
		t.Fatal("revoking access tokens ended the grant")
	}
	mustIs(t, s.RevokeAccessTokens(ctx(t), "nope", nb), store.ErrNotFound, "revoke access tokens of unknown grant")
}

func testRefreshRotation(t *testing.T, s store.Store) {
	seed(t, s)
	g := redeem(t, s, "code-1", "g1", "rt0")
	grace := 2 * time.Minute
	at := base.Add(time.Hour)
	rotate := func(old, new string, now time.Time) error {
		return s.RotateRefreshToken(ctx(t), store.RefreshRotation{OldHash: old, New: refreshFor(new, g), Now: now, Grace: grace})
	}

	mustNil(t, rotate("rt0", "rt1", at), "first rotation")
	old, err := s.GetRefreshToken(ctx(t), "rt0")
	mustNil(t, err, "get rotated-out token")
	mustEqual(t, old.SuccessorHash, "rt1", "successor")
	mustEqual(t, old.RotatedAt, at, "rotated_at")

	// A retry inside the grace, before rt1 was used, replaces rt1 by rt1b.
	mustNil(t, rotate("rt0", "rt1b", at.Add(time.Minute)), "retry inside grace")
	_, err = s.GetRefreshToken(ctx(t), "rt1")
	mustIs(t, err, store.ErrNotFound, "the unused successor after a retry")
	old, err = s.GetRefreshToken(ctx(t), "rt0")
	mustNil(t, err, "get rt0")
	mustEqual(t, old.SuccessorHash, "rt1b", "successor after retry")
	mustEqual(t, old.RotatedAt, at, "rotated_at keeps the first rotation")

	// Using the successor ends the predecessor's grace at once.
	mustNil(t, rotate("rt1b", "rt2", at.Add(90*time.Second)), "rotate the successor")
	mustIs(t, rotate("rt0", "rt-x", at.Add(100*time.Second)), store.ErrRefreshTokenReused, "predecessor after its successor was used")
	_, err = s.GetRefreshToken(ctx(t), "rt-x")
	mustIs(t, err, store.ErrNotFound, "nothing written on reuse")

	// After the grace, a rotated-out token is a reuse.
	mustIs(t, rotate("rt2", "rt3", at.Add(90*time.Second).Add(grace)), nil, "rotate rt2")
	mustIs(t, rotate("rt2", "rt3b", at.Add(90*time.Second).Add(2*grace)), store.ErrRefreshTokenReused, "retry after the grace")

	mustIs(t, rotate("unknown", "rt9", at), store.ErrNotFound, "rotate unknown token")
}

func newKey(id string, state store.KeyState, at time.Time) store.SigningKey {
	return store.SigningKey{
		ID:                   id,
		Algorithm:            "RS256",
		State:                state,
		PublicJWK:            []byte(`{"kty":"RSA","kid":"` + id + `"}`),
		PrivateKeyCiphertext: []byte{0, 1, 2, byte(len(id))},
		CreatedAt:            at,
		PublishedAt:          at,
	}
}

func testSigningKeys(t *testing.T, s store.Store) {
	keys, err := s.ListSigningKeys(ctx(t))
	mustNil(t, err, "list keys of an empty store")
	mustEqual(t, len(keys), 0, "keys in an empty store")

	k1 := newKey("k1", store.KeyActive, base)
	k1.ActivatedAt = base
	k2 := newKey("k2", store.KeyNext, base.Add(time.Second))
	mustNil(t, s.UpdateSigningKeys(ctx(t), func(old []store.SigningKey) ([]store.SigningKey, error) {
		return append(old, k1, k2), nil
	}), "insert keys")
	keys, err = s.ListSigningKeys(ctx(t))
	mustNil(t, err, "list keys")
	mustEqual(t, keys, []store.SigningKey{k1, k2}, "keys after insert")

	// Rotate: k1 retires, k2 activates, k3 is next.
	k1.State, k1.RetiredAt, k1.RemoveAfter = store.KeyRetired, base.Add(time.Hour), base.Add(26*time.Hour)
	k2.State, k2.ActivatedAt = store.KeyActive, base.Add(time.Hour)
	k3 := newKey("k3", store.KeyNext, base.Add(time.Hour))
	mustNil(t, s.UpdateSigningKeys(ctx(t), func(old []store.SigningKey) ([]store.SigningKey, error) {
		mustEqual(t, len(old), 2, "keys seen by update")
		return []store.SigningKey{k1, k2, k3}, nil
	}), "rotate keys")
	keys, err = s.ListSigningKeys(ctx(t))
	mustNil(t, err, "list rotated keys")
	mustEqual(t, keys, []store.SigningKey{k1, k2, k3}, "keys after rotation")

	// Dropping k1; an aborted update changes nothing.
	boom := errors.New("boom")
	mustIs(t, s.UpdateSigningKeys(ctx(t), func(old []store.SigningKey) ([]store.SigningKey, error) {
		return nil, boom
	}), boom, "aborted update")
	mustNil(t, s.UpdateSigningKeys(ctx(t), func(old []store.SigningKey) ([]store.SigningKey, error) {
		return slices.DeleteFunc(old, func(k store.SigningKey) bool { return k.ID == "k1" }), nil
	}), "remove a key")
	keys, err = s.ListSigningKeys(ctx(t))
	mustNil(t, err, "list keys after removal")
	mustEqual(t, keys, []store.SigningKey{k2, k3}, "keys after removal")
}

func testServerSecret(t *testing.T, s store.Store) {
	calls := 0
	create := func(v string) func() ([]byte, error) {
		return func() ([]byte, error) { calls++; return []byte(v), nil }
	}
	got, err := s.ServerSecret(ctx(t), "mac", create("first"))
	mustNil(t, err, "create secret")
	mustEqual(t, string(got), "first", "created secret")
	got, err = s.ServerSecret(ctx(t), "mac", create("second"))
	mustNil(t, err, "get secret")
	mustEqual(t, string(got), "first", "stored secret wins")
	mustEqual(t, calls, 1, "create calls")

	boom := errors.New("boom")
	_, err = s.ServerSecret(ctx(t), "other", func() ([]byte, error) { return nil, boom })
	mustIs(t, err, boom, "create error")
}

func testSettings(t *testing.T, s store.Store) {
	_, err := s.GetSetting(ctx(t), "maintenance")
	mustIs(t, err, store.ErrNotFound, "unset setting")
	mustNil(t, s.SetSetting(ctx(t), "maintenance", "on"), "set setting")
	mustNil(t, s.SetSetting(ctx(t), "maintenance", "off"), "overwrite setting")
	got, err := s.GetSetting(ctx(t), "maintenance")
	mustNil(t, err, "get setting")
	mustEqual(t, got, "off", "setting")
}

func testDeleteClientCascades(t *testing.T, s store.Store) {
	seed(t, s)
	redeem(t, s, "code-1", "g1", "rt1")
	mustNil(t, s.DeleteClient(ctx(t), "c1"), "delete client")
	_, err := s.GetGrant(ctx(t), "g1")
	mustIs(t, err, store.ErrNotFound, "grant of a deleted client")
	_, err = s.GetRefreshToken(ctx(t), "rt1")
	mustIs(t, err, store.ErrNotFound, "refresh token of a deleted client")
	_, err = s.GetAuthCode(ctx(t), "code-1")
	mustIs(t, err, store.ErrNotFound, "code of a deleted client")
}

func testGarbageCollect(t *testing.T, s store.Store) {
	seed(t, s)
	mustNil(t, s.CreateAuthRequest(ctx(t), store.AuthRequest{ID: "ar-old", CreatedAt: base, ExpiresAt: base.Add(time.Minute), MaxAge: -1}), "old auth request")
	mustNil(t, s.CreateAuthRequest(ctx(t), store.AuthRequest{ID: "ar-new", CreatedAt: base, ExpiresAt: base.Add(time.Hour), MaxAge: -1}), "new auth request")
	mustNil(t, s.CreateLoginSession(ctx(t), store.LoginSession{IDHash: "ls-old", UserID: "u1", CreatedAt: base, ExpiresAt: base.Add(time.Minute)}), "old session")
	live := redeem(t, s, "code-live", "g-live", "rt-live")
	dead := redeem(t, s, "code-dead", "g-dead", "rt-dead")
	mustNil(t, s.RevokeGrant(ctx(t), dead.ID, base, "test"), "revoke")

	// Ten minutes on: the short-lived rows are gone, the grants stay.
	r, err := s.GarbageCollect(ctx(t), base.Add(10*time.Minute))
	mustNil(t, err, "gc")
	mustEqual(t, r.AuthRequests, int64(1), "auth requests collected")
	mustEqual(t, r.LoginSessions, int64(1), "login sessions collected")
	mustEqual(t, r.Grants, int64(0), "grants collected after 10 minutes")
	_, err = s.GetAuthRequest(ctx(t), "ar-new")
	mustNil(t, err, "live auth request survives")
	_, err = s.GetAuthCode(ctx(t), "code-live")
	mustNil(t, err, "a just-expired code is kept to recognise replays")

	// Sixty days on: codes and the revoked grant are gone; the live one stays.
	r, err = s.GarbageCollect(ctx(t), base.Add(60*24*time.Hour))
	mustNil(t, err, "gc later")
	mustEqual(t, r.AuthCodes, int64(2), "codes collected")
	mustEqual(t, r.Grants, int64(1), "revoked grants collected")
	mustEqual(t, r.RefreshTokens, int64(1), "refresh tokens collected")
	_, err = s.GetGrant(ctx(t), live.ID)
	mustNil(t, err, "live grant survives")
	_, err = s.GetRefreshToken(ctx(t), "rt-dead")
	mustIs(t, err, store.ErrNotFound, "refresh token of a collected grant")

	// After the absolute lifetime the live grant goes too.
	r, err = s.GarbageCollect(ctx(t), live.ExpiresAt)
	mustNil(t, err, "gc at expiry")
	mustEqual(t, r.Grants, int64(1), "expired grant collected")
}

func testPing(t *testing.T, s store.Store) {
	mustNil(t, s.Ping(ctx(t)), "ping")
}

func testConcurrentCodeRedemption(t *testing.T, s store.Store) {
	seed(t, s)
	c := newCode("hot-code", "g-hot")
	mustNil(t, s.CreateAuthCode(ctx(t), c), "create code")
	const n = 64
	var (
		wins, replays atomic.Int64
		wg            sync.WaitGroup
		start         = make(chan struct{})
	)
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			g := grantFor(c)
			rt := refreshFor(fmt.Sprintf("rt-%d", i), g)
			err := s.RedeemAuthCode(ctx(t), store.CodeRedemption{CodeHash: c.Hash, Now: base, Grant: g, RefreshToken: &rt})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, store.ErrAlreadyRedeemed):
				replays.Add(1)
			default:
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected redemption error: %v", err)
	}
	mustEqual(t, wins.Load(), int64(1), "winning redemptions")
	mustEqual(t, replays.Load(), int64(n-1), "refused redemptions")
}

// testDisableUserDuringRedemptions races DisableUser against redemptions of
// many codes of the user: whatever the interleaving, no active grant of the
// user may remain, and every redemption either won (its grant then revoked)
// or was refused as disabled.
func testDisableUserDuringRedemptions(t *testing.T, s store.Store) {
	seed(t, s)
	const n = 32
	codes := make([]store.AuthCode, n)
	for i := range codes {
		codes[i] = newCode(fmt.Sprintf("race-code-%d", i), fmt.Sprintf("race-g%d", i))
		mustNil(t, s.CreateAuthCode(ctx(t), codes[i]), "create code")
	}
	var (
		wins, refused atomic.Int64
		wg            sync.WaitGroup
		start         = make(chan struct{})
	)
	errs := make(chan error, n+1)
	for i := range codes {
		wg.Go(func() {
			<-start
			g := grantFor(codes[i])
			rt := refreshFor(fmt.Sprintf("race-rt-%d", i), g)
			err := s.RedeemAuthCode(ctx(t), store.CodeRedemption{CodeHash: codes[i].Hash, Now: base, Grant: g, RefreshToken: &rt})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, store.ErrUserDisabled):
				refused.Add(1)
			default:
				errs <- err
			}
		})
	}
	var revoked int64
	wg.Go(func() {
		<-start
		var err error
		if revoked, err = s.DisableUser(ctx(t), "u1", base.Add(time.Minute), "user disabled"); err != nil {
			errs <- err
		}
	})
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected error: %v", err)
	}
	mustEqual(t, wins.Load()+refused.Load(), int64(n), "redemptions answered")
	mustEqual(t, revoked, wins.Load(), "grants revoked by DisableUser")
	grants, err := s.ListGrants(ctx(t), store.GrantFilter{UserID: "u1", IncludeDead: true})
	mustNil(t, err, "list grants")
	for _, g := range grants {
		if g.RevokedAt.IsZero() {
			t.Errorf("grant %s of the disabled user is active", g.ID)
		}
	}
	mustEqual(t, int64(len(grants)), wins.Load(), "grants created")
}

func testConcurrentKeyUpdates(t *testing.T, s store.Store) {
	// Every updater adds a key only if there is no next key: the transaction
	// must make exactly one of them see the empty set.
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := s.UpdateSigningKeys(ctx(t), func(old []store.SigningKey) ([]store.SigningKey, error) {
				for _, k := range old {
					if k.State == store.KeyNext {
						return old, nil
					}
				}
				return append(old, newKey(fmt.Sprintf("k%d", i), store.KeyNext, base)), nil
			})
			if err != nil {
				t.Errorf("update keys: %v", err)
			}
		})
	}
	wg.Wait()
	keys, err := s.ListSigningKeys(ctx(t))
	mustNil(t, err, "list keys")
	mustEqual(t, len(keys), 1, "keys after concurrent check-then-add")
}

func testConcurrentServerSecret(t *testing.T, s store.Store) {
	const n = 16
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v, err := s.ServerSecret(ctx(t), "shared", func() ([]byte, error) { return []byte(fmt.Sprint(i)), nil })
			if err != nil {
				t.Errorf("server secret: %v", err)
			}
			got[i] = string(v)
		})
	}
	wg.Wait()
	for i := range got {
		if got[i] != got[0] {
			t.Fatalf("callers saw different secrets: %q and %q", got[0], got[i])
		}
	}
}

func testConcurrentRefreshRotation(t *testing.T, s store.Store) {
	seed(t, s)
	g := redeem(t, s, "code-1", "g1", "rt0")
	// Concurrent rotations of one token inside the grace all succeed as
	// retries; the token ends with exactly one live successor.
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := s.RotateRefreshToken(ctx(t), store.RefreshRotation{OldHash: "rt0", New: refreshFor(fmt.Sprintf("rt1-%d", i), g),
				Now: base.Add(time.Hour), Grace: 2 * time.Minute})
			if err != nil {
				t.Errorf("rotate: %v", err)
			}
		})
	}
	wg.Wait()
	old, err := s.GetRefreshToken(ctx(t), "rt0")
	mustNil(t, err, "get rt0")
	live := 0
	for i := range n {
		if _, err := s.GetRefreshToken(ctx(t), fmt.Sprintf("rt1-%d", i)); err == nil {
			live++
		}
	}
	mustEqual(t, live, 1, "live successors")
	_, err = s.GetRefreshToken(ctx(t), old.SuccessorHash)
	mustNil(t, err, "the recorded successor exists")
}
