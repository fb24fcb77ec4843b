package oauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/password"
	"github.com/fdxd/fdxd/internal/ratelimit"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/web"
)

// attempt is an authorization request loaded for the login or selection
// page, with its client.
type attempt struct {
	ar     store.AuthRequest
	client store.Client
}

// pageError is a failure shown as an error page.
type pageError struct {
	status  int
	heading string
	message string
	code    string
	advice  string
	retry   int
}

var (
	errAttemptMissing = &pageError{status: http.StatusBadRequest, heading: "This sign-in has expired",
		message: "This sign-in link has expired or was already used.", code: "invalid_request",
		advice: "Return to the app you came from and start connecting again."}
	errAttemptElsewhere = &pageError{status: http.StatusForbidden, heading: "This sign-in was started elsewhere",
		message: "This sign-in was started in another browser or the browser's cookies were cleared.", code: "invalid_request",
		advice: "Return to the app you came from and start connecting again in this browser."}
	errFormExpired = &pageError{status: http.StatusForbidden, heading: "This form has expired",
		message: "The form could not be verified.", code: "invalid_request",
		advice: "Return to the app you came from and start connecting again."}
)

func (s *Server) showPageError(w http.ResponseWriter, r *http.Request, pe *pageError) {
	ctx := r.Context()
	rec := observe.From(ctx)
	rec.SetError(pe.code, pe.message)
	securityHeaders(w)
	if pe.retry > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(pe.retry))
	}
	s.cfg.Logger.WarnContext(ctx, pe.message, "event", "login.rejected", "error", pe.code)
	s.cfg.Pages.Error(w, pe.status, web.ErrorPage{Heading: pe.heading, Message: pe.message, Code: pe.code,
		Advice: pe.advice, RequestID: rec.RequestID})
}

func storePageError(e *Error) *pageError {
	pe := &pageError{status: e.Status, heading: "We can't continue", message: e.Description, code: e.Code,
		advice: "Please try again in a few minutes.", retry: e.RetryAfter}
	if e.Code == ErrCodeServerError {
		pe.advice = "Return to the app you came from and try again."
	}
	return pe
}

// loadAttempt loads the attempt named by id and checks that this browser
// started it.
func (s *Server) loadAttempt(r *http.Request, id string) (attempt, *pageError) {
	ctx := r.Context()
	if id == "" || len(id) > 64 {
		return attempt{}, errAttemptMissing
	}
	ar, err := s.cfg.Store.GetAuthRequest(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return attempt{}, errAttemptMissing
	case err != nil:
		return attempt{}, storePageError(s.storeError(err))
	}
	rec := observe.From(ctx)
	rec.SetClient(ar.ClientID)
	rec.SetState(ar.State)
	rec.SetOAuthSession(ar.OAuthSessionID)
	if !s.now().Before(ar.ExpiresAt) {
		return attempt{}, errAttemptMissing
	}
	c, err := r.Cookie(browserCookie)
	if err != nil || !secret.Equal(secret.Hash(c.Value), ar.BrowserBindingHash) {
		return attempt{}, errAttemptElsewhere
	}
	client, err := s.cfg.Store.GetClient(ctx, ar.ClientID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return attempt{}, errAttemptMissing
	case err != nil:
		return attempt{}, storePageError(s.storeError(err))
	}
	return attempt{ar: ar, client: client}, nil
}

// postedAttempt reads a login or selection form: body, origin, attempt,
// CSRF token.
func (s *Server) postedAttempt(w http.ResponseWriter, r *http.Request) (rawParams, attempt, *pageError) {
	if err := s.crossOrigin.Check(r); err != nil {
		return nil, attempt{}, errFormExpired
	}
	raw, perr := readForm(w, r)
	if perr != nil {
		return nil, attempt{}, &pageError{status: perr.Status, heading: "We can't continue", message: perr.Description,
			code: perr.Code, advice: "Return to the app you came from and start connecting again."}
	}
	if rep := raw.repeated("ar", "csrf_token", "action", "username", "password"); len(rep) > 0 {
		return nil, attempt{}, &pageError{status: http.StatusBadRequest, heading: "We can't continue",
			message: "parameter " + strings.Join(rep, ", ") + " is repeated", code: ErrCodeInvalidRequest}
	}
	at, pe := s.loadAttempt(r, raw.first("ar"))
	if pe != nil {
		return nil, attempt{}, pe
	}
	if tok := raw.first("csrf_token"); tok == "" || !secret.Equal(tok, at.ar.CSRFToken) {
		return nil, attempt{}, errFormExpired
	}
	return raw, at, nil
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, at attempt, status int, username, message string) {
	securityHeaders(w, at.ar.RedirectURI)
	s.cfg.Pages.Login(w, status, web.LoginPage{
		Action:      s.basePath + "/login",
		AuthRequest: at.ar.ID,
		CSRFToken:   at.ar.CSRFToken,
		ClientName:  at.client.Name,
		Username:    username,
		Error:       message,
		RequestID:   observe.From(r.Context()).RequestID,
	})
}

