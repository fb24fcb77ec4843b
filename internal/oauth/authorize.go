package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/web"
)

// authzParams is a validated authorization request.
type authzParams struct {
	scopes              []string
	nonce               string
	codeChallenge       string
	codeChallengeMethod string
	prompt              []string
	maxAge              int64
	loginHint           string
}

// Limits on authorize parameters.
const (
	maxStateLen     = 2048
	maxNonceLen     = 512
	maxLoginHintLen = 256
)

// handleAuthorize is RFC 6749 §4.1.1 with OIDC Core §3.1.2. Problems with
// client_id or redirect_uri are shown on an error page and never
// redirected; every other problem is redirected back with error, state and
// iss.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rec := observe.From(ctx)
	var (
		raw  rawParams
		perr *Error
	)
	if r.Method == http.MethodPost {
		raw, perr = readForm(w, r)
	} else {
		raw, perr = parseRaw(r.URL.RawQuery)
	}
	if perr != nil {
		s.authorizeErrorPage(w, r, perr, "")
		return
	}
	state := raw.first("state")
	rec.SetState(state)
	rec.SetClient(raw.first("client_id"))
	if rep := raw.repeated("client_id", "redirect_uri"); len(rep) > 0 {
		s.authorizeErrorPage(w, r, invalidRequest("parameter %s is repeated", strings.Join(rep, ", ")), "")
		return
	}
	clientID, redirectURI := raw.first("client_id"), raw.first("redirect_uri")
	if clientID == "" {
		s.authorizeErrorPage(w, r, invalidRequest("client_id is missing"), redirectURI)
		return
	}
	client, err := s.cfg.Store.GetClient(ctx, clientID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.authorizeErrorPage(w, r, newError(ErrCodeUnknownClient, http.StatusBadRequest,
			"client_id %q is not registered with this server", truncateForLog(clientID)), redirectURI)
		return
	case err != nil:
		s.authorizeErrorPage(w, r, s.storeError(err), redirectURI)
		return
	}
	if redirectURI == "" {
		s.authorizeErrorPage(w, r, invalidRequest("redirect_uri is missing"), "")
		return
	}
	if !slices.Contains(client.RedirectURIs, redirectURI) {
		s.authorizeErrorPage(w, r, newError(ErrCodeRedirectURIMismatch, http.StatusBadRequest,
			"redirect_uri does not exactly match any URI registered for this client"), redirectURI)
		return
	}

	// From here on the redirect URI is trusted: errors go back to the client.
	back := func(e *Error) { s.redirectError(w, r, redirectURI, state, e) }
	if len(state) > maxStateLen {
		state = ""
		back(invalidRequest("state is longer than %d characters", maxStateLen))
		return
	}
	p, perr := raw.single()
	if perr != nil {
		back(perr)
		return
	}
	if e := s.available(ctx); e != nil {
		back(e)
		return
	}
	if e := s.allowClient(client); e != nil {
		back(e)
		return
	}
	ap, e := validateAuthorize(client, p)
	if e != nil {
		back(e)
		return
	}

	now := s.now()
	binding := s.browserBinding(w, r)
	ar := store.AuthRequest{
		ID:                  secret.Token("", 24),
		OAuthSessionID:      secret.ID("ses_", 10),
		ClientID:            client.ID,
		RedirectURI:         redirectURI,
		Scopes:              ap.scopes,
		State:               state,
		Nonce:               ap.nonce,
		CodeChallenge:       ap.codeChallenge,
		CodeChallengeMethod: ap.codeChallengeMethod,
		Prompt:              ap.prompt,
		MaxAge:              ap.maxAge,
		LoginHint:           ap.loginHint,
		BrowserBindingHash:  secret.Hash(binding),
		CSRFToken:           secret.Token("", 24),
		CreatedAt:           now,
		ExpiresAt:           now.Add(s.cfg.AuthRequestTTL),
	}
	rec.SetOAuthSession(ar.OAuthSessionID)
	s.cfg.Logger.InfoContext(ctx, "authorization request accepted", "event", "authorize.start",
		"scope", strings.Join(ap.scopes, " "), "redirect_uri", redirectURI, "prompt", strings.Join(ap.prompt, " "),
		"pkce", ap.codeChallenge != "", "max_age", ap.maxAge)

	// An existing sign-in may be reused unless the client asked for a fresh
	// one (prompt=login, or max_age exceeded).
	user, ls, ok, err := s.loginSession(ctx, r)
	if err != nil {
		back(s.storeError(err))
		return
	}
	if ok && !slices.Contains(ap.prompt, "login") &&
		(ap.maxAge < 0 || now.Sub(ls.AuthTime).Seconds() <= float64(ap.maxAge)) {
		ar.UserID, ar.AuthTime = user.ID, ls.AuthTime
		rec.SetSubject(user.Subject)
		if err := s.cfg.Store.CreateAuthRequest(ctx, ar); err != nil {
			back(s.storeError(err))
			return
		}
		s.cfg.Logger.InfoContext(ctx, "existing sign-in reused", "event", "login.session_reused")
		s.continueAfterLogin(w, r, ar, client, user)
		return
	}
	if slices.Contains(ap.prompt, "none") {
		back(newError(ErrCodeLoginRequired, http.StatusBadRequest, "prompt=none but the user is not signed in"))
		return
	}
	if err := s.cfg.Store.CreateAuthRequest(ctx, ar); err != nil {
		back(s.storeError(err))
		return
	}
	http.Redirect(w, r, s.basePath+"/login?ar="+url.QueryEscape(ar.ID), http.StatusSeeOther)
}

