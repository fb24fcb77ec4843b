package store

import (
	"context"
	"time"
)

// ObserveStore keeps what observability persists: request records, the
// issues the alert rules open, the admins of the admin UI with their
// sessions, and notification deliveries.
type ObserveStore interface {
	RecordStore
	IssueStore
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
	Rate      float64
	PeakRate  float64
	UpdatedAt time.Time
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