func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	at, pe := s.loadAttempt(r, r.URL.Query().Get("ar"))
	if pe != nil {
		s.showPageError(w, r, pe)
		return
	}
	s.loginPage(w, r, at, http.StatusOK, at.ar.LoginHint, "")
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	raw, at, pe := s.postedAttempt(w, r)
	if pe != nil {
		s.showPageError(w, r, pe)
		return
	}
	switch raw.first("action") {
	case "cancel":
		s.deny(w, r, at)
	case "login", "":
		s.login(w, r, at, strings.TrimSpace(raw.first("username")), raw.first("password"))
	default:
		s.showPageError(w, r, &pageError{status: http.StatusBadRequest, heading: "We can't continue",
			message: "unknown form action", code: ErrCodeInvalidRequest})
	}
}

// MaxPasswordBytes is the longest password the sign-in page accepts; a
// password is never set longer (fdxd users add|set-password).
const MaxPasswordBytes = 1024

// Login failure messages never say which of the two was wrong.
const (
	msgBadCredentials = "The username or password is incorrect."
	msgMissingFields  = "Enter your username and password."
)

func (s *Server) login(w http.ResponseWriter, r *http.Request, at attempt, username, pw string) {
	ctx := r.Context()
	rec := observe.From(ctx)
	if username == "" || pw == "" || len(username) > 256 || len(pw) > MaxPasswordBytes {
		s.loginPage(w, r, at, http.StatusBadRequest, username, msgMissingFields)
		return
	}
	addr := rec.RemoteAddr
	if limited, wait := s.loginLimited(username, addr); limited {
		rec.SetError("login_rate_limited", "too many failed sign-in attempts")
		s.cfg.Logger.WarnContext(ctx, "sign-in refused: too many failed attempts", "event", "login.rate_limited",
			"remote_addr", addr, "retry_after_seconds", ratelimit.RetryAfter(wait))
		w.Header().Set("Retry-After", fmt.Sprint(ratelimit.RetryAfter(wait)))
		s.loginPage(w, r, at, http.StatusTooManyRequests, username,
			fmt.Sprintf("Too many failed sign-in attempts. Try again in %s.", humanWait(wait)))
		return
	}

	user, err := s.cfg.Store.GetUserByUsername(ctx, username)
	reason := ""
	switch {
	case errors.Is(err, store.ErrNotFound):
		password.VerifyMissing(pw, s.cfg.PasswordParams)
		reason = "unknown_user"
	case err != nil:
		s.showPageError(w, r, storePageError(s.storeError(err)))
		return
	default:
		rec.SetSubject(user.Subject)
		if err := password.Verify(pw, user.PasswordHash); err != nil {
			reason = "bad_password"
			if !errors.Is(err, password.ErrMismatch) {
				s.cfg.Logger.ErrorContext(ctx, "stored password hash is unusable", "event", "login.bad_hash", "error", err.Error())
			}
		} else if user.Disabled {
			reason = "user_disabled"
		}
	}
	if reason != "" {
		s.userFails.Take(strings.ToLower(username))
		s.addrFails.Take(addr)
		rec.SetError("login_failed", reason)
		// The username is not logged: people type passwords into it.
		s.cfg.Logger.WarnContext(ctx, "sign-in failed", "event", "login.failed", "reason", reason, "remote_addr", addr)
		s.loginPage(w, r, at, http.StatusBadRequest, username, msgBadCredentials)
		return
	}

	if user.Ineligible {
		s.deleteAttempt(r, at)
		s.redirectError(w, r, at.ar.RedirectURI, at.ar.State,
			unauthorizedClient("this user is not eligible to connect accounts to third parties"))
		return
	}

	now := s.now()
	sessionValue := secret.Token("", 32)
	if err := s.cfg.Store.CreateLoginSession(ctx, store.LoginSession{IDHash: secret.Hash(sessionValue), UserID: user.ID,
		AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(s.cfg.LoginSessionTTL)}); err != nil {
		s.showPageError(w, r, storePageError(s.storeError(err)))
		return
	}
	s.setCookie(w, sessionCookie, sessionValue, int(s.cfg.LoginSessionTTL.Seconds()))
	err = s.cfg.Store.UpdateAuthRequest(ctx, at.ar.ID, func(ar store.AuthRequest) (store.AuthRequest, error) {
		ar.UserID, ar.AuthTime = user.ID, now
		return ar, nil
	})
	if err != nil {
		s.showPageError(w, r, storePageError(s.storeError(err)))
		return
	}
	at.ar.UserID, at.ar.AuthTime = user.ID, now
	s.cfg.Logger.InfoContext(ctx, "sign-in succeeded", "event", "login.succeeded")
	s.continueAfterLogin(w, r, at.ar, at.client, user)
}

