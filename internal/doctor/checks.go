package doctor

// checkDef is one entry of the catalogue: a check's stage and the fix the
// report prints when it warns or fails. Fixes use the words of Plaid's Core
// Exchange troubleshooting guide where it has them, so a provider's engineer
// can search for the same terms.
type checkDef struct {
	id    string
	stage Stage
	fix   string
}

// catalogue lists every check in report order. Ids are stable: scripts read
// them from the JSON report.
var catalogue = []checkDef{
	// discovery
	{"discovery.reachable", StageDiscovery, `"Error getting OIDC configuration": serve the discovery document at <issuer>/.well-known/openid-configuration with 200 and JSON, publicly reachable over HTTPS; check DNS, TLS, firewall and WAF rules, and that Plaid's IP ranges are allowlisted.`},
	{"discovery.https", StageDiscovery, `Serve the issuer and the discovery document over HTTPS with a valid certificate: aggregators refuse plain http ("HTTPS errors" are a common pre-log issue).`},
	{"discovery.issuer", StageDiscovery, `Set "issuer" to exactly the URL aggregators are given (same scheme, host, port and path; a trailing slash counts). ID tokens must carry the same value in iss.`},
	{"discovery.endpoints", StageDiscovery, `Publish authorization_endpoint, token_endpoint, userinfo_endpoint and jwks_uri as absolute https URLs.`},
	{"discovery.scopes", StageDiscovery, `List openid and offline_access in scopes_supported: they are the scopes Plaid requires.`},
	{"discovery.response_types", StageDiscovery, `Include "code" in response_types_supported: Plaid uses the authorization code flow.`},
	{"discovery.token_auth_methods", StageDiscovery, `Support client_secret_basic at the token endpoint (Plaid's default when token_endpoint_auth_methods_supported is omitted); client_secret_post is optional.`},
	{"discovery.tls", StageDiscovery, `Use TLS 1.2 or newer and a certificate chain from a public CA that covers the host name: self-signed certificates are blocked in production. Turn off TLS 1.0 and 1.1.`},

	// jwks
	{"jwks.reachable", StageJWKS, `jwks_uri_unreachable: make the JWKS endpoint publicly reachable over HTTPS with a 200 JSON answer; check endpoint uptime, DNS resolution, firewall rules and HTTPS configuration.`},
	{"jwks.parse", StageJWKS, `Serve {"keys": [...]} with RFC 7517 keys that a standard JOSE library can read.`},
	{"jwks.unique_kids", StageJWKS, `Give every key a kid that is unique within the set, so the kid in an ID token's header selects exactly one key.`},
	{"jwks.private_material", StageJWKS, `Publish public keys only: remove private parameters (d, p, q, dp, dq, qi) and symmetric (oct) keys from the JWKS now, and rotate every key that was exposed.`},
	{"jwks.algorithms", StageJWKS, `Sign ID tokens with an asymmetric algorithm (RS256 is the OIDC default) and RSA keys of at least 2048 bits; never "none" or HS*.`},
	{"jwks.kid_not_found", StageJWKS, `kid_not_found: the kid in the ID token header must match a key in the published JWKS. Verify correct key rotation and header values: publish a new key before signing with it and keep the old one until its tokens expire (24-hour overlap; Plaid caches JWKS for 24 hours).`},
	{"jwks.invalid_signature", StageJWKS, `invalid_signature: the ID token signature cannot be verified with the published key. Ensure the JWKS is reachable and current, and that tokens are signed with the private half of the key published under that kid.`},
	{"jwks.watch", StageJWKS, ``},
	{"jwks.rotation_early_use", StageJWKS, `Key rotation issues: publish a new key in the JWKS at least 24 hours before signing with it (Plaid caches JWKS for 24 hours), or tokens fail with kid_not_found.`},
	{"jwks.rotation_removed_early", StageJWKS, `Key rotation issues: confirm new keys are published before removing old ones (24-hour overlap), and keep a retired key published until every token signed with it has expired.`},

	// prelog: failures that happen before the token exchange, so the
	// provider's token logs and the Data Partner Dashboard never show them.
	{"prelog.unknown_client", StagePrelog, `For an unknown client_id show an error page and never redirect. This happens before the token exchange, so there are no logs before token exchange in the Dashboard: log it yourself.`},
	{"prelog.redirect_uri_unregistered", StagePrelog, `redirect_uri_mismatch: the redirect URI must exactly match the registered value; on a mismatch show an error page and never redirect.`},
	{"prelog.redirect_uri_prefix", StagePrelog, `redirect_uri_mismatch: compare the whole redirect_uri string with the registered value; a prefix match sends codes to any URL that merely starts with it.`},
	{"prelog.redirect_uri_trailing_slash", StagePrelog, `redirect_uri_mismatch: must exactly match Plaid's redirect URI; do not normalise trailing slashes.`},
	{"prelog.https_endpoints", StagePrelog, `Serve the authorization, token and userinfo endpoints and the FDX API over HTTPS; "HTTPS errors" are a common pre-log issue that leaves no logs before token exchange.`},
	{"prelog.plain_http", StagePrelog, `Do not serve the login page over plain http: refuse the connection or redirect to https.`},

	// authorize
	{"authorize.login", StageAuthorize, `The login did not reach the redirect URI. Check --username and the password; for MFA or JavaScript logins run with --manual.`},
	{"authorize.state", StageAuthorize, `Return state exactly as received on every redirect, success or error: it correlates the redirect with the token exchange.`},
	{"authorize.code", StageAuthorize, `After a successful login redirect to the registered redirect URI with code and state.`},
	{"authorize.iss", StageAuthorize, `When you send iss on the redirect (RFC 9207), it must equal the issuer exactly.`},
	{"authorize.cookies", StageAuthorize, `Mark session and CSRF cookies Secure and HttpOnly.`},
	{"authorize.cancel", StageAuthorize, `On Cancel redirect to the redirect URI with error=access_denied and the same state (access_denied is normal user behaviour: log it, don't alert).`},

	// token
	{"token.exchange_basic", StageToken, `Accept the authorization code at the token endpoint with client_secret_basic (HTTP Basic with the form-encoded client_id and secret). unauthorized_client: confirm client_id/secret.`},
	{"token.exchange_post", StageToken, `client_secret_post is advertised in token_endpoint_auth_methods_supported: accept client_id and client_secret in the form body, or stop advertising it.`},
	{"token.token_type", StageToken, `Return token_type "Bearer".`},
	{"token.expires_in", StageToken, `Expire access tokens in 15 min and say so: expires_in ≤ 900. Plaid checks expires_in before using an access token.`},
	{"token.refresh_without_consent", StageToken, `Issue a refresh token whenever offline_access is requested and granted, without prompt=consent: Plaid sends no prompt parameter.`},
	{"token.id_token", StageToken, `Return a signed id_token when the scope includes openid.`},
	{"token.id_token_iss", StageToken, `Set iss in the ID token to the issuer exactly as published in discovery.`},
	{"token.id_token_aud", StageToken, `Set aud in the ID token to the client_id (and azp to the client_id when aud has several values).`},
	{"token.id_token_exp", StageToken, `Set exp in the ID token to a time in the future.`},
	{"token.id_token_iat", StageToken, `Set iat in the ID token to the time of issue (server clock in UTC, kept in sync).`},
	{"token.id_token_nonce", StageToken, `Copy the nonce of the authorization request into the ID token unchanged.`},
	{"token.id_token_sub", StageToken, `User identifier rejected (consistency key): sub must be at least seven characters; use a longer identifier or a prefix with the institution code.`},
	{"token.code_reuse", StageToken, `invalid_grant: make codes one-time use and expire them within 10 minutes; a second use must get 400 invalid_grant.`},
	{"token.code_reuse_revoked", StageToken, `When a code is used twice, revoke the tokens already issued for it (RFC 6749 §4.1.2): the code may have been stolen.`},
	{"token.wrong_secret", StageToken, `Reject a wrong client secret with 401 invalid_client (unauthorized_client: confirm client_id/secret).`},
	{"token.wrong_redirect_uri", StageToken, `Reject a token request whose redirect_uri differs from the authorization request's with invalid_grant.`},
	{"token.pkce", StageToken, `Verify PKCE when a code_challenge was sent: a wrong code_verifier gets invalid_grant, the right one succeeds.`},

	// refresh
	{"refresh.grant", StageRefresh, `invalid_grant during refresh: the refresh token must keep working for background updates; don't expire or revoke it early.`},
	{"refresh.rotation", StageRefresh, `If you rotate refresh tokens, return the new refresh_token in the response.`},
	{"refresh.rotated_reuse", StageRefresh, `With rotation, tolerate a short reuse window for the previous refresh token, or a response lost on the way to the aggregator ends the connection.`},
	{"refresh.lifetime", StageRefresh, `Set refresh token expiration to 13+ months and don't use inactivity timeouts on refresh tokens.`},

	// userinfo
	{"userinfo.access_token", StageUserinfo, `The userinfo endpoint must accept the access tokens your token endpoint issues (Authorization: Bearer) and answer 200 JSON with sub.`},
	{"userinfo.sub", StageUserinfo, `userinfo's sub must equal the ID token's sub for the same user.`},

	// api
	{"api.bearer_none", StageAPI, `Answer a request without an access token with 401 and FDX error code 602.`},
	{"api.bearer_garbage", StageAPI, `Answer an invalid or expired access token with 401 and FDX error code 602.`},
	{"api.bearer_id_token", StageAPI, `Accept only access tokens: an ID token presented as a bearer token gets 401 and FDX error code 602.`},
	{"api.error_body", StageAPI, `Return errors as the FDX error entity: JSON {"code": <number>, "message": "..."} (debugMessage optional) with the matching HTTP status.`},
	{"api.customers_current", StageAPI, `Serve GET /customers/current with 200 and a customerId of at least seven characters (consistency key).`},
	{"api.accounts", StageAPI, `Serve GET /accounts with 200 and at least one account for the test user.`},
	{"api.next_offset_last_page", StageAPI, `Iteration limit exceeded: on the last page omit nextOffset completely; don't set it to null, an empty string or 0, and don't point it at an empty page.`},
	{"api.pagination_loop", StageAPI, `Iteration limit exceeded: every nextOffset must lead to new items and the walk must end.`},
	{"api.account_details", StageAPI, `Serve GET /accounts/{accountId} with 200 for deposit, investment, loan and line-of-credit accounts.`},
	{"api.account_contact", StageAPI, `Serve GET /accounts/{accountId}/contact with 200 for every account (holders, emails, addresses, telephones).`},
	{"api.payment_networks", StageAPI, `Serve GET /accounts/{accountId}/payment-networks with 200 and at least one network for deposit accounts.`},
	{"api.transactions", StageAPI, `Serve GET /accounts/{accountId}/transactions with 200 for the window Plaid asks (two years on the first connection).`},
	{"api.statements", StageAPI, `Serve GET /accounts/{accountId}/statements with 200, or an FDX error when the account has no statements.`},
	{"api.statement_pdf", StageAPI, `Serve GET /accounts/{accountId}/statements/{statementId} with 200, Content-Type application/pdf and a PDF body.`},
	{"api.asset_transfer_networks", StageAPI, `Serve GET /accounts/{accountId}/asset-transfer-networks with 200, or an FDX error for accounts without them.`},
	{"api.null_field", StageAPI, `Validation failures: never send null. For a required field return a value of the expected type ("" for strings, [] for arrays); omit an optional field entirely.`},
	{"api.schema", StageAPI, `Match the Core Exchange schema: field names, types, enums and required fields of the FDX v6 response.`},
	{"api.unknown_account", StageAPI, `Answer an unknown accountId with 404 and FDX error code 701.`},
	{"api.date_range", StageAPI, `Answer a start date after the end date with 400 and FDX error code 703.`},

	// consistency
	{"consistency.sub_stable", StageConsistency, `User identifier (consistency key): sub must be the same for the same user on every login.`},
}

func lookupCheck(id string) (checkDef, bool) {
	for _, c := range catalogue {
		if c.id == id {
			return c, true
		}
	}
	return checkDef{id: id, stage: "unknown"}, false
}

func checkIndex(id string) int {
	for i, c := range catalogue {
		if c.id == id {
			return i
		}
	}
	return len(catalogue)
}

// CheckIDs lists every check id in report order.
func CheckIDs() []string {
	ids := make([]string, len(catalogue))
	for i, c := range catalogue {
		ids[i] = c.id
	}
	return ids
}
