package cli

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fdxd/fdxd/internal/doctor"
)

// defaultSpec is where the Core Exchange spec sits beside a checkout.
const defaultSpec = "../shared/spec/corex-6.4.yaml"

// doctorFlags are the flags shared by `fdxd doctor` and `fdxd doctor jwks`.
type doctorFlags struct {
	issuer, authorizationEndpoint, tokenEndpoint, userinfoEndpoint, jwksURI, introspectionEndpoint string
	clientID, clientSecretFile, redirectURI, scope                                                 string
	username, passwordFile                                                                         string
	manual, insecureLoopback                                                                       bool
	caFile                                                                                         string
}

func (d *doctorFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.issuer, "issuer", "", "issuer URL: discovery is read from <issuer>/.well-known/openid-configuration")
	fs.StringVar(&d.authorizationEndpoint, "authorization-endpoint", "", "authorization endpoint (overrides discovery)")
	fs.StringVar(&d.tokenEndpoint, "token-endpoint", "", "token endpoint (overrides discovery)")
	fs.StringVar(&d.userinfoEndpoint, "userinfo-endpoint", "", "userinfo endpoint (overrides discovery)")
	fs.StringVar(&d.jwksURI, "jwks-uri", "", "JWKS URL (overrides discovery)")
	fs.StringVar(&d.introspectionEndpoint, "introspection-endpoint", "", "token introspection endpoint (overrides discovery)")
	fs.StringVar(&d.clientID, "client-id", "", "the aggregator's client_id at the provider")
	fs.StringVar(&d.clientSecretFile, "client-secret-file", "", "file holding the client secret ('-': stdin); else FDXD_DOCTOR_CLIENT_SECRET, else one line on stdin")
	fs.StringVar(&d.redirectURI, "redirect-uri", "", "the registered redirect URI (never fetched)")
	fs.StringVar(&d.scope, "scope", doctor.DefaultScope, "scope requested, as Plaid sends it (no prompt)")
	fs.StringVar(&d.username, "username", "", "test user for the automatic login")
	fs.StringVar(&d.passwordFile, "password-file", "", "file holding the test user's password ('-': stdin); else FDXD_DOCTOR_PASSWORD, else one line on stdin")
	fs.BoolVar(&d.manual, "manual", false, "print the authorization URL and read the final redirect URL from stdin (MFA or JavaScript logins)")
	fs.BoolVar(&d.insecureLoopback, "insecure-loopback", false, "allow plain http to loopback hosts (local testing only)")
	fs.StringVar(&d.caFile, "ca-file", "", "PEM file of CA certificates to trust instead of the system roots (a staging CA)")
}

// config builds the doctor configuration, reading secrets as the flags say.
// stdin is shared: secrets are read from it first, pasted URLs after.
func (d *doctorFlags) config(env Env, stdin *bufio.Reader) (doctor.Config, error) {
	cfg := doctor.Config{
		Issuer:                d.issuer,
		AuthorizationEndpoint: d.authorizationEndpoint,
		TokenEndpoint:         d.tokenEndpoint,
		UserinfoEndpoint:      d.userinfoEndpoint,
		JWKSURI:               d.jwksURI,
		IntrospectionEndpoint: d.introspectionEndpoint,
		ClientID:              d.clientID,
		RedirectURI:           d.redirectURI,
		Scope:                 d.scope,
		Username:              d.username,
		InsecureLoopback:      d.insecureLoopback,
	}
	if d.caFile != "" {
		pem, err := os.ReadFile(d.caFile)
		if err != nil {
			return cfg, usagef("--ca-file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return cfg, usagef("--ca-file %s holds no PEM certificate", d.caFile)
		}
		cfg.RootCAs = pool
	}
	var err error
	if d.clientID != "" {
		cfg.ClientSecret, err = readSecret(env, stdin, d.clientSecretFile, "FDXD_DOCTOR_CLIENT_SECRET", "client secret")
		if err != nil {
			return cfg, err
		}
	}
	if d.manual {
		cfg.Manual = &doctor.Manual{Out: env.Stderr, In: stdin}
	} else if d.username != "" {
		cfg.Password, err = readSecret(env, stdin, d.passwordFile, "FDXD_DOCTOR_PASSWORD", "password of "+d.username)
		if err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// readSecret reads a secret from file ("-" is stdin), else the environment
// variable, else one line of stdin. It is never echoed or logged.
func readSecret(env Env, stdin *bufio.Reader, file, envVar, what string) (string, error) {
	var v string
	switch {
	case file == "-":
		return promptSecretLine(env, stdin, what, false)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usagef("reading the %s: %v", what, err)
		}
		v = strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", usagef("the %s file %s is empty", what, file)
		}
		return v, nil
	}
	if v = env.Getenv(envVar); v != "" {
		return v, nil
	}
	return promptSecretLine(env, stdin, what, true)
}

func promptSecretLine(env Env, stdin *bufio.Reader, what string, prompt bool) (string, error) {
	if prompt {
		fmt.Fprintf(env.Stderr, "%s (one line on stdin): ", what)
	}
	line, err := stdin.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the %s from stdin: %w", what, err)
	}
	if line = strings.TrimRight(line, "\r\n"); line == "" {
		return "", usagef("no %s: give a file, the environment variable or one line on stdin", what)
	}
	return line, nil
}

