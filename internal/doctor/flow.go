package doctor

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// authRequest is one authorization request as an aggregator sends it.
type authRequest struct {
	flow         string // what the login is for, in evidence
	clientID     string
	redirectURI  string
	state, nonce string
	prompt       string
	pkceVerifier string // non-empty: send an S256 code_challenge
}

func randomValue() string {
	b := make([]byte, 24)
	rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func base64URLDecode(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func (r *run) newAuthRequest(flow string) authRequest {
	return authRequest{flow: flow, clientID: r.cfg.ClientID, redirectURI: r.cfg.RedirectURI, state: randomValue()}
}

// authorizeURL builds the request Plaid sends: response_type, client_id,
// redirect_uri, scope and state, without prompt unless a check asks for it.
func (r *run) authorizeURL(ar authRequest) string {
	u, _ := url.Parse(r.ep.authorization) // validated before any login
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", ar.clientID)
	q.Set("redirect_uri", ar.redirectURI)
	q.Set("scope", r.cfg.Scope)
	q.Set("state", ar.state)
	if ar.nonce != "" {
		q.Set("nonce", ar.nonce)
	}
	if ar.prompt != "" {
		q.Set("prompt", ar.prompt)
	}
	if ar.pkceVerifier != "" {
		sum := sha256.Sum256([]byte(ar.pkceVerifier))
		q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
		q.Set("code_challenge_method", "S256")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// loginOutcome is where one authorization request ended.
type loginOutcome struct {
	callback *url.URL // the redirect URI reached, with code or error; nil when not reached
	walk     walkResult
	err      error
	manual   bool
}

// canLoginAgain reports whether checks that need a fresh login each may run:
// with --manual a person is asked for two logins only.
func (r *run) canLoginAgain() bool { return r.cfg.Manual == nil }

const needsAutoLogin = "needs a fresh login of its own: run with --username and a password (--manual asks for two logins only)"

// login runs one authorization request to the redirect URI.
func (r *run) login(ctx context.Context, ar authRequest, mode walkMode) loginOutcome {
	authURL := r.authorizeURL(ar)
	var out loginOutcome
	if r.cfg.Manual != nil && mode == walkLogin {
		out.manual = true
		out.callback, out.err = manualLogin(r.cfg.Manual, authURL, r.redirectURI)
	} else {
		out.walk, out.err = r.walk(ctx, authURL, mode, []*url.URL{r.redirectURI})
		out.callback = out.walk.reached
		r.cookies = append(r.cookies, out.walk.cookies...)
	}
	if out.callback != nil {
		q := out.callback.Query()
		r.rec.secret(q.Get("code"))
		r.states = append(r.states, stateSeen{flow: ar.flow, sent: ar.state, got: q.Get("state"), present: q.Has("state")})
	}
	return out
}

// failure explains why a login did not reach the redirect URI.
func (out loginOutcome) failure() string {
	w := out.walk
	steps := ""
	if len(w.steps) > 0 {
		steps = "\n" + joinLines(w.steps, 12)
	}
	switch {
	case out.err != nil:
		return out.err.Error() + steps
	case w.loginFailed:
		return "the login form came back after the username and password were sent: wrong credentials, or a login step doctor cannot do (MFA, JavaScript)?" + steps
	case w.noPassword:
		return "the provider shows a login form and doctor has no password" + steps
	case w.formRefused:
		return "the provider showed the same form again after it was submitted: " + w.endPage + steps
	case w.endPage != "":
		return "the flow stopped at a page without a way forward: " + w.endPage + steps
	default:
		return "the redirect URI was not reached" + steps
	}
}

// tokenResult is a token endpoint answer.
type tokenResult struct {
	resp                   *response
	fields                 map[string]any
	accessToken, tokenType string
	refreshToken, idToken  string
	scope                  string
	expiresIn              *float64
	refreshExpiresIn       *float64
	errCode, errDesc       string
}

func (t *tokenResult) ok() bool {
	return t != nil && t.resp.status == http.StatusOK && t.accessToken != ""
}

// describe is "200, Bearer, expires_in 900" or "400 invalid_grant (…)".
func (t *tokenResult) describe() string {
	if t.errCode != "" {
		d := fmt.Sprintf("%s %s", t.resp.summary(), t.errCode)
		if t.errDesc != "" {
			d += fmt.Sprintf(" (%s)", truncate(t.errDesc, 120))
		}
		return d
	}
	if t.resp.status != http.StatusOK || t.fields == nil {
		return fmt.Sprintf("%s: %s", t.resp.summary(), snippet(t.resp.body, 120))
	}
	return t.resp.summary()
}

type clientAuth int

const (
	authBasic clientAuth = iota
	authPost
)

func (a clientAuth) String() string {
	if a == authPost {
		return "client_secret_post"
	}
	return "client_secret_basic"
}

// tokenRequest posts form to the token endpoint authenticated as the client
// with secret.
func (r *run) tokenRequest(ctx context.Context, form url.Values, auth clientAuth, secret string) (*tokenResult, error) {
	return r.clientPost(ctx, r.ep.token, form, auth, secret)
}

// clientPost posts form to an endpoint of the authorization server (token,
// introspection) authenticated as the client with secret.
func (r *run) clientPost(ctx context.Context, endpoint string, form url.Values, auth clientAuth, secret string) (*tokenResult, error) {
	header := http.Header{"Accept": {"application/json"}}
	form = cloneValues(form)
	switch auth {
	case authBasic:
		// RFC 6749 §2.3.1: both parts form-encoded before Basic.
		cred := url.QueryEscape(r.cfg.ClientID) + ":" + url.QueryEscape(secret)
		header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cred)))
	case authPost:
		form.Set("client_id", r.cfg.ClientID)
		form.Set("client_secret", secret)
	}
	resp, err := r.client.postForm(ctx, endpoint, form, header)
	if err != nil {
		return nil, err
	}
	t := &tokenResult{resp: resp}
	if json.Unmarshal(resp.body, &t.fields) == nil {
		t.accessToken = stringField(t.fields, "access_token")
		t.tokenType = stringField(t.fields, "token_type")
		t.refreshToken = stringField(t.fields, "refresh_token")
		t.idToken = stringField(t.fields, "id_token")
		t.scope = stringField(t.fields, "scope")
		t.errCode = stringField(t.fields, "error")
		t.errDesc = stringField(t.fields, "error_description")
		t.expiresIn = numberField(t.fields, "expires_in")
		t.refreshExpiresIn = numberField(t.fields, "refresh_expires_in")
	}
	r.rec.secret(t.accessToken, t.refreshToken, t.idToken)
	if t.accessToken != "" {
		r.accessTokens = append(r.accessTokens, t.accessToken)
	}
	return t, nil
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func stringField(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// numberField reads a JSON number, or a string holding one (some servers
// send "900").
func numberField(m map[string]any, k string) *float64 {
	switch v := m[k].(type) {
	case float64:
		return &v
	case string:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return &f
		}
	}
	return nil
}

// exchange trades the code of out for tokens.
func (r *run) exchange(ctx context.Context, ar authRequest, code string, auth clientAuth) (*tokenResult, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {ar.redirectURI}}
	if ar.pkceVerifier != "" {
		form.Set("code_verifier", ar.pkceVerifier)
	}
	return r.tokenRequest(ctx, form, auth, r.cfg.ClientSecret)
}

// session is a login that ended in tokens.
type session struct {
	ar     authRequest
	tokens *tokenResult
	id     *parsedIDToken // nil when no ID token parsed
}

// loginAndExchange runs a login and a client_secret_basic exchange; on
// failure it returns the reason.
func (r *run) loginAndExchange(ctx context.Context, ar authRequest) (*session, string) {
	out := r.login(ctx, ar, walkLogin)
	if out.callback == nil {
		return nil, "the login failed: " + out.failure()
	}
	q := out.callback.Query()
	if q.Get("code") == "" {
		return nil, fmt.Sprintf("the redirect carried no code (error=%q)", q.Get("error"))
	}
	t, err := r.exchange(ctx, ar, q.Get("code"), authBasic)
	if err != nil {
		return nil, "the code exchange failed: " + err.Error()
	}
	if !t.ok() {
		return nil, "the code exchange failed: " + t.describe()
	}
	s := &session{ar: ar, tokens: t}
	s.id, _ = parseIDToken(t.idToken)
	return s, ""
}

func (r *run) checkFlows(ctx context.Context) {
	var reason string
	switch {
	case r.cfg.ClientID == "":
		reason = "no --client-id: only discovery and JWKS were checked"
	case r.ep.authorization == "" || r.ep.token == "":
		reason = "no authorization or token endpoint (see discovery.endpoints)"
	}
	if reason == "" {
		u, err := url.Parse(r.cfg.RedirectURI)
		if err != nil || u.Host == "" {
			reason = "no usable --redirect-uri"
		} else {
			r.redirectURI = u
		}
		if a, err := url.Parse(r.ep.authorization); err != nil || !a.IsAbs() {
			reason = fmt.Sprintf("authorization endpoint %q is not an absolute URL", r.ep.authorization)
		}
	}
	if reason == "" && r.cfg.Manual == nil && r.cfg.Username == "" {
		r.checkPrelog(ctx)
		reason = "no --username (automatic login) or --manual: only discovery, JWKS and pre-log checks ran"
	}
	if reason != "" {
		r.skipRest(reason)
		return
	}
	r.checkPrelog(ctx)
	r.checkMainLogin(ctx)
	steps := []func(context.Context){r.checkUserinfo, r.checkAPI, r.checkSecondLogin, r.checkTokenErrors, r.checkRefresh, r.checkCancel}
	reason = "not reached"
	if r.main == nil {
		// Without a working login and exchange, more logins would fail the
		// same way; Cancel may still work.
		steps = steps[len(steps)-1:]
		reason = "no tokens: the first login or code exchange failed (see authorize.login, authorize.code, token.exchange_basic)"
	}
	for _, step := range steps {
		if ctx.Err() != nil {
			break
		}
		step(ctx)
	}
	r.checkStateAndCookies()
	r.skipRest(reason + deadlineNote(ctx))
}

// issuer is what tokens and redirects must carry: the discovery document's
// issuer (discovery.issuer compares it with --issuer), else --issuer.
func (r *run) issuer() string {
	if r.disc != nil && r.disc.Issuer != "" {
		return r.disc.Issuer
	}
	return r.cfg.Issuer
}

// skipRest records SKIP for every catalogue check that has no result yet, so
// the report always lists the same ids.
func (r *run) skipRest(reason string) {
	for _, c := range catalogue {
		if watchOnly(c.id) || r.rec.has(c.id) {
			continue
		}
		r.rec.skip(c.id, "%s", reason)
	}
}

func (r *run) checkMainLogin(ctx context.Context) {
	ar := r.newAuthRequest("main login")
	ar.nonce = randomValue()
	out := r.login(ctx, ar, walkLogin)
	if out.callback == nil {
		r.rec.fail("authorize.login", "%s", out.failure())
		return
	}
	if out.manual {
		r.rec.pass("authorize.login", "logged in by hand (--manual); the browser reached the redirect URI")
	} else {
		r.rec.pass("authorize.login", "reached the redirect URI in %d steps (not fetched):\n%s", len(out.walk.steps), joinLines(out.walk.steps, 12))
	}
	q := out.callback.Query()
	if e := q.Get("error"); e != "" {
		r.rec.fail("authorize.code", "redirected with error=%s error_description=%q instead of a code", e, q.Get("error_description"))
		return
	}
	code := q.Get("code")
	if code == "" {
		r.rec.fail("authorize.code", "the redirect to the redirect URI carries no code")
		return
	}
	r.rec.pass("authorize.code", "code present (%s)", tokenDescription("code", code))

	issuer := r.issuer()
	switch {
	case q.Has("iss") && issuer == "":
		r.rec.info("authorize.iss", "iss %q on the redirect (no issuer to compare with)", q.Get("iss"))
	case q.Has("iss") && q.Get("iss") == issuer:
		r.rec.pass("authorize.iss", "iss %q equals the issuer", q.Get("iss"))
	case q.Has("iss"):
		r.rec.fail("authorize.iss", "iss %q differs from the issuer %q", q.Get("iss"), issuer)
	case r.disc != nil && r.disc.AuthorizationResponseIssParameter:
		r.rec.fail("authorize.iss", "discovery advertises authorization_response_iss_parameter_supported, but the redirect has no iss")
	default:
		r.rec.info("authorize.iss", "no iss on the redirect (optional, RFC 9207)")
	}

	t, err := r.exchange(ctx, ar, code, authBasic)
	if err != nil {
		r.rec.fail("token.exchange_basic", "%v", err)
		return
	}
	if !t.ok() {
		r.rec.fail("token.exchange_basic", "%s", t.describe())
		return
	}
	r.rec.pass("token.exchange_basic", "%s: %s, %s, %s, %s", t.describe(),
		tokenDescription("access token", t.accessToken), tokenDescription("refresh token", t.refreshToken),
		tokenDescription("ID token", t.idToken), "scope "+strconv.Quote(t.scope))
	s := &session{ar: ar, tokens: t}
	r.main = s

	if strings.EqualFold(t.tokenType, "bearer") {
		r.rec.pass("token.token_type", "token_type %q", t.tokenType)
	} else {
		r.rec.fail("token.token_type", "token_type is %q, not Bearer", t.tokenType)
	}
	switch {
	case t.expiresIn == nil:
		r.rec.warn("token.expires_in", "no expires_in: Plaid cannot tell when to refresh")
	case *t.expiresIn <= 0:
		r.rec.fail("token.expires_in", "expires_in %v", *t.expiresIn)
	case *t.expiresIn > 900:
		r.rec.warn("token.expires_in", "expires_in %v s (%s): longer than the 15 min Plaid expects", *t.expiresIn, time.Duration(*t.expiresIn)*time.Second)
	default:
		r.rec.pass("token.expires_in", "expires_in %v s", *t.expiresIn)
	}
	r.checkRefreshIssued(ctx, t)
	s.id = r.checkIDToken(t.idToken, ar)
	r.checkIDTokenSignature(ctx, t.idToken)
}

// checkRefreshIssued checks that offline_access without prompt=consent gets
// a refresh token and, when it does not, finds out why.
func (r *run) checkRefreshIssued(ctx context.Context, t *tokenResult) {
	const id = "token.refresh_without_consent"
	if !slices.Contains(strings.Fields(r.cfg.Scope), "offline_access") {
		r.rec.skip(id, "--scope %q does not ask for offline_access", r.cfg.Scope)
		return
	}
	if t.refreshToken != "" {
		r.rec.pass(id, "%s for scope %q, sent without prompt", tokenDescription("refresh token", t.refreshToken), r.cfg.Scope)
		return
	}
	granted := ""
	if t.scope != "" {
		granted = fmt.Sprintf(" (granted scope %q)", t.scope)
		if !slices.Contains(strings.Fields(t.scope), "offline_access") {
			granted = fmt.Sprintf(" (granted scope %q lacks offline_access)", t.scope)
		}
	}
	if !r.canLoginAgain() {
		r.rec.fail(id, "no refresh token for scope %q without prompt%s; Plaid sends no prompt parameter", r.cfg.Scope, granted)
		return
	}
	ar := r.newAuthRequest("login with prompt=consent")
	ar.prompt = "consent"
	s, why := r.loginAndExchange(ctx, ar)
	switch {
	case s != nil && s.tokens.refreshToken != "":
		r.rec.fail(id, "no refresh token for scope %q without prompt%s, but one is issued with prompt=consent: Plaid sends no prompt, so it never gets a refresh token", r.cfg.Scope, granted)
	case s != nil:
		r.rec.fail(id, "no refresh token for scope %q%s, not even with prompt=consent: is offline_access allowed for this client?", r.cfg.Scope, granted)
	default:
		r.rec.fail(id, "no refresh token for scope %q without prompt%s (a retry with prompt=consent failed: %s)", r.cfg.Scope, granted, why)
	}
}

// checkIDToken checks the ID token's claims (the signature is jwks'
// business) and returns it parsed, or nil.
func (r *run) checkIDToken(raw string, ar authRequest) *parsedIDToken {
	claimIDs := []string{"token.id_token_iss", "token.id_token_aud", "token.id_token_exp", "token.id_token_iat", "token.id_token_nonce", "token.id_token_sub"}
	if raw == "" {
		if slices.Contains(strings.Fields(r.cfg.Scope), "openid") {
			r.rec.fail("token.id_token", "no id_token although the scope includes openid")
		} else {
			r.rec.skip("token.id_token", "the scope does not include openid")
		}
		for _, id := range claimIDs {
			r.rec.skip(id, "no ID token")
		}
		return nil
	}
	p, err := parseIDToken(raw)
	if err != nil {
		r.rec.fail("token.id_token", "%v", err)
		for _, id := range claimIDs {
			r.rec.skip(id, "the ID token does not parse")
		}
		return nil
	}
	r.rec.pass("token.id_token", "a signed JWT (%s, kid %q)", p.alg, p.kid)
	c := p.claims
	wantIss := r.issuer()
	switch {
	case c.Issuer == "":
		r.rec.fail("token.id_token_iss", "no iss claim")
	case wantIss == "":
		r.rec.info("token.id_token_iss", "iss %q (no issuer to compare with)", c.Issuer)
	case c.Issuer == wantIss:
		r.rec.pass("token.id_token_iss", "iss %q", c.Issuer)
	default:
		r.rec.fail("token.id_token_iss", "iss %q differs from the issuer %q", c.Issuer, wantIss)
	}

	switch {
	case !slices.Contains([]string(c.Audience), r.cfg.ClientID):
		r.rec.fail("token.id_token_aud", "aud %v does not contain the client_id %q", []string(c.Audience), r.cfg.ClientID)
	case len(c.Audience) > 1 && c.AZP != r.cfg.ClientID:
		r.rec.warn("token.id_token_aud", "aud has %d values and azp is %q, not the client_id", len(c.Audience), c.AZP)
	default:
		r.rec.pass("token.id_token_aud", "aud contains the client_id")
	}

	now := r.now()
	switch {
	case c.Expiry == nil:
		r.rec.fail("token.id_token_exp", "no exp claim")
	case !c.Expiry.Time().After(now):
		r.rec.fail("token.id_token_exp", "exp %s is not in the future (now %s)", c.Expiry.Time().UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	default:
		r.rec.pass("token.id_token_exp", "expires in %s", c.Expiry.Time().Sub(now).Round(time.Second))
	}

	const skew = 5 * time.Minute
	switch {
	case c.IssuedAt == nil:
		r.rec.fail("token.id_token_iat", "no iat claim")
	case c.IssuedAt.Time().After(now.Add(skew)):
		r.rec.fail("token.id_token_iat", "iat is %s in the future: the provider's clock is ahead", c.IssuedAt.Time().Sub(now).Round(time.Second))
	case c.IssuedAt.Time().Before(now.Add(-10 * time.Minute)):
		r.rec.warn("token.id_token_iat", "iat is %s in the past for a token issued just now: the provider's clock is behind, or tokens are cached", now.Sub(c.IssuedAt.Time()).Round(time.Second))
	default:
		r.rec.pass("token.id_token_iat", "iat %s", c.IssuedAt.Time().UTC().Format(time.RFC3339))
	}

	switch {
	case ar.nonce == "":
		r.rec.skip("token.id_token_nonce", "no nonce was sent")
	case c.Nonce == ar.nonce:
		r.rec.pass("token.id_token_nonce", "nonce returned unchanged")
	case c.Nonce == "":
		r.rec.fail("token.id_token_nonce", "a nonce was sent, but the ID token has none")
	default:
		r.rec.fail("token.id_token_nonce", "the ID token's nonce differs from the one sent")
	}

	switch n := utf8.RuneCountInString(c.Subject); {
	case n == 0:
		r.rec.fail("token.id_token_sub", "no sub claim")
	case n < 7:
		r.rec.fail("token.id_token_sub", "sub %q has %d characters: fewer than seven, so the consistency key is rejected", c.Subject, n)
	default:
		r.rec.pass("token.id_token_sub", "sub %q (%d characters)", c.Subject, n)
	}
	return p
}

func (r *run) checkUserinfo(ctx context.Context) {
	switch {
	case r.main == nil:
		r.rec.skip("userinfo.access_token", "no access token (see token.exchange_basic)")
		r.rec.skip("userinfo.sub", "no access token")
		return
	case r.ep.userinfo == "":
		r.rec.skip("userinfo.access_token", "no userinfo_endpoint (see discovery.endpoints)")
		r.rec.skip("userinfo.sub", "no userinfo_endpoint")
		return
	}
	claims, resp, err := r.userinfo(ctx, r.main.tokens.accessToken)
	if err != nil {
		r.rec.fail("userinfo.access_token", "%v", err)
		r.rec.skip("userinfo.sub", "userinfo failed")
		return
	}
	if resp.status != http.StatusOK {
		r.rec.fail("userinfo.access_token", "the access token from the token endpoint is refused: %s: %s", resp.summary(), snippet(resp.body, 160))
		r.rec.skip("userinfo.sub", "userinfo refused the access token")
		return
	}
	sub, _ := claims["sub"].(string)
	if claims == nil || sub == "" {
		r.rec.fail("userinfo.access_token", "%s but the body has no sub: %s", resp.summary(), snippet(resp.body, 160))
		r.rec.skip("userinfo.sub", "no sub")
		return
	}
	r.userinfoOK = true
	r.rec.pass("userinfo.access_token", "%s with sub", resp.summary())
	switch {
	case r.main.id == nil:
		r.rec.skip("userinfo.sub", "no ID token to compare with")
	case sub == r.main.id.claims.Subject:
		r.rec.pass("userinfo.sub", "sub %q equals the ID token's", sub)
	default:
		r.rec.fail("userinfo.sub", "userinfo sub %q differs from the ID token's %q", sub, r.main.id.claims.Subject)
	}
}

// userinfo calls the userinfo endpoint with token. A signed (JWT) answer is
// read without verification: only sub is compared.
func (r *run) userinfo(ctx context.Context, token string) (map[string]any, *response, error) {
	resp, err := r.client.get(ctx, r.ep.userinfo, http.Header{"Authorization": {"Bearer " + token}, "Accept": {"application/json"}})
	if err != nil {
		return nil, nil, err
	}
	if resp.status != http.StatusOK {
		return nil, resp, nil
	}
	var claims map[string]any
	body := resp.body
	if resp.contentType() == "application/jwt" {
		parts := strings.Split(strings.TrimSpace(string(body)), ".")
		if len(parts) == 3 {
			body, _ = base64URLDecode(parts[1])
		}
	}
	_ = json.Unmarshal(body, &claims)
	return claims, resp, nil
}

// tokenAccepted reports whether userinfo still accepts an access token; ok
// is false when userinfo cannot tell (it refused the main token too).
func (r *run) tokenAccepted(ctx context.Context, token string) (accepted, ok bool) {
	if !r.userinfoOK {
		return false, false
	}
	_, resp, err := r.userinfo(ctx, token)
	if err != nil || resp == nil {
		return false, false
	}
	return resp.status == http.StatusOK, true
}

// checkSecondLogin logs the same user in again: the code is then used twice,
// and sub compared across the two logins.
func (r *run) checkSecondLogin(ctx context.Context) {
	ar := r.newAuthRequest("second login")
	out := r.login(ctx, ar, walkLogin)
	var code string
	if out.callback != nil {
		code = out.callback.Query().Get("code")
	}
	if code == "" {
		why := "the second login failed: " + out.failure()
		if out.callback != nil {
			why = "the second login's redirect carried no code"
		}
		r.rec.skip("token.code_reuse", "%s", why)
		r.rec.skip("token.code_reuse_revoked", "%s", why)
		r.rec.skip("consistency.sub_stable", "%s", why)
		return
	}
	first, err := r.exchange(ctx, ar, code, authBasic)
	if err != nil || !first.ok() {
		why := "the second login's code exchange failed"
		if err != nil {
			why += ": " + err.Error()
		} else {
			why += ": " + first.describe()
		}
		r.rec.skip("token.code_reuse", "%s", why)
		r.rec.skip("token.code_reuse_revoked", "%s", why)
		r.rec.skip("consistency.sub_stable", "%s", why)
		return
	}

	second, _ := parseIDToken(first.idToken)
	switch {
	case r.main == nil || r.main.id == nil || second == nil:
		r.rec.skip("consistency.sub_stable", "needs an ID token from both logins")
	case r.main.id.claims.Subject == second.claims.Subject:
		r.rec.pass("consistency.sub_stable", "sub %q on both logins", second.claims.Subject)
	default:
		r.rec.fail("consistency.sub_stable", "sub %q on the first login, %q on the second: the consistency key changes", r.main.id.claims.Subject, second.claims.Subject)
	}

	reuse, err := r.exchange(ctx, ar, code, authBasic)
	st, line := refusal("second use of the code", reuse, err, http.StatusBadRequest, "invalid_grant", Fail)
	r.rec.add("token.code_reuse", st, line, "")
	if err != nil || reuse.ok() {
		r.rec.skip("token.code_reuse_revoked", "the second use of the code was not refused")
		return
	}
	accepted, known := r.tokenAccepted(ctx, first.accessToken)
	switch {
	case !known:
		r.rec.skip("token.code_reuse_revoked", "userinfo does not accept access tokens, so revocation cannot be observed (see userinfo.access_token)")
	case accepted:
		r.rec.warn("token.code_reuse_revoked", "after the code was used twice, the access token from its first exchange still works at userinfo")
	default:
		r.rec.pass("token.code_reuse_revoked", "after the code was used twice, the access token from its first exchange is refused")
	}
}

// checkTokenErrors sends the token requests that must fail, each with a
// code of its own (a server may burn a code on any failed attempt).
func (r *run) checkTokenErrors(ctx context.Context) {
	if !r.canLoginAgain() {
		for _, id := range []string{"token.wrong_secret", "token.wrong_redirect_uri", "token.pkce", "token.exchange_post"} {
			r.rec.skip(id, "%s", needsAutoLogin)
		}
		return
	}
	r.checkWrongSecret(ctx)
	r.checkWrongRedirect(ctx)
	r.checkPKCEAndPost(ctx)
}

// freshCode logs in for ar and returns the code, or why there is none.
func (r *run) freshCode(ctx context.Context, ar authRequest) (code, why string) {
	out := r.login(ctx, ar, walkLogin)
	if out.callback == nil {
		return "", "the login failed: " + out.failure()
	}
	if c := out.callback.Query().Get("code"); c != "" {
		return c, ""
	}
	return "", "the redirect carried no code"
}

func (r *run) checkWrongSecret(ctx context.Context) {
	const id = "token.wrong_secret"
	ar := r.newAuthRequest("wrong-secret login")
	code, why := r.freshCode(ctx, ar)
	if code == "" {
		r.rec.skip(id, "%s", why)
		return
	}
	wrong := randomValue()
	r.rec.secret(wrong)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {ar.redirectURI}}
	t, err := r.tokenRequest(ctx, form, authBasic, wrong)
	st, line := refusal("wrong client secret", t, err, http.StatusUnauthorized, "invalid_client", Fail)
	if st == Warn {
		line += " (RFC 6749 §5.2: 401 when the client authenticated with HTTP Basic)"
	}
	r.rec.add(id, st, line, "")
}

func (r *run) checkWrongRedirect(ctx context.Context) {
	const id = "token.wrong_redirect_uri"
	ar := r.newAuthRequest("wrong-redirect login")
	code, why := r.freshCode(ctx, ar)
	if code == "" {
		r.rec.skip(id, "%s", why)
		return
	}
	other := ar
	other.redirectURI = extendURI(ar.redirectURI, "doctor-other")
	t, err := r.exchange(ctx, other, code, authBasic)
	st, line := refusal("redirect_uri differing from the authorization request's", t, err, http.StatusBadRequest, "invalid_grant", Fail)
	r.rec.add(id, st, line, "")
}

// checkPKCEAndPost checks that a wrong code_verifier fails and the right one
// works, and that client_secret_post works when advertised. One login serves
// both positive cases.
func (r *run) checkPKCEAndPost(ctx context.Context) {
	pkce := r.disc != nil && slices.Contains(r.disc.CodeChallengeMethodsSupported, "S256")
	post := r.disc != nil && slices.Contains(r.disc.TokenEndpointAuthMethodsSupported, "client_secret_post")

	status, line := Pass, ""
	ar := r.newAuthRequest("PKCE login")
	ar.pkceVerifier = randomValue() + randomValue()
	r.rec.secret(ar.pkceVerifier)
	if code, why := r.freshCode(ctx, ar); code == "" {
		status, line = Skip, why
	} else {
		wrong := ar
		wrong.pkceVerifier = randomValue() + randomValue()
		t, err := r.exchange(ctx, wrong, code, authBasic)
		// Accepting a wrong verifier fails only if S256 is advertised;
		// otherwise PKCE is merely unsupported.
		onSuccess := Info
		if pkce {
			onSuccess = Fail
		}
		status, line = refusal("wrong code_verifier", t, err, http.StatusBadRequest, "invalid_grant", onSuccess)
		if status == Info {
			line += " (PKCE is not supported, nor advertised in code_challenge_methods_supported)"
		}
	}

	if !post && !(pkce && status != Skip) {
		r.rec.skip("token.exchange_post", "client_secret_post is not advertised")
		r.rec.add("token.pkce", status, line, "")
		return
	}
	auth := authBasic
	if post {
		auth = authPost
	}
	good := r.newAuthRequest(auth.String() + " login")
	if pkce {
		good.pkceVerifier = randomValue() + randomValue()
		r.rec.secret(good.pkceVerifier)
	}
	code, why := r.freshCode(ctx, good)
	var t *tokenResult
	var err error
	if code != "" {
		t, err = r.exchange(ctx, good, code, auth)
	}
	switch {
	case !post:
		r.rec.skip("token.exchange_post", "client_secret_post is not advertised")
	case code == "":
		r.rec.skip("token.exchange_post", "%s", why)
	case err != nil:
		r.rec.fail("token.exchange_post", "%v", err)
	case t.ok():
		r.rec.pass("token.exchange_post", "%s", t.describe())
	default:
		r.rec.fail("token.exchange_post", "client_secret_post is advertised but the exchange failed: %s", t.describe())
	}
	if pkce && code != "" && status != Skip {
		switch {
		case err == nil && t.ok():
			line += "; the right code_verifier works (" + auth.String() + ")"
		case err != nil:
			line += "; the right code_verifier could not be tried: " + err.Error()
		case !post:
			// client_secret_basic works elsewhere: the verifier is to blame.
			status = worse(status, Fail)
			line += "; the right code_verifier was refused: " + t.describe()
		default:
			line += "; the right code_verifier could not be confirmed (the client_secret_post exchange failed)"
		}
	}
	r.rec.add("token.pkce", status, line, "")
}

// refusal judges a token request that must be refused with wantStatus and
// wantCode: PASS when it was, onSuccess when it succeeded instead, FAIL on a
// server error, WARN when refused otherwise.
func refusal(what string, t *tokenResult, err error, wantStatus int, wantCode string, onSuccess Status) (Status, string) {
	want := fmt.Sprintf("%d %s", wantStatus, wantCode)
	switch {
	case err != nil:
		return Fail, fmt.Sprintf("%s: %v", what, err)
	case t.ok():
		return onSuccess, fmt.Sprintf("%s: accepted, %s and tokens; expected %s", what, t.resp.summary(), want)
	case t.resp.status == wantStatus && t.errCode == wantCode:
		return Pass, fmt.Sprintf("%s: %s", what, t.describe())
	case t.resp.status >= 500:
		return Fail, fmt.Sprintf("%s: %s; expected %s", what, t.describe(), want)
	default:
		return Warn, fmt.Sprintf("%s: refused with %s; expected %s", what, t.describe(), want)
	}
}

// extendURI appends a path segment: "https://a/cb" → "https://a/cb/seg".
func extendURI(raw, seg string) string {
	if strings.HasSuffix(raw, "/") {
		return raw + seg
	}
	return raw + "/" + seg
}

func (r *run) checkCancel(ctx context.Context) {
	const id = "authorize.cancel"
	if !r.canLoginAgain() {
		r.rec.skip(id, "%s", needsAutoLogin)
		return
	}
	ar := r.newAuthRequest("cancel")
	out := r.login(ctx, ar, walkCancel)
	w := out.walk
	switch {
	case !w.cancel && out.callback != nil:
		r.rec.skip(id, "the login pages offer no Cancel button or link (the flow went through to the redirect URI)")
	case !w.cancel:
		r.rec.skip(id, "no Cancel button or link found: %s", out.failure())
	case out.callback == nil:
		r.rec.fail(id, "after Cancel the provider did not redirect to the redirect URI: %s", out.failure())
	default:
		q := out.callback.Query()
		switch e := q.Get("error"); {
		case e == "access_denied":
			r.rec.pass(id, "Cancel → redirect with error=access_denied")
		case e == "" && q.Get("code") != "":
			r.rec.fail(id, "Cancel issued a code instead of error=access_denied")
		default:
			r.rec.fail(id, "Cancel → redirect with error=%q, not access_denied", e)
		}
	}
}

func (r *run) checkStateAndCookies() {
	var bad, good []string
	for _, s := range r.states {
		switch {
		case !s.present:
			bad = append(bad, s.flow+": no state on the redirect")
		case s.got != s.sent:
			bad = append(bad, fmt.Sprintf("%s: sent %q, got back %q", s.flow, s.sent, s.got))
		default:
			good = append(good, s.flow)
		}
	}
	switch {
	case len(bad) > 0:
		r.rec.fail("authorize.state", "%s", joinLines(bad, 8))
	case len(good) > 0:
		r.rec.pass("authorize.state", "state returned unchanged on %d redirects (%s)", len(good), strings.Join(good, ", "))
	default:
		r.rec.skip("authorize.state", "no redirect to the redirect URI was observed")
	}

	if len(r.cookies) == 0 {
		if r.cfg.Manual != nil {
			r.rec.skip("authorize.cookies", "the browser's cookies are not visible with --manual")
		} else {
			r.rec.info("authorize.cookies", "no cookies were set during login")
		}
		return
	}
	seen := map[string]bool{}
	var noSecure, noHTTPOnly, names []string
	overHTTP := false
	for _, c := range r.cookies {
		if seen[c.name] {
			continue
		}
		seen[c.name] = true
		names = append(names, c.name)
		overHTTP = overHTTP || !c.overHTTPS
		if c.overHTTPS && !c.secure {
			noSecure = append(noSecure, c.name)
		}
		if !c.httpOnly {
			noHTTPOnly = append(noHTTPOnly, c.name)
		}
	}
	note := ""
	if overHTTP {
		note = " (Secure is checked on https only)"
	}
	switch {
	case len(noSecure) > 0:
		r.rec.fail("authorize.cookies", "set over https without Secure: %s", strings.Join(noSecure, ", "))
	case len(noHTTPOnly) > 0:
		r.rec.warn("authorize.cookies", "without HttpOnly (readable by scripts): %s", strings.Join(noHTTPOnly, ", "))
	default:
		r.rec.pass("authorize.cookies", "%s, Secure and HttpOnly%s: %s", plural(len(names), "cookie"), note, strings.Join(names, ", "))
	}
}
