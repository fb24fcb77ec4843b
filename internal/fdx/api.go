// Package fdx is the FDX / Core Exchange 6.4 resource API under /fdx/v6:
// the nine endpoints of the spec, read with this server's bearer access
// tokens and scoped to the token's user and, when the grant recorded an
// account selection, to the chosen accounts.
//
// Every body is written by fdx/model's encoder, so no response carries
// null, a required field without its "" or [], or a value outside the spec.
// Errors are FDX error bodies from one writer, on every route including
// unknown ones. Lists page with opaque, MAC'd keyset cursors: nextOffset
// (and the same value as nextPageKey) appears only when another page
// exists.
//
// Answers beyond the spec's 200s:
//
//	401 602  no, malformed, expired or revoked bearer token (WWW-Authenticate: Bearer error="invalid_token")
//	400 401  bad limit, tampered or foreign offset/pageKey
//	400 702  a date that is not YYYY-MM-DD
//	400 703  start without end (or the reverse), start after end, start before the supported history
//	403 706  the account is RESTRICTED (only /accounts and /accounts/{id} answer), or the token's FDX scopes exclude the endpoint
//	404 701  an account that does not exist, is another user's, or is outside the grant's selection: indistinguishable
//	404 1107 no data: no accounts to list, no contact, no payment networks, no details shape (discoverable-only categories), unknown statement
//	405 1106 a method other than GET or HEAD
//	409 705  payment or asset-transfer networks of a CLOSED account
//	503 503  maintenance mode, or the database is unreachable (Retry-After)
//	500 500  anything else, without internals
package fdx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/fdxd/fdxd/internal/oauth"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/store"
)

// BasePath is where the API is mounted.
const BasePath = "/fdx/v6"

// TokenVerifier checks bearer access tokens (oauth.AccessTokens).
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (oauth.Access, error)
}

// MaintenanceSwitch reports maintenance mode (maintenance.Switch).
type MaintenanceSwitch interface {
	On(ctx context.Context) (bool, error)
}

// Config is the API's dependencies and settings.
type Config struct {
	Store    store.DataStore
	Tokens   TokenVerifier
	Observer *observe.Observer
	Logger   *slog.Logger
	// Maintenance, when set, turns every answer into 503 while on.
	Maintenance MaintenanceSwitch
	// CursorKey MACs pagination cursors: at least 32 bytes, shared by
	// every replica.
	CursorKey []byte
	Now       func() time.Time
	// Location is the provider's time zone for date filters (default UTC).
	Location *time.Location
	// HistoryMonths is how far back a start date may go (default 24).
	HistoryMonths int
	// DefaultTransactionDays is the window of a transactions request
	// without dates: today and the days before it (default 7, as FDX
	// suggests). A statements request without dates covers the whole
	// supported history.
	DefaultTransactionDays int
	// DefaultLimit and MaxLimit bound page sizes (defaults 100 and 500): a
	// larger limit is served MaxLimit items per page.
	DefaultLimit, MaxLimit int
	// RetryAfter is the Retry-After of 503 answers (default 300 s in
	// maintenance, 30 s when the database is unreachable).
	RetryAfter time.Duration
	// PublicURL, when set (https://api.bank.example), makes statement links
	// absolute; otherwise they are absolute paths.
	PublicURL string
}

// API serves the FDX endpoints.
type API struct {
	cfg    Config
	routes []route
}

type route struct {
	pattern string // path template under BasePath
	scope   string // FDX scope of the spec's security section, "" for none
	handle  func(a *API, w http.ResponseWriter, r *http.Request, acc oauth.Access)
}

// New checks cfg and fills its defaults.
func New(cfg Config) (*API, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("fdx: no store"))
	}
	if cfg.Tokens == nil {
		errs = append(errs, errors.New("fdx: no access-token verifier"))
	}
	if cfg.Observer == nil {
		errs = append(errs, errors.New("fdx: no observer"))
	}
	if len(cfg.CursorKey) < 32 {
		errs = append(errs, fmt.Errorf("fdx: cursor key must be at least 32 bytes, got %d", len(cfg.CursorKey)))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.HistoryMonths == 0 {
		cfg.HistoryMonths = 24
	}
	if cfg.DefaultTransactionDays == 0 {
		cfg.DefaultTransactionDays = 7
	}
	if cfg.DefaultLimit == 0 {
		cfg.DefaultLimit = 100
	}
	if cfg.MaxLimit == 0 {
		cfg.MaxLimit = 500
	}
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = 5 * time.Minute
	}
	if cfg.HistoryMonths < 1 || cfg.DefaultTransactionDays < 1 || cfg.DefaultLimit < 1 || cfg.MaxLimit < cfg.DefaultLimit {
		errs = append(errs, errors.New("fdx: history, default window and page sizes must be positive, MaxLimit at least DefaultLimit"))
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	a := &API{cfg: cfg}
	a.routes = []route{
		{"/customers/current", "", (*API).customer},
		{"/accounts", "Account", (*API).accounts},
		{"/accounts/{accountId}", "Account", (*API).account},
		{"/accounts/{accountId}/contact", "Customer", (*API).contact},
		{"/accounts/{accountId}/transactions", "Transactions", (*API).transactions},
		{"/accounts/{accountId}/payment-networks", "Account", (*API).paymentNetworks},
		{"/accounts/{accountId}/asset-transfer-networks", "Account", (*API).assetTransferNetworks},
		{"/accounts/{accountId}/statements", "Account", (*API).statements},
		{"/accounts/{accountId}/statements/{statementId}", "Account", (*API).statementPDF},
	}
	return a, nil
}

