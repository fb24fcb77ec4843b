package oauth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/fdxd/fdxd/internal/observe"
)

// Error is an OAuth 2.0 / OIDC protocol error (RFC 6749 §4.1.2.1 and §5.2,
// RFC 6750 §3.1, OIDC Core §3.1.2.6).
type Error struct {
	Code        string
	Description string
	Status      int
	// RetryAfter, in seconds, is sent with 503 temporarily_unavailable.
	RetryAfter int
	// basicChallenge adds WWW-Authenticate: Basic to a 401 invalid_client
	// when the client authenticated through the Authorization header
	// (RFC 6749 §5.2).
	basicChallenge bool
	// err is the cause, for logs only.
	err error
}

func (e *Error) Error() string {
	if e.Description == "" {
		return e.Code
	}
	return e.Code + ": " + e.Description
}

func (e *Error) Unwrap() error { return e.err }

// Error codes.
const (
	ErrCodeInvalidRequest          = "invalid_request"
	ErrCodeInvalidClient           = "invalid_client"
	ErrCodeInvalidGrant            = "invalid_grant"
	ErrCodeUnauthorizedClient      = "unauthorized_client"
	ErrCodeUnsupportedGrantType    = "unsupported_grant_type"
	ErrCodeUnsupportedResponseType = "unsupported_response_type"
	ErrCodeInvalidScope            = "invalid_scope"
	ErrCodeAccessDenied            = "access_denied"
	ErrCodeServerError             = "server_error"
	ErrCodeTemporarilyUnavailable  = "temporarily_unavailable"
	ErrCodeLoginRequired           = "login_required"
	ErrCodeConsentRequired         = "consent_required"
	ErrCodeRequestNotSupported     = "request_not_supported"
	ErrCodeRequestURINotSupported  = "request_uri_not_supported"
	ErrCodeInvalidToken            = "invalid_token"
	ErrCodeInsufficientScope       = "insufficient_scope"
	// ErrCodeRedirectURIMismatch is the troubleshooting guide's name for a
	// redirect_uri that is not registered; it is shown on the error page,
	// never sent by redirect.
	ErrCodeRedirectURIMismatch = "redirect_uri_mismatch"
	ErrCodeUnknownClient       = "unknown_client"
)

func newError(code string, status int, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Description: fmt.Sprintf(format, args...)}
}

func invalidRequest(format string, args ...any) *Error {
	return newError(ErrCodeInvalidRequest, http.StatusBadRequest, format, args...)
}

func invalidGrant(format string, args ...any) *Error {
	return newError(ErrCodeInvalidGrant, http.StatusBadRequest, format, args...)
}

func invalidScope(format string, args ...any) *Error {
	return newError(ErrCodeInvalidScope, http.StatusBadRequest, format, args...)
}

func unauthorizedClient(format string, args ...any) *Error {
	return newError(ErrCodeUnauthorizedClient, http.StatusBadRequest, format, args...)
}

// unavailable is the 503 for maintenance, rate limits and a database that
// does not answer.
func unavailable(retryAfter int, format string, args ...any) *Error {
	e := newError(ErrCodeTemporarilyUnavailable, http.StatusServiceUnavailable, format, args...)
	e.RetryAfter = retryAfter
	return e
}

// serverError wraps an unexpected failure; the cause goes to the log only.
func serverError(err error) *Error {
	return &Error{Code: ErrCodeServerError, Status: http.StatusInternalServerError, Description: "internal error", err: err}
}

// errorBody is the JSON error response of RFC 6749 §5.2.
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// writeJSONError writes e as the token, revocation and introspection
// endpoints answer errors, and records it.
func writeJSONError(w http.ResponseWriter, r *http.Request, e *Error) {
	observe.From(r.Context()).SetError(e.Code, e.Description)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if e.basicChallenge {
		h.Set("WWW-Authenticate", `Basic realm="fdxd", charset="UTF-8"`)
	}
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	body, _ := json.Marshal(errorBody{Error: e.Code, ErrorDescription: e.Description})
	w.WriteHeader(e.Status)
	w.Write(append(body, '\n'))
}

// writeBearerError answers a protected-resource request (userinfo) per
// RFC 6750 §3. When the request carried no token at all the challenge names
// no error (§3.1); the body still says what was missing.
func writeBearerError(w http.ResponseWriter, r *http.Request, e *Error, noToken bool) {
	observe.From(r.Context()).SetError(e.Code, e.Description)
	h := w.Header()
	switch e.Status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusBadRequest:
		challenge := `Bearer realm="fdxd"`
		if !noToken {
			challenge += fmt.Sprintf(`, error=%q`, e.Code)
			if e.Description != "" {
				challenge += fmt.Sprintf(`, error_description=%q`, e.Description)
			}
		}
		h.Set("WWW-Authenticate", challenge)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	body, _ := json.Marshal(errorBody{Error: e.Code, ErrorDescription: e.Description})
	w.WriteHeader(e.Status)
	w.Write(append(body, '\n'))
}
