package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fdxd/fdxd/internal/oauth"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
)

// subcommand dispatches args[0] among subs.
func subcommand(ctx context.Context, env Env, group string, args []string,
	subs map[string]func(context.Context, Env, []string) error) error {
	names := make([]string, 0, len(subs))
	for n := range subs {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(args) == 0 {
		return usagef("missing subcommand: fdxd %s %s", group, strings.Join(names, "|"))
	}
	run, ok := subs[args[0]]
	if !ok {
		return usagef("unknown subcommand %q: fdxd %s %s", args[0], group, strings.Join(names, "|"))
	}
	return run(ctx, env, args[1:])
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func runClients(ctx context.Context, env Env, args []string) error {
	return subcommand(ctx, env, "clients", args, map[string]func(context.Context, Env, []string) error{
		"add": clientsAdd, "list": clientsList, "show": clientsShow, "remove": clientsRemove, "rotate-secret": clientsRotateSecret,
	})
}

// clientFlags are the settings of a client.
type clientFlags struct {
	name                                           string
	redirectURIs, scopes, grantTypes               stringList
	public, requirePKCE, selection, rotate, idOnRT bool
	rateLimit                                      float64
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.name, "name", "", "display name shown on the sign-in page")
	fs.Var(&c.redirectURIs, "redirect-uri", "registered redirect URI, matched exactly (repeatable)")
	fs.Var(&c.scopes, "scope", "scope the client may request (repeatable; default: all supported)")
	fs.Var(&c.grantTypes, "grant-type", "grant type allowed (repeatable; default: authorization_code and refresh_token)")
	fs.BoolVar(&c.public, "public", false, "a public client: no secret, PKCE required")
	fs.BoolVar(&c.requirePKCE, "require-pkce", false, "require PKCE (S256) from this confidential client too")
	fs.BoolVar(&c.selection, "account-selection", false, "show the account-selection page after sign-in")
	fs.BoolVar(&c.rotate, "rotate-refresh-tokens", false, "issue a new refresh token on every refresh")
	fs.BoolVar(&c.idOnRT, "id-token-on-refresh", false, "add a new ID token to refresh responses")
	fs.Float64Var(&c.rateLimit, "rate-limit", 0, "requests per second at the token endpoint (0: server default, negative: none)")
}

func clientsAdd(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "clients add")
	var (
		db          dbFlags
		cf          clientFlags
		id          string
		secretStdin bool
	)
	db.register(fs)
	cf.register(fs)
	fs.StringVar(&id, "id", "", "client_id (8–256 of A-Z a-z 0-9 . _ ~ -); default: 32 random hex digits")
	fs.BoolVar(&secretStdin, "secret-stdin", false, "read the client secret from standard input instead of generating one")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if id == "" {
		id = secret.Hex(16)
	}
	c := store.Client{ID: id, Name: cf.name, RedirectURIs: cf.redirectURIs, Scopes: cf.scopes, GrantTypes: cf.grantTypes,
		Public: cf.public, RequirePKCE: cf.requirePKCE, AccountSelection: cf.selection, RotateRefreshTokens: cf.rotate,
		IDTokenOnRefresh: cf.idOnRT, RateLimit: cf.rateLimit}
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = oauth.SupportedGrantTypes
	}
	if c.Name == "" {
		c.Name = id
	}
	if err := validateClient(c); err != nil {
		return UsageError{err}
	}
	var sec string
	if !c.Public {
		var err error
		if sec, err = newClientSecret(env, secretStdin); err != nil {
			return err
		}
		c.SecretHash = secret.Hash(sec)
	} else if secretStdin {
		return usagef("a public client has no secret")
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	if err := st.CreateClient(ctx, c); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return fmt.Errorf("client %q already exists", id)
		}
		return err
	}
	fmt.Fprintf(env.Stdout, "client_id      %s\n", c.ID)
	if !c.Public {
		if secretStdin {
			fmt.Fprintln(env.Stdout, "client_secret  (as given on standard input)")
		} else {
			fmt.Fprintf(env.Stdout, "client_secret  %s\n", sec)
			fmt.Fprintln(env.Stdout, "               shown once: only its SHA-256 is stored")
		}
	}
	return nil
}