// validateAuthorize checks everything but client_id and redirect_uri.
func validateAuthorize(c store.Client, p params) (authzParams, *Error) {
	ap := authzParams{maxAge: -1}
	if _, ok := p["request"]; ok {
		return ap, newError(ErrCodeRequestNotSupported, http.StatusBadRequest, "request objects are not supported")
	}
	if _, ok := p["request_uri"]; ok {
		return ap, newError(ErrCodeRequestURINotSupported, http.StatusBadRequest, "request_uri is not supported")
	}
	switch rt := p["response_type"]; rt {
	case "":
		return ap, invalidRequest("response_type is missing")
	case "code":
	default:
		return ap, newError(ErrCodeUnsupportedResponseType, http.StatusBadRequest,
			"response_type %q is not supported; use code", truncateForLog(rt))
	}
	if !hasGrantType(c, GrantAuthorizationCode) {
		return ap, unauthorizedClient("this client may not use the authorization code grant")
	}
	if rm := p["response_mode"]; rm != "" && rm != "query" {
		return ap, invalidRequest("response_mode %q is not supported; use query", truncateForLog(rm))
	}

	scope, ok := p["scope"]
	if !ok || strings.TrimSpace(scope) == "" {
		return ap, invalidRequest("scope is missing")
	}
	allowed := scopesAllowed(c)
	for _, sc := range strings.Fields(scope) {
		if slices.Contains(ap.scopes, sc) {
			continue
		}
		switch {
		case !slices.Contains(SupportedScopes, sc):
			return ap, invalidScope("scope %q is not supported", truncateForLog(sc))
		case !slices.Contains(allowed, sc):
			return ap, invalidScope("scope %q is not allowed for this client", sc)
		case sc == ScopeOfflineAccess && !hasGrantType(c, GrantRefreshToken):
			// OIDC Core §11: offline_access is ignored when it cannot be honoured.
			continue
		}
		ap.scopes = append(ap.scopes, sc)
	}
	if len(ap.scopes) == 0 {
		return ap, invalidScope("no usable scope: offline_access alone needs a client allowed the refresh_token grant")
	}

	method, challenge := p["code_challenge_method"], p["code_challenge"]
	switch {
	case challenge == "" && method != "":
		return ap, invalidRequest("code_challenge_method without code_challenge")
	case challenge == "" && (c.Public || c.RequirePKCE):
		return ap, invalidRequest("PKCE is required for this client: send code_challenge with code_challenge_method=S256")
	case challenge != "" && method == "":
		return ap, invalidRequest("code_challenge_method is missing; the default (plain) is not supported, use S256")
	case challenge != "" && method != "S256":
		return ap, invalidRequest("code_challenge_method %q is not supported; use S256", truncateForLog(method))
	case challenge != "" && !validS256Challenge(challenge):
		return ap, invalidRequest("code_challenge must be 43 base64url characters (the S256 of the verifier)")
	}
	ap.codeChallenge, ap.codeChallengeMethod = challenge, method

	if prompt := p["prompt"]; prompt != "" {
		for _, v := range strings.Fields(prompt) {
			if !slices.Contains([]string{"none", "login", "consent", "select_account"}, v) {
				return ap, invalidRequest("prompt value %q is not supported", truncateForLog(v))
			}
			ap.prompt = append(ap.prompt, v)
		}
		if slices.Contains(ap.prompt, "none") && len(ap.prompt) > 1 {
			return ap, invalidRequest("prompt=none cannot be combined with other values")
		}
	}
	if v, ok := p["max_age"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return ap, invalidRequest("max_age must be a non-negative integer")
		}
		ap.maxAge = n
	}
	ap.nonce = p["nonce"]
	if len(ap.nonce) > maxNonceLen {
		return ap, invalidRequest("nonce is longer than %d characters", maxNonceLen)
	}
	ap.loginHint = p["login_hint"]
	if len(ap.loginHint) > maxLoginHintLen {
		return ap, invalidRequest("login_hint is longer than %d characters", maxLoginHintLen)
	}
	return ap, nil
}

