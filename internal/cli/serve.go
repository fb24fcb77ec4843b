package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/fdxd/fdxd/internal/fdx"
	"github.com/fdxd/fdxd/internal/keys"
	"github.com/fdxd/fdxd/internal/oauth"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/server"
)

const (
	defaultAddr   = "127.0.0.1:8080"
	defaultIssuer = "http://127.0.0.1:8080"
)

func runServe(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "serve")
	var (
		db                                      dbFlags
		addr, issuer, tlsCert, tlsKey, clientCA string
		apiAddr, apiPublicURL, trustedProxies   string
		institution, signingAlg, logLevel       string
		demo                                    bool
		codeTTL, accessTTL, idTTL, refreshTTL   time.Duration
		refreshGrace, loginTTL, rotation, drain time.Duration
		clientRate                              float64
		historyMonths, maxPageSize              int
	)
	db.register(fs)
	var obs observeFlags
	obs.register(fs)
	fs.StringVar(&addr, "addr", defaultAddr, "address to listen on (HOST:PORT)")
	fs.StringVar(&apiAddr, "api-addr", "", "serve the FDX API on this address only (HOST:PORT), apart from the authorization server; default: on --addr")
	fs.StringVar(&apiPublicURL, "api-public-url", "", "the FDX API's public base URL, making statement links absolute (e.g. https://api.bank.example)")
	fs.IntVar(&historyMonths, "history-months", 24, "how far back the FDX API serves data; an older start date is FDX 703")
	fs.IntVar(&maxPageSize, "max-page-size", 500, "the FDX API's largest page; a larger limit gets this many items")
	fs.StringVar(&trustedProxies, "trusted-proxies", "", "comma-separated CIDRs of load balancers whose X-Forwarded-For gives the client's address")
	fs.StringVar(&issuer, "issuer", defaultIssuer, "issuer URL: https, or http on a loopback host; defaults to the scheme and --addr")
	fs.BoolVar(&demo, "demo", false, "seed the demo client and user (idempotent) and print them")
	fs.StringVar(&tlsCert, "tls-cert", "", "PEM certificate file: serve HTTPS (TLS 1.2+)")
	fs.StringVar(&tlsKey, "tls-key", "", "PEM private key file for --tls-cert")
	fs.StringVar(&clientCA, "client-ca", "", "PEM CA file: require client certificates (mutual TLS) on token, revoke, introspect and userinfo")
	fs.StringVar(&institution, "institution", "fdxd Demo Bank", "institution name shown on the sign-in pages")
	fs.DurationVar(&codeTTL, "code-ttl", oauth.DefaultCodeTTL, "authorization code lifetime (at most 10m)")
	fs.DurationVar(&accessTTL, "access-token-ttl", oauth.DefaultAccessTokenTTL, "access token lifetime")
	fs.DurationVar(&idTTL, "id-token-ttl", oauth.DefaultIDTokenTTL, "ID token lifetime")
	fs.DurationVar(&refreshTTL, "refresh-token-ttl", oauth.DefaultRefreshTokenTTL, "refresh token absolute lifetime (Plaid: 13 months)")
	fs.DurationVar(&refreshGrace, "refresh-grace", oauth.DefaultRefreshGrace, "with rotation, how long a rotated-out refresh token stays valid")
	fs.DurationVar(&loginTTL, "login-session-ttl", oauth.DefaultLoginSessionTTL, "how long a browser stays signed in")
	fs.StringVar(&signingAlg, "signing-alg", "RS256", "ID token signing algorithm: RS256, ES256 or PS256")
	fs.DurationVar(&rotation, "key-rotation-period", keys.DefaultRotationPeriod, "how long a signing key signs before the next takes over")
	fs.Float64Var(&clientRate, "client-rate-limit", oauth.DefaultClientRateLimit, "default requests per second per client at token and authorize (negative: none)")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&drain, "shutdown-timeout", 30*time.Second, "how long SIGINT/SIGTERM waits for in-flight requests")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if !flagGiven(fs, "issuer") {
		scheme := "http"
		if tlsCert != "" {
			scheme = "https"
		}
		issuer = scheme + "://" + addr
	}
	if err := checkIssuer(issuer); err != nil {
		return UsageError{err}
	}
	if codeTTL <= 0 || codeTTL > oauth.MaxCodeTTL {
		return usagef("--code-ttl %v is refused: codes must expire within %v (Plaid: \"expire codes in 10 min\")", codeTTL, oauth.MaxCodeTTL)
	}
	if math.IsNaN(clientRate) || math.IsInf(clientRate, 0) {
		return usagef("--client-rate-limit %v is not a number of requests per second (negative: no limit)", clientRate)
	}
	obsCfg, err := obs.config(env)
	if err != nil {
		return err
	}
	if historyMonths < 1 || maxPageSize < 100 {
		return usagef("--history-months must be at least 1 and --max-page-size at least 100 (Plaid's default limit)")
	}
	proxies, err := parsePrefixes(trustedProxies)
	if err != nil {
		return usagef("--trusted-proxies: %v", err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return usagef("--log-level %q: %v", logLevel, err)
	}
	logger := observe.NewLogger(env.Stderr, level)
	if env.Getenv("GOGC") == "" {
		// The live heap is a few megabytes; at thousands of token requests a
		// second the default target (twice the live heap) means dozens of
		// collections a second and their pauses in the tail latency.
		debug.SetGCPercent(400)
	}

	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	sealer, kekSource, err := db.sealer(env, demo)
	if err != nil {
		return err
	}
	logger.Info("key-encryption key loaded", "event", "server.kek", "source", kekSource)

	if demo {
		if err := seedDemo(ctx, st, time.Now()); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
	}
	adminL, err := obs.listen(logger)
	if err != nil {
		return err
	}
	if adminL != nil {
		defer adminL.Close()
		obsCfg.AdminURL = obs.url(adminL, tlsCert != "")
	}
	srv, err := server.New(ctx, server.Config{
		Issuer: issuer, Store: st, Sealer: sealer, Logger: logger, Institution: institution,
		TLSCertFile: tlsCert, TLSKeyFile: tlsKey, ClientCAFile: clientCA,
		AccessTokenTTL: accessTTL, CodeTTL: codeTTL, IDTokenTTL: idTTL, RefreshTokenTTL: refreshTTL,
		RefreshGrace: refreshGrace, LoginSessionTTL: loginTTL, SigningAlgorithm: signingAlg,
		KeyRotationPeriod: rotation, ClientRateLimit: clientRate,
		SeparateAPI: apiAddr != "", APIPublicURL: apiPublicURL, TrustedProxies: proxies,
		HistoryMonths: historyMonths, MaxPageSize: maxPageSize,
		Observability: obsCfg,
	})
	if err != nil {
		return err
	}
	var ls server.Listeners
	if ls.Public, err = net.Listen("tcp", addr); err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if apiAddr != "" {
		if ls.API, err = net.Listen("tcp", apiAddr); err != nil {
			ls.Public.Close()
			return fmt.Errorf("listen on %s for the FDX API: %w", apiAddr, err)
		}
	}
	ls.Admin = adminL
	if demo {
		if err := seedDemoAdmin(ctx, st, time.Now()); err != nil {
			return err
		}
		printDemo(env, issuer, apiBase(issuer, apiAddr, tlsCert != ""))
		obs.printAdmin(env, obsCfg.AdminURL, demo, obsCfg.AdminToken != "")
	}
	return srv.Serve(ctx, ls, drain)
}

// parsePrefixes reads comma-separated CIDRs or single addresses.
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if !strings.Contains(item, "/") {
			a, err := netip.ParseAddr(item)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// apiBase is where the FDX API answers, for the demo banner.
func apiBase(issuer, apiAddr string, tls bool) string {
	if apiAddr == "" {
		u, _ := url.Parse(issuer)
		return u.Scheme + "://" + u.Host + fdx.BasePath
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return scheme + "://" + apiAddr + fdx.BasePath
}

// flagGiven reports whether name was set on the command line or through
// its environment variable (parseFlags sets those as if given).
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// checkIssuer refuses a non-https issuer unless its host is loopback.
func checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return fmt.Errorf("--issuer %q is not an absolute URL", issuer)
	}
	if u.Scheme == "https" {
		return nil
	}
	if u.Scheme == "http" && oauth.IsLoopbackHost(u.Hostname()) {
		return nil
	}
	return errors.New("--issuer must use https: Plaid requires TLS for the authorization server (http is allowed only on a loopback host for local testing)")
}