// newClientSecret reads a secret from stdin or generates 256 random bits.
func newClientSecret(env Env, fromStdin bool) (string, error) {
	if !fromStdin {
		return secret.Hex(32), nil
	}
	sec, err := readSecretLine(env.Stdin)
	if err != nil {
		return "", err
	}
	if len(sec) < 32 || len(sec) > 256 {
		return "", usagef("a client secret must be 32 to 256 characters (it is stored as SHA-256, so it must be high-entropy); got %d", len(sec))
	}
	return sec, nil
}

// readSecretLine reads one line from r, without its line ending.
func readSecretLine(r io.Reader) (string, error) {
	if r == nil {
		return "", usagef("nothing on standard input")
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usagef("nothing on standard input")
	}
	return line, nil
}

// validateClient reports every problem with a client's settings.
func validateClient(c store.Client) error {
	var errs []error
	if len(c.ID) < 8 || len(c.ID) > 256 || strings.IndexFunc(c.ID, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._~-", r))
	}) >= 0 {
		errs = append(errs, fmt.Errorf("client id %q must be 8 to 256 characters of A-Z a-z 0-9 . _ ~ -", c.ID))
	}
	if len(c.RedirectURIs) == 0 && slices.Contains(c.GrantTypes, oauth.GrantAuthorizationCode) {
		errs = append(errs, errors.New("at least one --redirect-uri is required"))
	}
	for _, u := range c.RedirectURIs {
		if err := validateRedirectURI(u); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range c.Scopes {
		if !slices.Contains(oauth.SupportedScopes, s) {
			errs = append(errs, fmt.Errorf("scope %q is not supported (supported: %s)", s, strings.Join(oauth.SupportedScopes, " ")))
		}
	}
	if math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0) {
		errs = append(errs, fmt.Errorf("--rate-limit %v is not a number of requests per second", c.RateLimit))
	}
	for _, g := range c.GrantTypes {
		if !slices.Contains(oauth.SupportedGrantTypes, g) {
			errs = append(errs, fmt.Errorf("grant type %q is not supported (supported: %s)", g, strings.Join(oauth.SupportedGrantTypes, " ")))
		}
	}
	return errors.Join(errs...)
}

// validateRedirectURI accepts absolute URIs without a fragment: https,
// http on a loopback host, or an app's private-use scheme (RFC 8252 §7.1).
func validateRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs():
		return fmt.Errorf("redirect URI %q is not an absolute URI", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Errorf("redirect URI %q must not have a fragment", raw)
	case u.Scheme == "https":
		if u.Host == "" {
			return fmt.Errorf("redirect URI %q has no host", raw)
		}
	case u.Scheme == "http":
		if !oauth.IsLoopbackHost(u.Hostname()) {
			return fmt.Errorf("redirect URI %q must use https (http only on a loopback host)", raw)
		}
	case strings.Contains(u.Scheme, "."):
		// A reverse-domain private-use scheme of a native app.
	default:
		return fmt.Errorf("redirect URI %q: scheme %q is not allowed (https, loopback http, or a reverse-domain app scheme)", raw, u.Scheme)
	}
	return nil
}

func clientsList(ctx context.Context, env Env, args []string) error {
	var asJSON bool
	st, err := openList(ctx, env, "clients list", args, &asJSON)
	if err != nil {
		return err
	}
	defer st.Close()
	clients, err := st.ListClients(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		out := make([]clientView, 0, len(clients))
		for _, c := range clients {
			out = append(out, viewClient(c))
		}
		return printJSON(env, out)
	}
	tw := newTable(env.Stdout, "CLIENT_ID\tNAME\tTYPE\tREDIRECT_URIS")
	for _, c := range clients {
		kind := "confidential"
		if c.Public {
			kind = "public"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, c.Name, kind, strings.Join(c.RedirectURIs, " "))
	}
	return tw.Flush()
}