// loginLimited reports whether failed logins for this user or address have
// used up their allowance.
func (s *Server) loginLimited(username, addr string) (bool, time.Duration) {
	if limited, wait := s.userFails.Exhausted(strings.ToLower(username)); limited {
		return true, wait
	}
	return s.addrFails.Exhausted(addr)
}

func humanWait(d time.Duration) string {
	if d < time.Minute {
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", int(d.Minutes()+0.999))
}

// continueAfterLogin moves an authenticated attempt on: to account
// selection when the client asks for it, otherwise straight back to the
// client with a code.
func (s *Server) continueAfterLogin(w http.ResponseWriter, r *http.Request, ar store.AuthRequest, client store.Client, user store.User) {
	if user.Ineligible {
		s.deleteAttempt(r, attempt{ar: ar})
		s.redirectError(w, r, ar.RedirectURI, ar.State, unauthorizedClient("this user is not eligible to connect accounts to third parties"))
		return
	}
	if client.AccountSelection {
		if slices.Contains(ar.Prompt, "none") {
			s.deleteAttempt(r, attempt{ar: ar})
			s.redirectError(w, r, ar.RedirectURI, ar.State, newError(ErrCodeConsentRequired, http.StatusBadRequest,
				"prompt=none but this client requires the user to choose accounts"))
			return
		}
		http.Redirect(w, r, s.basePath+"/select?ar="+url.QueryEscape(ar.ID), http.StatusSeeOther)
		return
	}
	s.issueCode(w, r, ar, client, user, false, nil)
}

// issueCode ends the attempt: a code is stored (hashed) and the browser
// goes back to the client with code, state and iss.
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, ar store.AuthRequest, client store.Client, user store.User,
	selection bool, accounts []string) {
	ctx := r.Context()
	now := s.now()
	code := secret.Token("", 32)
	ac := store.AuthCode{
		Hash:                secret.Hash(code),
		GrantID:             secret.ID("grt_", 15),
		OAuthSessionID:      ar.OAuthSessionID,
		ClientID:            client.ID,
		UserID:              user.ID,
		Subject:             user.Subject,
		RedirectURI:         ar.RedirectURI,
		Scopes:              ar.Scopes,
		AccountSelection:    selection,
		AccountIDs:          accounts,
		Nonce:               ar.Nonce,
		State:               ar.State,
		CodeChallenge:       ar.CodeChallenge,
		CodeChallengeMethod: ar.CodeChallengeMethod,
		AuthTime:            ar.AuthTime,
		CreatedAt:           now,
		ExpiresAt:           now.Add(s.cfg.CodeTTL),
	}
	if err := s.cfg.Store.CreateAuthCode(ctx, ac); err != nil {
		s.redirectError(w, r, ar.RedirectURI, ar.State, s.storeError(err))
		return
	}
	s.deleteAttempt(r, attempt{ar: ar})
	observe.From(ctx).SetSubject(user.Subject)
	attrs := []any{"event", "authorize.code_issued", "grant_id", ac.GrantID, "scope", strings.Join(ac.Scopes, " "),
		"code_expires_at", ac.ExpiresAt.Format(time.RFC3339)}
	if selection {
		attrs = append(attrs, "accounts_selected", len(accounts))
	}
	s.cfg.Logger.InfoContext(ctx, "authorization code issued", attrs...)
	q := url.Values{"code": {code}, "iss": {s.cfg.Issuer}}
	if ar.State != "" {
		q.Set("state", ar.State)
	}
	http.Redirect(w, r, withQuery(ar.RedirectURI, q), http.StatusSeeOther)
}

// deny is the user's Cancel: access_denied back to the client, logged as a
// decision, never as a failure.
func (s *Server) deny(w http.ResponseWriter, r *http.Request, at attempt) {
	observe.From(r.Context()).SetUserDecision()
	s.deleteAttempt(r, at)
	s.redirectError(w, r, at.ar.RedirectURI, at.ar.State, &Error{Code: ErrCodeAccessDenied, Status: http.StatusBadRequest,
		Description: "the user cancelled"})
}

