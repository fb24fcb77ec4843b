package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ObserveStore keeps what observability persists: request records, the
// issues the alert rules open, the request counts every replica adds to,
// the admins of the admin UI with their sessions, and notification
// deliveries.
type ObserveStore interface {
	RecordStore
	IssueStore
	TrafficStore
	AdminStore
	DeliveryStore
}

// RecordStore keeps one RequestRecord per public request, for the issue
// center and support bundles.
type RecordStore interface {
	// InsertRequestRecords writes a batch in one transaction; each record's
	// Seq is assigned by the store (the caller's is ignored).
	InsertRequestRecords(ctx context.Context, records []RequestRecord) error
	// GetRequestRecord returns the newest record with that request id
	// (clients may reuse an X-Request-ID).
	GetRequestRecord(ctx context.Context, requestID string) (RequestRecord, error)
	// ListRequestRecords returns the records matching q, newest first (by
	// Seq), at most q.Limit of them.
	ListRequestRecords(ctx context.Context, q RecordQuery) ([]RequestRecord, error)
	// RequestRecordStats counts the requests and failures matching q per
	// time bucket, oldest bucket first; empty buckets are left out.
	RequestRecordStats(ctx context.Context, q RecordStatsQuery) ([]RecordBucket, error)
	// DeleteRequestRecords enforces retention: it deletes records older
	// than r.Before and all but the newest r.Keep, at most r.Limit rows per
	// call, oldest first, and returns how many it deleted.
	DeleteRequestRecords(ctx context.Context, r RecordRetention) (int64, error)
}

// RequestRecord is what was kept of one public request. Headers are
// already masked; no field ever holds a secret, token, code or password.
type RequestRecord struct {
	// Seq orders records in the order they were stored.
	Seq        int64
	RequestID  string
	Time       time.Time
	Route      string
	Method     string
	Path       string
	Status     int
	Duration   time.Duration
	RemoteAddr string
	UserAgent  string

	ClientID         string
	Subject          string
	State            string
	OAuthSessionID   string
	Error            string
	ErrorDescription string
	// UserDecision marks an outcome the user chose (access_denied on Cancel).
	UserDecision bool
	// Failure is true when the request counts as an error under the alert
	// rule (5xx, an OAuth error other than access_denied, an FDX error).
	Failure bool
	Headers map[string]string
}

// RecordQuery selects request records; empty fields match everything.
type RecordQuery struct {
	RequestID      string
	State          string
	Subject        string
	ClientID       string
	Route          string
	OAuthSessionID string
	// StatusMin and StatusMax bound the HTTP status (inclusive); 0 is
	// unbounded.
	StatusMin, StatusMax int
	FailuresOnly         bool
	// Since and Until bound Time: Since <= Time < Until; zero is unbounded.
	Since, Until time.Time
	// BeforeSeq pages backwards: only records with Seq < BeforeSeq (0: none).
	BeforeSeq int64
	// Limit caps the result; 0 or less means 100.
	Limit int
}

// RecordStatsQuery asks for request and failure counts per bucket of
// Bucket length starting at Since, over Since <= Time < Until.
type RecordStatsQuery struct {
	Route    string
	ClientID string
	Since    time.Time
	Until    time.Time
	Bucket   time.Duration
}

// RecordBucket is one bucket of RequestRecordStats.
type RecordBucket struct {
	Start    time.Time
	Requests int64
	Failures int64
}

// RecordRetention is one step of retention enforcement.
type RecordRetention struct {
	// Before: records with Time < Before go (zero: no age limit).
	Before time.Time
	// Keep: all but the newest Keep records go (0: no count limit).
	Keep int
	// Limit caps the rows deleted by one call, so one step never holds the
	// write lock for long; 0 or less means 5000.
	Limit int
}

// IssueStore keeps the issues the alert rules open and resolve.
type IssueStore interface {
	// OpenIssue stores iss unless an unresolved issue with the same Key
	// exists, in which case it returns that one and false. Of concurrent
	// callers (on any replica) exactly one creates.
	OpenIssue(ctx context.Context, iss Issue) (Issue, bool, error)
	GetIssue(ctx context.Context, id string) (Issue, error)
	// UpdateIssue runs update on the current row inside a transaction and
	// stores what it returns; an error from update aborts the change.
	UpdateIssue(ctx context.Context, id string, update func(Issue) (Issue, error)) (Issue, error)
	// ListIssues returns the issues matching q, most recently seen first.
	ListIssues(ctx context.Context, q IssueQuery) ([]Issue, error)
}

// IssueKind names the rule that opened an issue.
type IssueKind string

