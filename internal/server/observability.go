package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fdxd/fdxd/internal/admin"
	"github.com/fdxd/fdxd/internal/notify"
	"github.com/fdxd/fdxd/internal/observe"
)

// ObservabilityConfig configures metrics, request records, the alert
// rules, notifications and the admin listener. The zero value records
// every request, alerts with the defaults, notifies nobody and serves no
// admin listener.
type ObservabilityConfig struct {
	// AdminToken is FDXD_ADMIN_TOKEN: the bearer token of the admin API.
	AdminToken string
	// AdminURL is the admin UI's base URL in notifications (the admin
	// listener is Listeners.Admin).
	AdminURL string
	// Registry receives the metrics (default: a new registry).
	Registry *prometheus.Registry
	// DisableRecords turns request records off (metrics, charts and alerts
	// stay on): for measuring what recording costs.
	DisableRecords bool
	// DisableRequestSinks turns off everything that counts requests:
	// records, request metrics, charts and the error-rate rule (the admin
	// listener, Go and process metrics and the key checks stay): the
	// baseline for measuring what observability costs.
	DisableRequestSinks bool
	// Records sets the record queue, batching and retention; Store, Logger
	// and Now are filled in.
	Records observe.RecordWriterConfig
	// Alerts sets the alert rule; Store, Traffic, Logger, Now and Notify
	// are filled in.
	Alerts observe.AlertConfig
	// Webhook and Email, when set, receive issue notifications.
	Webhook *notify.WebhookConfig
	Email   *notify.EmailConfig
	// NotifyBackoff overrides the waits between delivery attempts.
	NotifyBackoff []time.Duration
	// TrafficResolution is the overview charts' slot width (default 1 minute).
	TrafficResolution time.Duration
	// ReplicaID names this process among the replicas that share the
	// database, in the issues of checks that judge its own view (the JWKS
	// self-check). Default: the host name and the process id.
	ReplicaID string
	// HealthCheckInterval paces the signing-key and JWKS self-checks and
	// the refresh of the known-client list (default 1 minute).
	HealthCheckInterval time.Duration
}

// observability holds what ObservabilityConfig builds.
type observability struct {
	cfg      ObservabilityConfig
	registry *prometheus.Registry
	metrics  *observe.Metrics
	records  *observe.RecordWriter
	traffic  *observe.Traffic
	alerts   *observe.Alerts
	notifier *notify.Notifier
	admin    *admin.Admin
	// clients is the set of registered client ids, refreshed in the
	// background, so that only those get alert windows of their own.
	clients atomic.Pointer[map[string]bool]
	// replica is ObservabilityConfig.ReplicaID or its default.
	replica string
}

