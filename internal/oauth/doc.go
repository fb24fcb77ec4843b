// Package oauth is fdxd's OAuth 2.0 and OpenID Connect authorization
// server: discovery, authorize with login, token, userinfo, JWKS,
// revocation and introspection, plus the access-token verification the
// FDX resource API relies on.
//
// The rules of Plaid's troubleshooting guide are enforced here by
// construction: single-use codes of at most ten minutes, exact redirect URI
// matching, refresh tokens issued for offline_access without prompt=consent,
// ID tokens whose kid is always published, and logs that carry state,
// client_id, sub and oauth_session_id from the first request on.
package oauth
