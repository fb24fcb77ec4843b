package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/fdxd/fdxd/internal/notify"
	"github.com/fdxd/fdxd/internal/oauth"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/password"
	"github.com/fdxd/fdxd/internal/server"
	"github.com/fdxd/fdxd/internal/store"
)

// DefaultAdminAddr is where the admin listener answers unless
// --admin-addr says otherwise: loopback only.
const DefaultAdminAddr = "127.0.0.1:9090"

// The demo admin of the issue center, seeded by serve --demo.
const (
	DemoAdminUsername = "admin"
	DemoAdminPassword = "demo-admin-password"
)

// Secrets of observability come from the environment only, never flags.
const (
	envAdminToken    = "FDXD_ADMIN_TOKEN"
	envWebhookSecret = "FDXD_WEBHOOK_SECRET"
	envSMTPPassword  = "FDXD_SMTP_PASSWORD"
)

// observeFlags are serve's flags for metrics, records, alerts,
// notifications and the admin listener.
type observeFlags struct {
	adminAddr, adminURL          string
	replicaID                    string
	records, observe             bool
	recordsMaxAge                time.Duration
	recordsMaxCount, recordQueue int
	alertWindow, alertQuiet      time.Duration
	alertMinVolume               int
	alertErrorRate               float64
	webhookURL                   string
	smtpHost, smtpFrom, smtpTo   string
	smtpUsername                 string
	smtpPort                     int
	smtpPlaintext                bool
}

func (o *observeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.adminAddr, "admin-addr", DefaultAdminAddr,
		"admin listener (HOST:PORT): /metrics, /healthz, /readyz, the issue center and /api/v1; \"off\" to disable. Keep it off the internet")
	fs.StringVar(&o.adminURL, "admin-url", "", "the issue center's URL as people reach it, for links in notifications; default http(s)://<admin-addr>")
	fs.StringVar(&o.replicaID, "replica-id", "", "this replica's name in the issues of its own checks (default: host name and process id)")
	fs.BoolVar(&o.records, "request-records", true, "keep a record of every public request (--request-records=false to turn off)")
	fs.BoolVar(&o.observe, "observe-requests", true,
		"count requests into metrics, charts, alerts and records (--observe-requests=false turns all of it off, to measure its cost)")
	fs.DurationVar(&o.recordsMaxAge, "records-max-age", observe.DefaultRecordMaxAge, "delete request records older than this")
	fs.IntVar(&o.recordsMaxCount, "records-max-count", observe.DefaultRecordMaxCount, "keep at most this many request records")
	fs.IntVar(&o.recordQueue, "records-queue", 8192, "request records waiting to be written before new ones are dropped (and counted)")
	fs.DurationVar(&o.alertWindow, "alert-window", observe.DefaultAlertWindow, "sliding window of the error-rate rule (at least 1s)")
	fs.IntVar(&o.alertMinVolume, "alert-min-volume", observe.DefaultAlertMinVolume, "fewest requests in the window that can open an issue")
	fs.Float64Var(&o.alertErrorRate, "alert-error-rate", 100*observe.DefaultAlertThreshold, "percent of failed requests above which an issue opens")
	fs.DurationVar(&o.alertQuiet, "alert-quiet-period", observe.DefaultAlertQuietPeriod, "how long the rate must stay at or below the threshold before an issue resolves")
	fs.StringVar(&o.webhookURL, "webhook-url", "", "POST issue notifications here as signed JSON (the secret comes from "+envWebhookSecret+")")
	fs.StringVar(&o.smtpHost, "smtp-host", "", "SMTP server for issue emails (STARTTLS required unless --smtp-plaintext)")
	fs.IntVar(&o.smtpPort, "smtp-port", 587, "SMTP port")
	fs.StringVar(&o.smtpFrom, "smtp-from", "", "From address of issue emails")
	fs.StringVar(&o.smtpTo, "smtp-to", "", "comma-separated recipients of issue emails")
	fs.StringVar(&o.smtpUsername, "smtp-username", "", "SMTP AUTH username (the password comes from "+envSMTPPassword+")")
	fs.BoolVar(&o.smtpPlaintext, "smtp-plaintext", false, "send without STARTTLS when the server does not offer it (a relay on this host)")
}

func (o *observeFlags) adminOn() bool { return o.adminAddr != "" && o.adminAddr != "off" }