// setupObservability builds metrics, records, alerts, notifications and
// the admin handler, registers their sinks on the observer, and returns
// the logger the other components should use: it counts OAuth events
// into the metrics.
func (s *Server) setupObservability(ctx context.Context) (*slog.Logger, error) {
	cfg := s.cfg.Observability
	o := &observability{cfg: cfg, registry: cfg.Registry}
	if o.registry == nil {
		o.registry = prometheus.NewRegistry()
	}
	if cfg.HealthCheckInterval <= 0 {
		o.cfg.HealthCheckInterval = time.Minute
	}
	o.replica = cfg.ReplicaID
	if o.replica == "" {
		o.replica = defaultReplicaID()
	}
	var err error
	if o.metrics, err = observe.NewMetrics(o.registry); err != nil {
		return nil, err
	}
	logger := slog.New(o.metrics.CountEvents(s.cfg.Logger.Handler()))
	if cfg.DisableRequestSinks {
		logger = s.cfg.Logger
	}

	o.traffic, err = observe.NewTraffic(observe.TrafficConfig{Store: s.cfg.Store, Now: s.cfg.Now, Logger: s.cfg.Logger,
		Resolution: cfg.TrafficResolution, AlertWindow: cfg.Alerts.Window,
		KnownClient: func(id string) bool {
			known := o.clients.Load()
			return known != nil && (*known)[id]
		}})
	if err != nil {
		return nil, err
	}
	if !cfg.DisableRecords && !cfg.DisableRequestSinks {
		rc := cfg.Records
		rc.Store, rc.Logger, rc.Now = s.cfg.Store, s.cfg.Logger, s.cfg.Now
		o.records = observe.NewRecordWriter(rc)
	}
	o.notifier, err = notify.New(notify.Config{Store: s.cfg.Store, Webhook: cfg.Webhook, Email: cfg.Email,
		AdminURL: cfg.AdminURL, Logger: s.cfg.Logger, Now: s.cfg.Now, Backoff: cfg.NotifyBackoff})
	if err != nil {
		return nil, err
	}
	ac := cfg.Alerts
	ac.Store, ac.Traffic, ac.Logger, ac.Now, ac.Notify = s.cfg.Store, o.traffic, s.cfg.Logger, s.cfg.Now, o.notifier.Notify
	if ac.ReplicaStaleAfter == 0 {
		// Five missed checks: the replica stopped.
		ac.ReplicaStaleAfter = 5 * o.cfg.HealthCheckInterval
	}
	if o.alerts, err = observe.NewAlerts(ac); err != nil {
		return nil, err
	}
	o.refreshClients(ctx, s)

	for _, f := range []struct {
		name, help string
		fn         func() float64
	}{
		{"fdxd_request_records_dropped_total", "Request records dropped because the write queue was full.",
			o.recordCount((*observe.RecordWriter).Dropped)},
		{"fdxd_request_records_written_total", "Request records stored.", o.recordCount((*observe.RecordWriter).Written)},
		{"fdxd_request_records_write_failures_total", "Request records lost to a failed database write.",
			o.recordCount((*observe.RecordWriter).Failed)},
		{"fdxd_request_records_pruned_total", "Request records deleted by retention.", o.recordCount((*observe.RecordWriter).Pruned)},
		{"fdxd_notifications_delivered_total", "Issue notifications delivered.", func() float64 { return float64(o.notifier.Delivered()) }},
		{"fdxd_notifications_failed_total", "Issue notifications given up on.", func() float64 { return float64(o.notifier.Failed()) }},
		{"fdxd_notifications_dropped_total", "Issue events dropped because the notification queue was full.",
			func() float64 { return float64(o.notifier.Dropped()) }},
		{"fdxd_traffic_counts_dropped_total", "Requests left out of the shared traffic counts (alert windows, charts) because too many counts waited for the database.",
			func() float64 { return float64(o.traffic.Dropped()) }},
		{"fdxd_traffic_flush_failures_total", "Flushes of traffic counts the database refused (the counts are kept for the next).",
			func() float64 { return float64(o.traffic.FlushFailures()) }},
	} {
		if err := o.metrics.AddCounterFunc(f.name, f.help, f.fn); err != nil {
			return nil, err
		}
	}
	if err := o.metrics.AddGaugeFunc("fdxd_open_issues", "Issues open at the last evaluation of the alert rule.",
		func() float64 { return float64(o.alerts.OpenIssues()) }); err != nil {
		return nil, err
	}
	if err := o.metrics.AddGaugeFunc("fdxd_request_records_queued", "Request records waiting to be written.",
		func() float64 {
			if o.records == nil {
				return 0
			}
			return float64(o.records.Queued())
		}); err != nil {
		return nil, err
	}
	if err := o.metrics.AddSigningKeys(s.keys.List, s.cfg.Now); err != nil {
		return nil, err
	}

	if !cfg.DisableRequestSinks {
		s.observer.AddSink(o.metrics.Sink)
		// One sink counts for the alert windows and the charts alike.
		s.observer.AddSink(o.traffic.Sink)
	}
	if o.records != nil {
		s.observer.AddSink(o.records.Sink)
	}

	o.admin, err = admin.New(admin.Config{Store: s.cfg.Store, Ready: s.readiness, Keys: s.keys.List, Traffic: o.traffic,
		Alerts: o.alerts, Gatherer: o.registry, APIToken: cfg.AdminToken, Logger: s.cfg.Logger, Now: s.cfg.Now})
	if err != nil {
		return nil, err
	}
	s.obs = o
	return logger, nil
}

func (o *observability) recordCount(f func(*observe.RecordWriter) uint64) func() float64 {
	return func() float64 {
		if o.records == nil {
			return 0
		}
		return float64(f(o.records))
	}
}

// refreshClients reloads the set of registered client ids.
func (o *observability) refreshClients(ctx context.Context, s *Server) {
	cs, err := s.cfg.Store.ListClients(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Warn("could not list clients for the alert rules", "event", "alerts.clients_failed", "error", err.Error())
		}
		return
	}
	known := make(map[string]bool, len(cs))
	for _, c := range cs {
		known[c.ID] = true
	}
	o.clients.Store(&known)
}