// clientView is a client as printed: no secret hashes.
type clientView struct {
	ID                  string    `json:"client_id"`
	Name                string    `json:"name"`
	Public              bool      `json:"public"`
	RedirectURIs        []string  `json:"redirect_uris"`
	GrantTypes          []string  `json:"grant_types"`
	Scopes              []string  `json:"scopes,omitempty"`
	RequirePKCE         bool      `json:"require_pkce"`
	AccountSelection    bool      `json:"account_selection"`
	RotateRefreshTokens bool      `json:"rotate_refresh_tokens"`
	IDTokenOnRefresh    bool      `json:"id_token_on_refresh"`
	RateLimit           float64   `json:"rate_limit"`
	PreviousSecretUntil time.Time `json:"previous_secret_valid_until,omitzero"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
}

func viewClient(c store.Client) clientView {
	v := clientView{ID: c.ID, Name: c.Name, Public: c.Public, RedirectURIs: c.RedirectURIs, GrantTypes: c.GrantTypes,
		Scopes: c.Scopes, RequirePKCE: c.RequirePKCE, AccountSelection: c.AccountSelection,
		RotateRefreshTokens: c.RotateRefreshTokens, IDTokenOnRefresh: c.IDTokenOnRefresh, RateLimit: c.RateLimit,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if c.PreviousSecretHash != "" && time.Now().Before(c.PreviousSecretExpiresAt) {
		v.PreviousSecretUntil = c.PreviousSecretExpiresAt
	}
	if v.RedirectURIs == nil {
		v.RedirectURIs = []string{}
	}
	return v
}

// newTable starts a table on w with its header row; Flush ends it.
func newTable(w io.Writer, header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	return tw
}

func printJSON(env Env, v any) error {
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// noArgs parses flags for a command that takes no positional argument. One
// is refused rather than ignored: it would also end flag parsing, so any
// flag after it would be dropped without a word.
func noArgs(fs *flag.FlagSet, env Env, args []string) error {
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return nil
}

// oneArg parses flags and returns the single positional argument.
func oneArg(fs *flag.FlagSet, env Env, args []string, what string) (string, error) {
	if err := parseFlags(fs, env, args); err != nil {
		return "", err
	}
	if fs.NArg() != 1 {
		return "", usagef("give exactly one %s", what)
	}
	return fs.Arg(0), nil
}

func clientsShow(ctx context.Context, env Env, args []string) error {
	st, id, err := openOne(ctx, env, "clients show", "client id", args)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.GetClient(ctx, id)
	if err != nil {
		return notFound(err, "no client %q", id)
	}
	return printJSON(env, viewClient(c))
}

func clientsRemove(ctx context.Context, env Env, args []string) error {
	st, id, err := openOne(ctx, env, "clients remove", "client id", args)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.DeleteClient(ctx, id); err != nil {
		return notFound(err, "no client %q", id)
	}
	fmt.Fprintf(env.Stdout, "removed client %s with its grants and tokens\n", id)
	return nil
}

func clientsRotateSecret(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "clients rotate-secret")
	var (
		db          dbFlags
		grace       time.Duration
		secretStdin bool
	)
	db.register(fs)
	fs.DurationVar(&grace, "grace", 24*time.Hour, "how long the previous secret keeps working (0: stops at once)")
	fs.BoolVar(&secretStdin, "secret-stdin", false, "read the new secret from standard input instead of generating one")
	id, err := oneArg(fs, env, args, "client id")
	if err != nil {
		return err
	}
	if grace < 0 {
		return usagef("--grace must not be negative")
	}
	sec, err := newClientSecret(env, secretStdin)
	if err != nil {
		return err
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC()
	err = st.UpdateClient(ctx, id, func(c store.Client) (store.Client, error) {
		if c.Public {
			return c, errors.New("a public client has no secret")
		}
		c.PreviousSecretHash, c.PreviousSecretExpiresAt = "", time.Time{}
		if grace > 0 {
			c.PreviousSecretHash, c.PreviousSecretExpiresAt = c.SecretHash, now.Add(grace)
		}
		c.SecretHash, c.UpdatedAt = secret.Hash(sec), now
		return c, nil
	})
	if err != nil {
		return notFound(err, "no client %q", id)
	}
	if !secretStdin {
		fmt.Fprintf(env.Stdout, "client_secret  %s\n               shown once: only its SHA-256 is stored\n", sec)
	}
	if grace > 0 {
		fmt.Fprintf(env.Stdout, "the previous secret keeps working until %s\n", now.Add(grace).Format(time.RFC3339))
	} else {
		fmt.Fprintln(env.Stdout, "the previous secret no longer works")
	}
	return nil
}
