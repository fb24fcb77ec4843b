package observe

import (
	"strings"

	"github.com/fdxd/fdxd/internal/store"
)

// oauthErrorCodes are the error codes of RFC 6749, RFC 6750, RFC 7009 and
// OpenID Connect Core that fdxd answers, with its own names for a
// redirect_uri or client that cannot be redirected to. access_denied is
// left out on purpose: it is the user's own Cancel.
var oauthErrorCodes = map[string]bool{
	"invalid_request":            true,
	"invalid_client":             true,
	"invalid_grant":              true,
	"unauthorized_client":        true,
	"unsupported_grant_type":     true,
	"unsupported_response_type":  true,
	"invalid_scope":              true,
	"server_error":               true,
	"temporarily_unavailable":    true,
	"login_required":             true,
	"consent_required":           true,
	"interaction_required":       true,
	"account_selection_required": true,
	"request_not_supported":      true,
	"request_uri_not_supported":  true,
	"invalid_request_uri":        true,
	"invalid_request_object":     true,
	"invalid_token":              true,
	"insufficient_scope":         true,
	"unsupported_token_type":     true,
	"redirect_uri_mismatch":      true,
	"unknown_client":             true,
}

// IsOAuthError reports whether code is an OAuth / OIDC protocol error that
// counts as a failure (every one but access_denied).
func IsOAuthError(code string) bool { return oauthErrorCodes[code] }

// IsFDXRoute reports whether route is an FDX route template (they are
// paths, such as /fdx/v6/accounts/{accountId}; endpoint names are words).
func IsFDXRoute(route string) bool { return strings.HasPrefix(route, "/") }

// IsFailure is the one definition of an error that metrics, request records
// and the alert rule share. A request failed when
//   - it was answered with a 5xx status, or
//   - it answered an OAuth error other than access_denied (a user's Cancel
//     is their decision, logged but never a failure), or
//   - it was an FDX route that answered an FDX error.
//
// Failed sign-ins (login_failed, login_rate_limited: a mistyped password)
// and unknown paths (not_found) are recorded but are not failures.
func IsFailure(status int, route, code string, userDecision bool) bool {
	switch {
	case status >= 500:
		return true
	case userDecision || code == "" || code == "access_denied":
		return false
	case IsFDXRoute(route):
		return true
	default:
		return IsOAuthError(code)
	}
}

// Failed applies IsFailure to a finished Record.
func (r *Record) Failed() bool { return IsFailure(r.Status, r.Route, r.Error, r.UserDecision) }

// StoreRecord is the finished Record as the store keeps it.
func (r *Record) StoreRecord() store.RequestRecord {
	return store.RequestRecord{
		RequestID: r.RequestID, Time: r.Time, Route: r.Route, Method: r.Method, Path: r.Path, Status: r.Status,
		Duration: r.Duration, RemoteAddr: r.RemoteAddr, UserAgent: r.UserAgent,
		ClientID: r.ClientID, Subject: r.Subject, State: r.State, OAuthSessionID: r.OAuthSessionID,
		Error: r.Error, ErrorDescription: r.ErrorDescription, UserDecision: r.UserDecision, Failure: r.Failed(),
		Headers: r.Headers,
	}
}