// validS256Challenge: base64url without padding of a SHA-256 digest.
func validS256Challenge(c string) bool {
	return len(c) == 43 && isUnreservedBase64URL(c)
}

func isUnreservedBase64URL(s string) bool {
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// redirectError sends an error back to the client's (verified) redirect
// URI with state and iss (RFC 9207), and logs it.
func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, redirectURI, state string, e *Error) {
	ctx := r.Context()
	observe.From(ctx).SetError(e.Code, e.Description)
	if e.Code == ErrCodeAccessDenied {
		s.cfg.Logger.InfoContext(ctx, "the user cancelled", "event", "authorize.denied", "user_decision", true)
	} else {
		s.logError(ctx, "authorize.rejected", e, "redirect_uri", redirectURI)
	}
	q := url.Values{"error": {e.Code}, "iss": {s.cfg.Issuer}}
	if e.Description != "" {
		q.Set("error_description", e.Description)
	}
	if state != "" {
		q.Set("state", state)
	}
	http.Redirect(w, r, withQuery(redirectURI, q), http.StatusSeeOther)
}

// withQuery adds q to the registered redirect URI, keeping its own query.
func withQuery(base string, q url.Values) string {
	u, err := url.Parse(base)
	if err != nil {
		// Registered URIs are validated when registered; this cannot happen.
		return base
	}
	merged := u.Query()
	for k, vs := range q {
		merged[k] = vs
	}
	u.RawQuery = merged.Encode()
	u.Fragment = ""
	return u.String()
}

// authorizeErrorPage shows a failure that must not be redirected: unknown
// client, bad or unregistered redirect_uri. Logged with the client_id and
// request id, so the provider sees what the aggregator's logs never show.
func (s *Server) authorizeErrorPage(w http.ResponseWriter, r *http.Request, e *Error, redirectURI string) {
	ctx := r.Context()
	observe.From(ctx).SetError(e.Code, e.Description)
	attrs := []any{}
	if redirectURI != "" {
		attrs = append(attrs, "redirect_uri", truncateForLog(redirectURI))
	}
	s.logError(ctx, "authorize.rejected", e, attrs...)
	securityHeaders(w)
	heading, advice := "We can't continue", "Return to the app you came from and try again. If this keeps happening, contact support and give them the reference below."
	switch e.Code {
	case ErrCodeRedirectURIMismatch:
		heading = "This app's return address is not registered"
		advice = "The app's redirect_uri does not exactly match a registered one, so we will not send you back to it. The app's developers need to fix their configuration."
	case ErrCodeUnknownClient:
		heading = "This app is not registered"
	case ErrCodeTemporarilyUnavailable:
		heading = "Temporarily unavailable"
		advice = "Please try again in a few minutes."
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
		}
	}
	s.cfg.Pages.Error(w, e.Status, web.ErrorPage{Heading: heading, Message: e.Description, Code: e.Code, Advice: advice,
		RequestID: observe.From(ctx).RequestID})
}

// truncateForLog keeps attacker-chosen values short in messages and logs.
func truncateForLog(s string) string {
	const n = 200
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Cookies.
const (
	browserCookie = "fdxd_browser"
	sessionCookie = "fdxd_session"
)

// browserBinding returns this browser's binding value, setting the cookie
// when the browser has none. An attempt can only be finished by the
// browser that started it.
func (s *Server) browserBinding(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(browserCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		return c.Value
	}
	v := secret.Token("", 32)
	s.setCookie(w, browserCookie, v, 0)
	return v
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	path := s.basePath
	if path == "" {
		path = "/"
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// loginSession returns the signed-in user of this browser, if any. err is
// a store failure: whether the browser is signed in is then unknown, which
// is not the same as signed out.
func (s *Server) loginSession(ctx context.Context, r *http.Request) (store.User, store.LoginSession, bool, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 64 {
		return store.User{}, store.LoginSession{}, false, nil
	}
	ls, err := s.cfg.Store.GetLoginSession(ctx, secret.Hash(c.Value))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.User{}, store.LoginSession{}, false, nil
	case err != nil:
		return store.User{}, store.LoginSession{}, false, err
	case !s.now().Before(ls.ExpiresAt):
		return store.User{}, store.LoginSession{}, false, nil
	}
	u, err := s.cfg.Store.GetUser(ctx, ls.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.User{}, store.LoginSession{}, false, nil
	case err != nil:
		return store.User{}, store.LoginSession{}, false, err
	case u.Disabled:
		return store.User{}, store.LoginSession{}, false, nil
	}
	return u, ls, true, nil
}