const (
	// IssueErrorRate: the error rate of an endpoint or a client went above
	// the threshold.
	IssueErrorRate IssueKind = "error_rate"
	// IssueKeyRotation: the active signing key is due to rotate without a
	// published successor.
	IssueKeyRotation IssueKind = "key_rotation"
	// IssueJWKS: the server's own JWKS self-check failed (kid_not_found).
	IssueJWKS IssueKind = "jwks_self_check"
)

// Issue is a problem the alert rules found.
type Issue struct {
	ID string
	// Key identifies what the issue is about ("error_rate:route:token");
	// at most one unresolved issue exists per key.
	Key      string
	Kind     IssueKind
	Route    string
	ClientID string
	// Error is the most frequent error code seen.
	Error   string
	Summary string
	// FirstSeen and LastSeen bound the failures the issue counted.
	FirstSeen time.Time
	LastSeen  time.Time
	// ResolvedAt is zero while the issue is open.
	ResolvedAt time.Time
	// Failures and Requests count what the rule saw while the issue was
	// open (the window that opened it included).
	Failures int64
	Requests int64
	// Rate is the error rate at the last evaluation, PeakRate the highest.
	Rate     float64
	PeakRate float64
	// HealthySince is when the error-rate rule last found the window back
	// at or below the threshold; zero while it is above. Kept in the issue
	// so that every replica judges the quiet period from the same instant.
	HealthySince time.Time
	UpdatedAt    time.Time
}

// Open reports whether the issue is unresolved.
func (i Issue) Open() bool { return i.ResolvedAt.IsZero() }

// IssueQuery selects issues; empty fields match everything.
type IssueQuery struct {
	// Open: "open" or "resolved"; empty for both.
	Status   string
	Kind     IssueKind
	Route    string
	ClientID string
	// Limit caps the result; 0 or less means 100.
	Limit int
}

// AdminStore keeps the people who may sign in to the admin UI and their
// sessions.
type AdminStore interface {
	CreateAdmin(ctx context.Context, a Admin) error
	GetAdmin(ctx context.Context, username string) (Admin, error)
	ListAdmins(ctx context.Context) ([]Admin, error)
	UpdateAdmin(ctx context.Context, username string, update func(Admin) (Admin, error)) error
	// DeleteAdmin removes the admin and their sessions.
	DeleteAdmin(ctx context.Context, username string) error

	CreateAdminSession(ctx context.Context, s AdminSession) error
	GetAdminSession(ctx context.Context, idHash string) (AdminSession, error)
	DeleteAdminSession(ctx context.Context, idHash string) error
	// DeleteExpiredAdminSessions removes the sessions expired at now.
	DeleteExpiredAdminSessions(ctx context.Context, now time.Time) (int64, error)
}

