package oauth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/fdxd/fdxd/internal/keys"
)

// discoveryMetadata is OpenID Connect Discovery 1.0 §3 and RFC 8414 §2 in
// one document; both well-known paths serve it.
type discoveryMetadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	PromptValuesSupported                      []string `json:"prompt_values_supported"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	RequestParameterSupported                  bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported               bool     `json:"request_uri_parameter_supported"`
	ClaimsParameterSupported                   bool     `json:"claims_parameter_supported"`
}

// clientAuthMethods are the advertised client authentication methods;
// public clients (PKCE, no secret) work but are not advertised, as Plaid
// authenticates with a secret.
var clientAuthMethods = []string{"client_secret_basic", "client_secret_post"}

// ClaimsSupported are the claims ID tokens and userinfo may carry.
var ClaimsSupported = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp",
	"name", "email", "email_verified", "updated_at"}

func (s *Server) discoveryDocument() ([]byte, error) {
	m := discoveryMetadata{
		Issuer:                                     s.cfg.Issuer,
		AuthorizationEndpoint:                      s.endpoint("/authorize"),
		TokenEndpoint:                              s.endpoint("/token"),
		UserinfoEndpoint:                           s.endpoint("/userinfo"),
		JWKSURI:                                    s.endpoint("/jwks"),
		RevocationEndpoint:                         s.endpoint("/revoke"),
		IntrospectionEndpoint:                      s.endpoint("/introspect"),
		ScopesSupported:                            SupportedScopes,
		ResponseTypesSupported:                     []string{"code"},
		ResponseModesSupported:                     []string{"query"},
		GrantTypesSupported:                        SupportedGrantTypes,
		SubjectTypesSupported:                      []string{"public"},
		IDTokenSigningAlgValuesSupported:           keys.Algorithms,
		TokenEndpointAuthMethodsSupported:          clientAuthMethods,
		RevocationEndpointAuthMethodsSupported:     clientAuthMethods,
		IntrospectionEndpointAuthMethodsSupported:  clientAuthMethods,
		CodeChallengeMethodsSupported:              []string{"S256"},
		ClaimsSupported:                            ClaimsSupported,
		PromptValuesSupported:                      []string{"none", "login", "consent"},
		AuthorizationResponseIssParameterSupported: true,
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("oauth: encode discovery: %w", err)
	}
	return append(b, '\n'), nil
}

// discoveryMaxAge lets verifiers cache discovery for five minutes.
const discoveryMaxAge = 300

func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(discoveryMaxAge))
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Content-Length", strconv.Itoa(len(s.discovery)))
	w.Write(s.discovery)
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	body, maxAge := s.cfg.Keys.JWKS()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(maxAge.Seconds())))
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}