// deleteAttempt removes a finished attempt; a failure only leaves a row for
// garbage collection.
func (s *Server) deleteAttempt(r *http.Request, at attempt) {
	if err := s.cfg.Store.DeleteAuthRequest(r.Context(), at.ar.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.cfg.Logger.WarnContext(r.Context(), "could not delete a finished authorization request", "event", "authorize.cleanup_failed",
			"error", err.Error())
	}
}

func (s *Server) handleSelectPage(w http.ResponseWriter, r *http.Request) {
	at, pe := s.loadAttempt(r, r.URL.Query().Get("ar"))
	if pe != nil {
		s.showPageError(w, r, pe)
		return
	}
	if at.ar.UserID == "" {
		http.Redirect(w, r, s.basePath+"/login?ar="+url.QueryEscape(at.ar.ID), http.StatusSeeOther)
		return
	}
	s.selectPage(w, r, at, http.StatusOK, nil, "")
}

func (s *Server) selectPage(w http.ResponseWriter, r *http.Request, at attempt, status int, checked []string, message string) {
	ctx := r.Context()
	accounts, err := s.cfg.Store.ListAccountSummaries(ctx, at.ar.UserID)
	if err != nil {
		s.showPageError(w, r, storePageError(s.storeError(err)))
		return
	}
	page := web.SelectPage{Action: s.basePath + "/select", AuthRequest: at.ar.ID, CSRFToken: at.ar.CSRFToken,
		ClientName: at.client.Name, Error: message, RequestID: observe.From(ctx).RequestID}
	for _, a := range accounts {
		name := a.Nickname
		if name == "" {
			name = a.ProductName
		}
		page.Accounts = append(page.Accounts, web.SelectAccount{ID: a.ID, Name: name, Number: a.NumberDisplay,
			Kind: accountKind(a), Checked: checked == nil || slices.Contains(checked, a.ID)})
	}
	securityHeaders(w, at.ar.RedirectURI)
	s.cfg.Pages.Select(w, status, page)
}

func accountKind(a store.AccountSummary) string {
	kind := strings.ToLower(strings.ReplaceAll(strings.TrimSuffix(a.Category, "_ACCOUNT"), "_", " "))
	if kind == "loc" {
		kind = "line of credit"
	}
	if a.Type != "" {
		kind += " · " + strings.ToLower(a.Type)
	}
	return kind
}

func (s *Server) handleSelect(w http.ResponseWriter, r *http.Request) {
	raw, at, pe := s.postedAttempt(w, r)
	if pe != nil {
		s.showPageError(w, r, pe)
		return
	}
	if at.ar.UserID == "" {
		http.Redirect(w, r, s.basePath+"/login?ar="+url.QueryEscape(at.ar.ID), http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	switch raw.first("action") {
	case "cancel":
		s.deny(w, r, at)
		return
	case "share", "":
	default:
		s.showPageError(w, r, &pageError{status: http.StatusBadRequest, heading: "We can't continue",
			message: "unknown form action", code: ErrCodeInvalidRequest})
		return
	}
	user, err := s.cfg.Store.GetUser(ctx, at.ar.UserID)
	if err != nil {
		s.showPageError(w, r, storePageError(s.storeError(err)))
		return
	}
	observe.From(ctx).SetSubject(user.Subject)
	owned, err := s.cfg.Store.ListAccountSummaries(ctx, user.ID)
	if err != nil {
		s.showPageError(w, r, storePageError(s.storeError(err)))
		return
	}
	var chosen []string
	for _, id := range raw["account"] {
		if !slices.ContainsFunc(owned, func(a store.AccountSummary) bool { return a.ID == id }) {
			s.showPageError(w, r, &pageError{status: http.StatusBadRequest, heading: "We can't continue",
				message: "an account that is not yours was submitted", code: ErrCodeInvalidRequest})
			return
		}
		if !slices.Contains(chosen, id) {
			chosen = append(chosen, id)
		}
	}
	if len(chosen) == 0 {
		s.selectPage(w, r, at, http.StatusBadRequest, []string{}, "Select at least one account to share, or choose Cancel.")
		return
	}
	s.cfg.Logger.InfoContext(ctx, "accounts selected", "event", "consent.accounts_selected", "accounts_selected", len(chosen))
	s.issueCode(w, r, at.ar, at.client, user, true, chosen)
}