// checkHealth runs the signing-key and JWKS self-checks into the alert
// rules. The signing-key check judges shared state, so it reads the keys
// from the database first (every replica then comes to the same verdict,
// and any of them may resolve the issue); when it cannot, it judges
// nothing rather than this replica's cached keys. The JWKS self-check
// judges this replica's own JWKS, under an issue key of its own.
func (o *observability) checkHealth(ctx context.Context, s *Server) {
	var conds []observe.Condition
	if err := s.keys.Reload(ctx); err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Warn("signing key check skipped: the keys could not be read", "event", "alerts.check_skipped",
				"check", observe.ConditionKeyRotation, "error", err.Error())
		}
	} else {
		conds = append(conds, observe.SigningKeyCondition(s.keys.List(), s.cfg.Now()))
	}
	if kid, _, ok := s.keys.Active(); ok {
		body, _ := s.keys.JWKS()
		conds = append(conds, observe.JWKSCondition(body, kid, o.replica))
	}
	for _, c := range conds {
		if err := o.alerts.SetCondition(ctx, c); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("health check could not update its issue", "event", "alerts.failed", "check", c.Key,
				"error", err.Error())
		}
	}
}

// AdminHandler is the admin listener's handler (for tests and embedding).
func (s *Server) AdminHandler() http.Handler { return s.obs.admin.Handler() }

// Registry is the Prometheus registry the server's metrics are on.
func (s *Server) Registry() *prometheus.Registry { return s.obs.registry }

// Alerts is the alert rule engine.
func (s *Server) Alerts() *observe.Alerts { return s.obs.alerts }

// Traffic counts requests for the alert windows and the charts.
func (s *Server) Traffic() *observe.Traffic { return s.obs.traffic }

// ReplicaID is the name of this process in the issues of its own checks.
func (s *Server) ReplicaID() string { return s.obs.replica }

// defaultReplicaID is the host name and the process id: unique among
// processes, though a restarted process gets a new one (its old JWKS issue
// is resolved once stale).
func defaultReplicaID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "fdxd"
	}
	return host + "/" + strconv.Itoa(os.Getpid())
}

// Records is the request-record writer; nil when records are off.
func (s *Server) Records() *observe.RecordWriter { return s.obs.records }

// CheckHealth runs the signing-key and JWKS self-checks now.
func (s *Server) CheckHealth(ctx context.Context) { s.obs.checkHealth(ctx, s) }

// StartObservability starts the background work of observability: the
// record writer, the traffic counts, the alert rules, notifications and
// the health checks.
// The returned stop ends them and waits, writing the
// records still queued; Serve calls it after draining requests, so the
// records of the last requests are kept.
func (s *Server) StartObservability(ctx context.Context) (stop func()) {
	o := s.obs
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	if o.records != nil {
		wg.Go(func() { o.records.Run(bg) })
	}
	wg.Go(func() { o.traffic.Run(bg) })
	wg.Go(func() { o.alerts.Run(bg) })
	wg.Go(func() { o.notifier.Run(bg) })
	wg.Go(func() {
		t := time.NewTicker(o.cfg.HealthCheckInterval)
		defer t.Stop()
		o.checkHealth(bg, s)
		for {
			select {
			case <-bg.Done():
				return
			case <-t.C:
				o.checkHealth(bg, s)
				o.refreshClients(bg, s)
				if _, err := s.cfg.Store.DeleteExpiredAdminSessions(bg, s.cfg.Now()); err != nil && bg.Err() == nil {
					s.cfg.Logger.Warn("could not delete expired admin sessions", "event", "admin.gc_failed", "error", err.Error())
				}
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

// readiness runs the checks behind /readyz.
func (s *Server) readiness(ctx context.Context) []admin.Check {
	var checks []admin.Check
	if err := s.cfg.Store.Ping(ctx); err != nil {
		checks = append(checks, admin.Check{Name: "database", Detail: "the database does not answer"})
		s.cfg.Logger.Warn("readiness: database", "event", "readyz.failed", "error", err.Error())
	} else {
		checks = append(checks, admin.Check{Name: "database", OK: true})
	}
	if kid, alg, ok := s.keys.Active(); ok {
		checks = append(checks, admin.Check{Name: "signing_key", OK: true, Detail: alg + " " + kid})
	} else {
		checks = append(checks, admin.Check{Name: "signing_key", Detail: "no active signing key"})
	}
	applied, known, err := s.cfg.Store.MigrationStatus(ctx)
	switch {
	case err != nil:
		checks = append(checks, admin.Check{Name: "migrations", Detail: "could not read the migration status"})
	case applied != known:
		checks = append(checks, admin.Check{Name: "migrations",
			Detail: fmt.Sprintf("database at migration %d, this binary expects %d: run fdxd migrate", applied, known)})
	default:
		checks = append(checks, admin.Check{Name: "migrations", OK: true, Detail: fmt.Sprintf("at %d", applied)})
	}
	return checks
}