// config checks the flags and the secrets from the environment and builds
// the server's observability configuration.
func (o *observeFlags) config(env Env) (server.ObservabilityConfig, error) {
	var errs []error
	c := server.ObservabilityConfig{AdminToken: env.Getenv(envAdminToken), DisableRecords: !o.records,
		DisableRequestSinks: !o.observe, ReplicaID: o.replicaID}
	if len(o.replicaID) > 64 || strings.ContainsFunc(o.replicaID, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		errs = append(errs, errors.New("--replica-id must be at most 64 printable characters"))
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		errs = append(errs, fmt.Errorf("%s must be at least 16 characters", envAdminToken))
	}
	if o.adminOn() {
		if _, _, err := net.SplitHostPort(o.adminAddr); err != nil {
			errs = append(errs, fmt.Errorf("--admin-addr %q: %w", o.adminAddr, err))
		}
		c.AdminURL = strings.TrimRight(o.adminURL, "/")
	}
	if o.recordsMaxAge < 0 || o.recordsMaxCount < 0 || o.recordQueue < 1 {
		errs = append(errs, errors.New("--records-max-age and --records-max-count must not be negative, --records-queue must be positive"))
	}
	c.Records = observe.RecordWriterConfig{QueueSize: o.recordQueue, MaxAge: o.recordsMaxAge, MaxCount: o.recordsMaxCount}
	// Zero means "the default" to the writer; here it means "no limit".
	if o.recordsMaxAge == 0 {
		c.Records.MaxAge = -1
	}
	if o.recordsMaxCount == 0 {
		c.Records.MaxCount = -1
	}
	if o.alertWindow < time.Second || o.alertMinVolume < 1 || o.alertErrorRate <= 0 || o.alertErrorRate >= 100 || o.alertQuiet < 0 {
		errs = append(errs, errors.New("--alert-window must be at least 1s, --alert-min-volume at least 1, "+
			"--alert-error-rate between 0 and 100 (percent), --alert-quiet-period not negative"))
	}
	c.Alerts = observe.AlertConfig{Window: o.alertWindow, MinVolume: o.alertMinVolume, Threshold: o.alertErrorRate / 100,
		QuietPeriod: o.alertQuiet}
	if o.alertQuiet == 0 {
		c.Alerts.QuietPeriod = time.Nanosecond // "resolve as soon as the rate is back below"
	}
	if o.webhookURL != "" {
		c.Webhook = &notify.WebhookConfig{URL: o.webhookURL, Secret: []byte(env.Getenv(envWebhookSecret))}
		if len(c.Webhook.Secret) < 16 {
			errs = append(errs, fmt.Errorf("--webhook-url needs %s: at least 16 characters to sign the webhooks with", envWebhookSecret))
		}
	}
	if o.smtpHost != "" || o.smtpTo != "" || o.smtpFrom != "" {
		var to []string
		for a := range strings.SplitSeq(o.smtpTo, ",") {
			if a = strings.TrimSpace(a); a != "" {
				to = append(to, a)
			}
		}
		c.Email = &notify.EmailConfig{Host: o.smtpHost, Port: o.smtpPort, From: o.smtpFrom, To: to,
			Username: o.smtpUsername, Password: env.Getenv(envSMTPPassword), AllowPlaintext: o.smtpPlaintext}
		if o.smtpHost == "" || o.smtpFrom == "" || len(to) == 0 {
			errs = append(errs, errors.New("issue emails need --smtp-host, --smtp-from and --smtp-to"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, UsageError{err}
	}
	return c, nil
}

// listen opens the admin listener, or returns nil when it is off.
func (o *observeFlags) listen(logger interface {
	Warn(msg string, args ...any)
}) (net.Listener, error) {
	if !o.adminOn() {
		return nil, nil
	}
	l, err := net.Listen("tcp", o.adminAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for the admin listener: %w", o.adminAddr, err)
	}
	if host, _, _ := net.SplitHostPort(o.adminAddr); !oauth.IsLoopbackHost(host) {
		logger.Warn("the admin listener is reachable beyond this host: keep it on a private network", "event", "admin.exposed",
			"addr", o.adminAddr)
	}
	return l, nil
}

// url is the issue center's URL: --admin-url, else the listener's address.
func (o *observeFlags) url(l net.Listener, tls bool) string {
	if o.adminURL != "" {
		return strings.TrimRight(o.adminURL, "/")
	}
	if tls {
		return "https://" + l.Addr().String()
	}
	return "http://" + l.Addr().String()
}

// printAdmin prints where the issue center is, for the start banner.
func (o *observeFlags) printAdmin(env Env, adminURL string, demo bool, apiToken bool) {
	if !o.adminOn() {
		return
	}
	fmt.Fprintf(env.Stdout, "  issue center   %s/\n", adminURL)
	fmt.Fprintf(env.Stdout, "  metrics        %s/metrics   (health %s/healthz, readiness %s/readyz)\n", adminURL, adminURL, adminURL)
	if demo {
		fmt.Fprintf(env.Stdout, "  admin          %s / %s\n", DemoAdminUsername, DemoAdminPassword)
	}
	if apiToken {
		fmt.Fprintf(env.Stdout, "  admin API      %s/api/v1   (Authorization: Bearer $%s)\n", adminURL, envAdminToken)
	} else {
		fmt.Fprintf(env.Stdout, "  admin API      off: set %s to use %s/api/v1\n", envAdminToken, adminURL)
	}
}

// seedDemoAdmin creates, or resets to its documented password, the demo
// admin of the issue center.
func seedDemoAdmin(ctx context.Context, st store.AdminStore, now time.Time) error {
	now = now.UTC()
	a, err := st.GetAdmin(ctx, DemoAdminUsername)
	switch {
	case errors.Is(err, store.ErrNotFound):
		err = st.CreateAdmin(ctx, store.Admin{Username: DemoAdminUsername,
			PasswordHash: password.Hash(DemoAdminPassword, password.Default), CreatedAt: now, UpdatedAt: now})
	case err == nil && password.Verify(DemoAdminPassword, a.PasswordHash) != nil:
		err = st.UpdateAdmin(ctx, DemoAdminUsername, func(a store.Admin) (store.Admin, error) {
			a.PasswordHash, a.UpdatedAt = password.Hash(DemoAdminPassword, password.Default), now
			return a, nil
		})
	}
	if err != nil && !errors.Is(err, store.ErrAlreadyExists) {
		return fmt.Errorf("demo admin: %w", err)
	}
	return nil
}