func runDoctor(ctx context.Context, env Env, args []string) error {
	if len(args) > 0 && args[0] == "jwks" {
		return runDoctorJWKS(ctx, env, args[1:])
	}
	fs := newFlagSet(env, "doctor")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: fdxd doctor --issuer URL [--client-id ID --redirect-uri URI --username USER] [--api-base URL] [flags]")
		fmt.Fprintln(fs.Output(), "       fdxd doctor jwks --state FILE [--watch --interval D] (--issuer URL | --jwks-uri URL) [flags]")
		fmt.Fprintln(fs.Output(), "\nChecks a data provider as an aggregator meets it; exit 1 when a check failed.")
		fs.PrintDefaults()
	}
	var (
		d        doctorFlags
		apiBase  string
		jsonPath string
		spec     string
		timeout  time.Duration
	)
	d.register(fs)
	fs.StringVar(&apiBase, "api-base", "", "FDX API base URL, such as https://api.bank.example/fdx/v6 (empty: no api checks)")
	fs.StringVar(&jsonPath, "json", "", "also write the report as JSON to this file ('-': JSON on stdout instead of text)")
	fs.StringVar(&spec, "spec", "", "Core Exchange OpenAPI file for schema checks (default "+defaultSpec+" when it exists)")
	fs.DurationVar(&timeout, "timeout", doctor.DefaultTimeout, "deadline of the whole run")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	stdin := bufio.NewReader(env.Stdin)
	cfg, err := d.config(env, stdin)
	if err != nil {
		return err
	}
	cfg.APIBase = apiBase
	cfg.Timeout = timeout
	if spec == "" {
		if _, err := os.Stat(defaultSpec); err == nil {
			spec = defaultSpec
		}
	}
	if spec != "" {
		s, err := doctor.LoadSpec(ctx, spec)
		if err != nil {
			return usagef("--spec: %v", err)
		}
		cfg.Spec = s
	}
	if err := cfg.Validate(); err != nil {
		return UsageError{err}
	}

	report := doctor.Run(ctx, cfg)

	switch jsonPath {
	case "-":
		if err := report.WriteJSON(env.Stdout); err != nil {
			return err
		}
	case "":
		if err := report.WriteText(env.Stdout); err != nil {
			return err
		}
	default:
		if err := report.WriteText(env.Stdout); err != nil {
			return err
		}
		if err := writeFileAtomic(jsonPath, report.WriteJSON); err != nil {
			return fmt.Errorf("--json: %w", err)
		}
	}
	if report.Failed() {
		return ExitCodeError{Code: 1}
	}
	return nil
}

func runDoctorJWKS(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "doctor jwks")
	var (
		d        doctorFlags
		watch    bool
		interval time.Duration
		state    string
	)
	d.register(fs)
	fs.BoolVar(&watch, "watch", false, "keep polling every --interval until interrupted")
	fs.DurationVar(&interval, "interval", time.Hour, "time between polls with --watch")
	fs.StringVar(&state, "state", "", "JSON file remembering when each kid was first and last seen (required)")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	case state == "":
		return usagef("--state is required: the rotation rules compare polls over time")
	case d.issuer == "" && d.jwksURI == "":
		return usagef("--issuer or --jwks-uri is required")
	case interval < time.Second:
		return usagef("--interval %v is too short", interval)
	}
	stdin := bufio.NewReader(env.Stdin)
	cfg, err := d.config(env, stdin)
	if err != nil {
		return err
	}
	if d.clientID != "" {
		if err := cfg.Validate(); err != nil {
			return UsageError{err}
		}
	}
	// With a client, each poll also gets an ID token to see which kid signs.
	source, jwksURI, closeSource, err := doctor.IDTokenSource(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeSource()
	w, err := doctor.NewWatcher(doctor.WatchConfig{
		JWKSURI:          jwksURI,
		StatePath:        state,
		InsecureLoopback: d.insecureLoopback,
		RootCAs:          cfg.RootCAs,
		IDToken:          source,
	})
	if err != nil {
		if errors.Is(err, doctor.ErrConfig) || errors.Is(err, doctor.ErrStateMismatch) {
			return UsageError{err}
		}
		return err
	}
	defer w.Close()
	failed := false
	report := func(results []doctor.Result) {
		for _, r := range results {
			failed = failed || r.Status == doctor.Fail
		}
		doctor.WriteEvents(env.Stdout, time.Now(), results)
	}
	if !watch {
		results, err := w.Poll(ctx)
		report(results)
		if err != nil {
			return err
		}
		if failed {
			return ExitCodeError{Code: 1}
		}
		return nil
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	return w.Run(ctx, ticker.C, report)
}

// writeFileAtomic writes a file through a temporary file and a rename, so a
// reader never sees half a report.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fdxd-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