// Mount registers the routes on mux: GET (and HEAD) for each endpoint, and
// an FDX error for every other path and method under BasePath.
func (a *API) Mount(mux *http.ServeMux) {
	for _, rt := range a.routes {
		name := BasePath + rt.pattern
		mux.Handle("GET "+name, a.cfg.Observer.Handler(name, a.endpoint(rt)))
	}
	mux.Handle(BasePath+"/", a.cfg.Observer.Handler(BasePath+"/*", http.HandlerFunc(a.unmatched)))
}

// Handler returns the API alone, for a listener of its own.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	a.Mount(mux)
	return mux
}

// fdxScopes are the spec's optional scopes. A token that carries any of
// them is held to them; a token with none (Plaid asks for openid and
// offline_access only) reads everything its grant covers.
var fdxScopes = []string{"Account", "Customer", "Transactions"}

func (a *API) endpoint(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				a.cfg.Logger.ErrorContext(r.Context(), "fdx handler panicked", "event", "fdx.panic", "route", rt.pattern, "panic", fmt.Sprint(p))
				writeError(w, r, errInternal())
			}
		}()
		if e := a.checkMaintenance(r.Context()); e != nil {
			writeError(w, r, e)
			return
		}
		acc, e := a.authenticate(r)
		if e != nil {
			writeError(w, r, e)
			return
		}
		if rt.scope != "" && slices.ContainsFunc(acc.Scopes, func(s string) bool { return slices.Contains(fdxScopes, s) }) && !acc.HasScope(rt.scope) {
			writeError(w, r, errForbidden("the token's scopes do not include "+rt.scope))
			return
		}
		rt.handle(a, w, r, acc)
	})
}

func (a *API) checkMaintenance(ctx context.Context) *apiError {
	if a.cfg.Maintenance == nil {
		return nil
	}
	on, err := a.cfg.Maintenance.On(ctx)
	switch {
	case err != nil:
		return a.storeError(ctx, err)
	case on:
		return errUnavailable("the provider is in maintenance mode", int(a.cfg.RetryAfter.Seconds()))
	}
	return nil
}

// authenticate reads the bearer token from the Authorization header (never
// from the query or a form) and verifies it.
func (a *API) authenticate(r *http.Request) (oauth.Access, *apiError) {
	if r.URL.Query().Has("access_token") {
		return oauth.Access{}, errUnauthorized("access tokens are accepted in the Authorization header only")
	}
	h := r.Header.Values("Authorization")
	if len(h) == 0 {
		return oauth.Access{}, errUnauthorized("no bearer token in the Authorization header")
	}
	scheme, token, ok := strings.Cut(h[0], " ")
	if len(h) > 1 || !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return oauth.Access{}, errUnauthorized("the Authorization header must be: Bearer <access token>")
	}
	acc, err := a.cfg.Tokens.Verify(r.Context(), token)
	switch {
	case err == nil:
	case errors.Is(err, oauth.ErrTokenExpired):
		return acc, errUnauthorized("the access token has expired; refresh it")
	case errors.Is(err, oauth.ErrTokenRevoked):
		return acc, errUnauthorized("the access token was revoked or its grant has ended")
	case errors.Is(err, oauth.ErrTokenInvalid):
		return acc, errUnauthorized("not an access token issued by this server")
	default:
		return acc, a.storeError(r.Context(), err)
	}
	rec := observe.From(r.Context())
	rec.SetClient(acc.ClientID)
	rec.SetSubject(acc.Subject)
	rec.SetOAuthSession(acc.OAuthSessionID)
	return acc, nil
}

// storeError answers a failed store call: 503 when the database cannot be
// reached, 500 otherwise. The cause goes to the log, never to the client.
func (a *API) storeError(ctx context.Context, err error) *apiError {
	if errors.Is(err, store.ErrUnavailable) {
		a.cfg.Logger.WarnContext(ctx, "fdx: database unavailable", "event", "fdx.store_unavailable", "error", err.Error())
		return errUnavailable("the provider's database is unreachable; retry later", 30)
	}
	if errors.Is(err, context.Canceled) {
		return errUnavailable("the request was cancelled", 30)
	}
	a.cfg.Logger.ErrorContext(ctx, "fdx: store error", "event", "fdx.store_error", "error", err.Error())
	return errInternal()
}

// unmatched answers every other path and method under BasePath.
func (a *API) unmatched(w http.ResponseWriter, r *http.Request) {
	rel := strings.TrimPrefix(r.URL.Path, BasePath)
	for _, rt := range a.routes {
		if matchTemplate(rt.pattern, rel) {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, r, &apiError{status: http.StatusMethodNotAllowed, code: codeNotImplemented,
				message: "Not implemented", debug: r.Method + " is not implemented on " + BasePath + rt.pattern + "; use GET"})
			return
		}
	}
	writeError(w, r, &apiError{status: http.StatusNotFound, code: codeDataNotFound, message: "Data not found",
		debug: "no such endpoint under " + BasePath})
}

func matchTemplate(tmpl, path string) bool {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if strings.HasPrefix(ts[i], "{") {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if ts[i] != ps[i] {
			return false
		}
	}
	return true
}
