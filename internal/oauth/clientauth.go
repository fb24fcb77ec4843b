package oauth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
)

// authenticateClient identifies and authenticates the client of a token,
// revocation or introspection request: HTTP Basic (client_secret_basic),
// form fields (client_secret_post), or client_id alone for a public client.
// Unknown clients and wrong secrets get the same answer.
func (s *Server) authenticateClient(ctx context.Context, r *http.Request, p params) (store.Client, *Error) {
	rec := observe.From(ctx)
	var (
		id, sec   string
		usedBasic bool
	)
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Basic") {
			// Still a header attempt: RFC 6749 §5.2 wants the 401 to
			// challenge, and Basic is the scheme to use.
			return store.Client{}, invalidClient(true, "unsupported Authorization scheme; use Basic")
		}
		usedBasic = true
		var ok bool
		id, sec, ok = parseBasic(strings.TrimSpace(cred))
		if !ok {
			return store.Client{}, invalidClient(true, "malformed Basic credentials")
		}
		if _, both := p["client_secret"]; both {
			return store.Client{}, invalidRequest("use one client authentication method, not Basic and client_secret together")
		}
		if formID, ok := p["client_id"]; ok && formID != id {
			return store.Client{}, invalidRequest("client_id in the body differs from the Basic credentials")
		}
	} else {
		id, sec = p["client_id"], p["client_secret"]
	}
	if id == "" {
		return store.Client{}, invalidClient(usedBasic, "client authentication is required")
	}
	rec.SetClient(id)

	c, err := s.cfg.Store.GetClient(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Spend the time a comparison would.
		secret.Equal(secret.Hash(sec), secret.Hash(id))
		return store.Client{}, invalidClient(usedBasic, "client authentication failed")
	case err != nil:
		return store.Client{}, s.storeError(err)
	}
	if c.Public {
		if sec != "" || usedBasic {
			return store.Client{}, invalidClient(usedBasic, "client authentication failed")
		}
		return c, nil
	}
	if sec == "" || !s.secretMatches(c, sec) {
		return store.Client{}, invalidClient(usedBasic, "client authentication failed")
	}
	return c, nil
}

// secretMatches checks the current secret and, until it expires, the
// previous one.
func (s *Server) secretMatches(c store.Client, sec string) bool {
	h := secret.Hash(sec)
	if c.SecretHash != "" && secret.Equal(h, c.SecretHash) {
		return true
	}
	return c.PreviousSecretHash != "" && s.now().Before(c.PreviousSecretExpiresAt) && secret.Equal(h, c.PreviousSecretHash)
}

func invalidClient(basic bool, desc string) *Error {
	e := newError(ErrCodeInvalidClient, http.StatusUnauthorized, "%s", desc)
	e.basicChallenge = basic
	return e
}

// parseBasic decodes Basic credentials; RFC 6749 §2.3.1 form-encodes the
// id and secret before base64.
func parseBasic(cred string) (id, sec string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return "", "", false
	}
	rawID, rawSec, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", false
	}
	if id, err = url.QueryUnescape(rawID); err != nil {
		return "", "", false
	}
	if sec, err = url.QueryUnescape(rawSec); err != nil {
		return "", "", false
	}
	return id, sec, true
}