// Admin may sign in to the admin UI.
type Admin struct {
	Username string
	// PasswordHash is argon2id in the PHC string format.
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// AdminSession is a signed-in browser of the admin UI.
type AdminSession struct {
	// IDHash is the SHA-256 of the session cookie value.
	IDHash    string
	Username  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// DeliveryStore keeps notification deliveries, so their status is
// visible and pending ones survive a restart.
type DeliveryStore interface {
	CreateDelivery(ctx context.Context, d Delivery) error
	UpdateDelivery(ctx context.Context, id string, update func(Delivery) (Delivery, error)) error
	// ListDeliveries returns the deliveries matching q, newest first.
	ListDeliveries(ctx context.Context, q DeliveryQuery) ([]Delivery, error)
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Delivery is one notification to one channel.
type Delivery struct {
	ID      string
	IssueID string
	// Event is "issue.opened" or "issue.resolved".
	Event string
	// Channel is "webhook" or "email"; Target names where it goes (URL
	// without credentials, or the recipients).
	Channel string
	Target  string
	// Status is DeliveryPending, DeliveryDelivered or DeliveryFailed.
	Status    string
	Attempts  int
	LastError string
	// Payload is the message body (JSON for a webhook, the text for an
	// email); it never holds a secret.
	Payload     []byte
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeliveredAt time.Time
}

// DeliveryQuery selects deliveries; empty fields match everything.
type DeliveryQuery struct {
	IssueID string
	Status  string
	// Limit caps the result; 0 or less means 100.
	Limit int
}

// TrafficStore keeps request counts per time bucket that every replica
// adds to, so that the alert rule and the overview charts see the traffic
// of all replicas together. A bucket is identified by its start and width;
// replicas add into the same row when they count the same bucket.
type TrafficStore interface {
	// AddTraffic adds one replica's counts in one transaction: each
	// AlertCount and TrafficCount to the row of its bucket and key
	// (creating it), and each IssueCount to the unresolved issue of its Key
	// when there is one. Concurrent adders, on any replica, lose nothing.
	AddTraffic(ctx context.Context, b TrafficBatch) error
	// SumAlertCounts sums the alert buckets of q.Width that start in
	// [q.Since, q.Until), one AlertCount per route, client and error, in
	// that order; Start is q.Since and Width q.Width. Keys without
	// requests are left out.
	SumAlertCounts(ctx context.Context, q AlertCountQuery) ([]AlertCount, error)
	// SumTrafficCounts sums the chart buckets of q.Width that start in
	// [q.Since, q.Until) per step of q.Step from q.Since: one TrafficCount
	// per route, step and latency bin, ordered so; Start is the step's
	// start and Width q.Step.
	SumTrafficCounts(ctx context.Context, q TrafficQuery) ([]TrafficCount, error)
	// OpenCountedIssue opens iss as OpenIssue does, with its Failures and
	// Requests set to the sums of the alert buckets q selects, read in the
	// same transaction and in step with AddTraffic: every count is in the
	// new issue exactly once, in these sums or added later by AddTraffic.
	// When an unresolved issue of iss.Key exists it returns that one and
	// false.
	OpenCountedIssue(ctx context.Context, iss Issue, q AlertCountQuery) (Issue, bool, error)
	// DeleteTraffic deletes alert buckets that start before r.AlertsBefore
	// and chart buckets that start before r.TrafficBefore (a zero time
	// deletes none), and returns how many rows it deleted.
	DeleteTraffic(ctx context.Context, r TrafficRetention) (int64, error)
}

// AlertCount is what the error-rate rule needs of one bucket: the requests
// of a route, from a client (empty for none, or one not registered), that
// failed with one error ("" for the requests that did not fail).
type AlertCount struct {
	// Start is the bucket's start, Width its length (the alert window
	// divided into its slots).
	Start    time.Time
	Width    time.Duration
	Route    string
	ClientID string
	Error    string
	Requests int64
	Failures int64
	// FirstFailure and LastFailure bound the failures counted (zero when
	// none).
	FirstFailure time.Time
	LastFailure  time.Time
}

// TrafficCount is what the overview charts need of one bucket: the
// requests of a route whose latency fell in one histogram bin, and how
// many of them failed.
type TrafficCount struct {
	Start time.Time
	Width time.Duration
	Route string
	// LatencyLE is the upper bound of the latency bin; 0 is the open last
	// bin (above the highest bound).
	LatencyLE time.Duration
	Requests  int64
	Failures  int64
}

// IssueCount is what a batch of traffic adds to the unresolved issue of
// Key.
type IssueCount struct {
	Key      string
	Failures int64
	Requests int64
}

// TrafficBatch is one replica's counts since its last flush.
type TrafficBatch struct {
	Alerts  []AlertCount
	Traffic []TrafficCount
	Issues  []IssueCount
}

// AlertCountQuery selects alert buckets of one width over
// Since <= Start < Until; Route and ClientID, when set, narrow it.
type AlertCountQuery struct {
	Width    time.Duration
	Since    time.Time
	Until    time.Time
	Route    string
	ClientID string
}

// TrafficQuery selects chart buckets of one width over
// Since <= Start < Until, summed per Step (at least Width, whole
// microseconds).
type TrafficQuery struct {
	Width time.Duration
	Since time.Time
	Until time.Time
	Step  time.Duration
}

// TrafficRetention is what DeleteTraffic deletes.
type TrafficRetention struct {
	AlertsBefore  time.Time
	TrafficBefore time.Time
}

// Validate reports the first count that no replica could have made: no
// bucket width or start, no route, negative counts or more failures than
// requests. Backends refuse a batch that does not validate, whole.
func (b TrafficBatch) Validate() error {
	for _, c := range b.Alerts {
		if err := validCount("alert", c.Start, c.Width, c.Route, c.Requests, c.Failures); err != nil {
			return err
		}
	}
	for _, c := range b.Traffic {
		if err := validCount("traffic", c.Start, c.Width, c.Route, c.Requests, c.Failures); err != nil {
			return err
		}
		if c.LatencyLE < 0 {
			return fmt.Errorf("store: traffic count of %s: negative latency bound %v", c.Route, c.LatencyLE)
		}
	}
	for _, c := range b.Issues {
		if c.Key == "" || c.Requests < 0 || c.Failures < 0 || c.Failures > c.Requests {
			return fmt.Errorf("store: issue count %q: %d failures of %d requests", c.Key, c.Failures, c.Requests)
		}
	}
	return nil
}

func validCount(kind string, start time.Time, width time.Duration, route string, requests, failures int64) error {
	switch {
	case start.IsZero() || width <= 0:
		return fmt.Errorf("store: %s count of %q: a bucket needs a start and a positive width", kind, route)
	case route == "":
		return fmt.Errorf("store: %s count without a route", kind)
	case requests < 0 || failures < 0 || failures > requests:
		return fmt.Errorf("store: %s count of %s: %d failures of %d requests", kind, route, failures, requests)
	}
	return nil
}

// Validate checks that q selects a range of buckets of some width.
func (q AlertCountQuery) Validate() error {
	if q.Width <= 0 || !q.Since.Before(q.Until) {
		return errors.New("store: alert counts: the query needs a positive width and since before until")
	}
	return nil
}

// Validate checks that q selects a range of buckets of some width, summed
// per step of at least that width, in whole microseconds.
func (q TrafficQuery) Validate() error {
	if q.Width <= 0 || !q.Since.Before(q.Until) || q.Step < q.Width || q.Step%time.Microsecond != 0 {
		return errors.New("store: traffic counts: the query needs a positive width, since before until, " +
			"and a step of at least the width in whole microseconds")
	}
	return nil
}

// Merged returns b with the counts of the same bucket and key added
// together, and each list in key order, bucket starts at the microsecond
// precision every backend stores. A backend that writes a batch in key
// order takes its row locks in the same order as every other writer, so
// concurrent batches cannot deadlock.
func (b TrafficBatch) Merged() TrafficBatch {
	type alertKey struct {
		start                  int64
		width                  time.Duration
		route, client, errCode string
	}
	alerts := make(map[alertKey]int, len(b.Alerts))
	var out TrafficBatch
	for _, c := range b.Alerts {
		c.Start = c.Start.Truncate(time.Microsecond).UTC()
		k := alertKey{c.Start.UnixMicro(), c.Width, c.Route, c.ClientID, c.Error}
		i, ok := alerts[k]
		if !ok {
			alerts[k] = len(out.Alerts)
			out.Alerts = append(out.Alerts, c)
			continue
		}
		m := &out.Alerts[i]
		m.Requests += c.Requests
		m.Failures += c.Failures
		if !c.FirstFailure.IsZero() && (m.FirstFailure.IsZero() || c.FirstFailure.Before(m.FirstFailure)) {
			m.FirstFailure = c.FirstFailure
		}
		if c.LastFailure.After(m.LastFailure) {
			m.LastFailure = c.LastFailure
		}
	}
	slices.SortFunc(out.Alerts, func(x, y AlertCount) int {
		return cmp.Or(x.Start.Compare(y.Start), cmp.Compare(x.Width, y.Width), cmp.Compare(x.Route, y.Route),
			cmp.Compare(x.ClientID, y.ClientID), cmp.Compare(x.Error, y.Error))
	})

	type trafficKey struct {
		start        int64
		width        time.Duration
		route        string
		latencyBound time.Duration
	}
	traffic := make(map[trafficKey]int, len(b.Traffic))
	for _, c := range b.Traffic {
		c.Start = c.Start.Truncate(time.Microsecond).UTC()
		c.LatencyLE = c.LatencyLE.Truncate(time.Microsecond)
		k := trafficKey{c.Start.UnixMicro(), c.Width, c.Route, c.LatencyLE}
		if i, ok := traffic[k]; ok {
			out.Traffic[i].Requests += c.Requests
			out.Traffic[i].Failures += c.Failures
			continue
		}
		traffic[k] = len(out.Traffic)
		out.Traffic = append(out.Traffic, c)
	}
	slices.SortFunc(out.Traffic, func(x, y TrafficCount) int {
		return cmp.Or(x.Start.Compare(y.Start), cmp.Compare(x.Width, y.Width), cmp.Compare(x.Route, y.Route),
			cmp.Compare(x.LatencyLE, y.LatencyLE))
	})

	issues := make(map[string]int, len(b.Issues))
	for _, c := range b.Issues {
		if i, ok := issues[c.Key]; ok {
			out.Issues[i].Requests += c.Requests
			out.Issues[i].Failures += c.Failures
			continue
		}
		issues[c.Key] = len(out.Issues)
		out.Issues = append(out.Issues, c)
	}
	slices.SortFunc(out.Issues, func(x, y IssueCount) int { return cmp.Compare(x.Key, y.Key) })
	return out
}
