package observe

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fdxd/fdxd/internal/store"
)

// BundleFormat names the support bundle's JSON shape.
const BundleFormat = "fdxd-support-bundle/1"

// ErrBadBundleQuery: the query names no anchor, more than one, or a bad
// time range.
var ErrBadBundleQuery = errors.New("observe: bad bundle query")

// BundleQuery chooses what a support bundle is about: exactly one of a
// request id, a state, a user's sub or an issue, and optionally a window.
type BundleQuery struct {
	RequestID string `json:"request_id,omitempty"`
	State     string `json:"state,omitempty"`
	Subject   string `json:"user,omitempty"`
	IssueID   string `json:"issue,omitempty"`
	// Since and Until bound the records gathered (Since <= time < Until).
	// Defaults: an hour either side of the request (or of a state's
	// records), the last 24 hours for a user, the issue's span with five
	// minutes either side.
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
}

// Validate reports a query without exactly one anchor, or with an empty
// time range.
func (q BundleQuery) Validate() error {
	n := 0
	for _, v := range []string{q.RequestID, q.State, q.Subject, q.IssueID} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: give exactly one of request id, state, user or issue", ErrBadBundleQuery)
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return fmt.Errorf("%w: since must be before until", ErrBadBundleQuery)
	}
	return nil
}

// Bundle is one JSON document with what a support ticket needs.
type Bundle struct {
	Format      string      `json:"format"`
	GeneratedAt time.Time   `json:"generated_at"`
	Query       BundleQuery `json:"query"`
	// Window is the time range the records were gathered from.
	Window struct {
		Since time.Time `json:"since"`
		Until time.Time `json:"until"`
	} `json:"window"`
	// Ticket is the request the bundle is about: the failing one when
	// there is one, else the newest.
	Ticket *BundleRecord `json:"ticket"`
	Issue  *BundleIssue  `json:"issue,omitempty"`
	// Records are the surrounding records, oldest first: the same
	// oauth_session_id, state or user inside the window.
	Records []BundleRecord `json:"records"`
	// Truncated is true when more records matched than a bundle holds.
	Truncated bool   `json:"truncated"`
	Masking   string `json:"masking"`
}

// BundleRecord is a request record in a bundle.
type BundleRecord struct {
	XRequestID       string            `json:"x_request_id"`
	Timestamp        time.Time         `json:"timestamp"`
	Route            string            `json:"route"`
	Method           string            `json:"method"`
	Path             string            `json:"path"`
	HTTPStatus       int               `json:"http_status"`
	LatencyMS        float64           `json:"latency_ms"`
	ClientID         string            `json:"client_id,omitempty"`
	UserID           string            `json:"user_id,omitempty"`
	State            string            `json:"state,omitempty"`
	OAuthSessionID   string            `json:"oauth_session_id,omitempty"`
	Error            string            `json:"error,omitempty"`
	ErrorDescription string            `json:"error_description,omitempty"`
	UserDecision     bool              `json:"user_decision,omitempty"`
	Failure          bool              `json:"failure"`
	RemoteAddr       string            `json:"remote_addr,omitempty"`
	UserAgent        string            `json:"user_agent,omitempty"`
	Headers          map[string]string `json:"headers"`
}

// BundleIssue is an issue in a bundle.
type BundleIssue struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Route      string    `json:"route,omitempty"`
	ClientID   string    `json:"client_id,omitempty"`
	Error      string    `json:"error,omitempty"`
	Summary    string    `json:"summary"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	Failures   int64     `json:"failures"`
	Requests   int64     `json:"requests"`
	Rate       float64   `json:"rate"`
	PeakRate   float64   `json:"peak_rate"`
}

// NewBundleIssue is iss as bundles and the admin API show it.
func NewBundleIssue(iss store.Issue) BundleIssue {
	return BundleIssue{ID: iss.ID, Kind: string(iss.Kind), Route: iss.Route, ClientID: iss.ClientID, Error: iss.Error,
		Summary: iss.Summary, FirstSeen: iss.FirstSeen, LastSeen: iss.LastSeen, ResolvedAt: iss.ResolvedAt,
		Failures: iss.Failures, Requests: iss.Requests, Rate: iss.Rate, PeakRate: iss.PeakRate}
}

// NewBundleRecord is r as bundles and the admin API show it, masked again
// (masking is idempotent) so that nothing secret leaves even a record
// stored by an older, laxer version.
func NewBundleRecord(r store.RequestRecord) BundleRecord {
	headers := MaskHeaderMap(r.Headers)
	if headers == nil {
		headers = map[string]string{}
	}
	return BundleRecord{
		XRequestID: r.RequestID, Timestamp: r.Time.UTC(), Route: r.Route, Method: r.Method, Path: r.Path,
		HTTPStatus: r.Status, LatencyMS: float64(r.Duration.Microseconds()) / 1000,
		ClientID: r.ClientID, UserID: r.Subject, State: r.State, OAuthSessionID: r.OAuthSessionID,
		Error: r.Error, ErrorDescription: MaskText(r.ErrorDescription), UserDecision: r.UserDecision, Failure: r.Failure,
		RemoteAddr: r.RemoteAddr, UserAgent: MaskText(r.UserAgent), Headers: headers,
	}
}

// BundleMasking describes the masking applied, for the reader of a bundle.
const BundleMasking = "Authorization keeps its scheme and at most the last 4 characters (none of Basic credentials); " +
	"Cookie and Set-Cookie keep cookie names only; headers named like secrets, secret-looking parameters and " +
	"token-like values are [masked]. Bodies, query strings, codes, tokens, secrets and passwords are never recorded."

// Bundle size limits.
const (
	bundleMaxRecords  = 1000
	bundlePerQuery    = 200
	bundleMaxSessions = 20
)

// BundleStore is what BuildBundle reads.
type BundleStore interface {
	store.RecordStore
	GetIssue(ctx context.Context, id string) (store.Issue, error)
}

// BuildBundle gathers the support bundle q asks for, at now. A request
// id, state, user or issue with no records is store.ErrNotFound.
func BuildBundle(ctx context.Context, st BundleStore, q BundleQuery, now time.Time) (Bundle, error) {
	if err := q.Validate(); err != nil {
		return Bundle{}, err
	}
	b := Bundle{Format: BundleFormat, GeneratedAt: now.UTC(), Query: q, Masking: BundleMasking, Records: []BundleRecord{}}
	g := gatherer{ctx: ctx, st: st, seen: map[int64]bool{}}
	since, until := q.Since, q.Until
	var (
		anchors []store.RequestRecord
		err     error
	)
	switch {
	case q.RequestID != "":
		var r store.RequestRecord
		if r, err = st.GetRequestRecord(ctx, q.RequestID); err != nil {
			return Bundle{}, fmt.Errorf("observe: bundle for request %s: %w", q.RequestID, err)
		}
		anchors = []store.RequestRecord{r}
		since, until = orDefault(since, r.Time.Add(-time.Hour)), orDefault(until, r.Time.Add(time.Hour))
	case q.State != "":
		if anchors, err = st.ListRequestRecords(ctx, store.RecordQuery{State: q.State, Since: since, Until: until,
			Limit: bundlePerQuery}); err != nil {
			return Bundle{}, fmt.Errorf("observe: bundle for state: %w", err)
		}
		if len(anchors) > 0 {
			since = orDefault(since, anchors[len(anchors)-1].Time.Add(-time.Hour))
			until = orDefault(until, anchors[0].Time.Add(time.Hour))
		}
	case q.Subject != "":
		since, until = orDefault(since, now.Add(-24*time.Hour)), orDefault(until, now.Add(time.Second))
		if anchors, err = st.ListRequestRecords(ctx, store.RecordQuery{Subject: q.Subject, Since: since, Until: until,
			Limit: bundlePerQuery}); err != nil {
			return Bundle{}, fmt.Errorf("observe: bundle for user: %w", err)
		}
	case q.IssueID != "":
		iss, err := st.GetIssue(ctx, q.IssueID)
		if err != nil {
			return Bundle{}, fmt.Errorf("observe: bundle for issue %s: %w", q.IssueID, err)
		}
		bi := NewBundleIssue(iss)
		b.Issue = &bi
		end := iss.LastSeen
		if !iss.ResolvedAt.IsZero() {
			end = iss.ResolvedAt
		}
		since, until = orDefault(since, iss.FirstSeen.Add(-5*time.Minute)), orDefault(until, end.Add(5*time.Minute))
		if iss.Kind == store.IssueErrorRate {
			if anchors, err = st.ListRequestRecords(ctx, store.RecordQuery{Route: iss.Route, ClientID: iss.ClientID,
				FailuresOnly: true, Since: since, Until: until, Limit: bundlePerQuery}); err != nil {
				return Bundle{}, fmt.Errorf("observe: bundle for issue: %w", err)
			}
		}
	}
	b.Window.Since, b.Window.Until = since.UTC(), until.UTC()
	if len(anchors) == 0 && b.Issue == nil {
		return Bundle{}, fmt.Errorf("observe: bundle: no request records match: %w", store.ErrNotFound)
	}
	for _, r := range anchors {
		g.add(r)
	}
	// The ticket: the newest failure, else the newest record.
	var ticket *store.RequestRecord
	for i := range anchors {
		if anchors[i].Failure || anchors[i].Status >= 400 {
			ticket = &anchors[i]
			break
		}
	}
	if ticket == nil && len(anchors) > 0 {
		ticket = &anchors[0]
	}
	if ticket != nil {
		t := NewBundleRecord(*ticket)
		b.Ticket = &t
	}

	// The surroundings: every record of the anchors' sessions, states and
	// users inside the window.
	sessions, states, users := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, r := range anchors {
		if r.OAuthSessionID != "" && len(sessions) < bundleMaxSessions {
			sessions[r.OAuthSessionID] = true
		}
		if r.State != "" && len(states) < bundleMaxSessions {
			states[r.State] = true
		}
		if r.Subject != "" && len(users) < bundleMaxSessions {
			users[r.Subject] = true
		}
	}
	for _, k := range sortedKeys(sessions) {
		g.query(store.RecordQuery{OAuthSessionID: k, Since: since, Until: until, Limit: bundlePerQuery})
	}
	for _, k := range sortedKeys(states) {
		g.query(store.RecordQuery{State: k, Since: since, Until: until, Limit: bundlePerQuery})
	}
	for _, k := range sortedKeys(users) {
		g.query(store.RecordQuery{Subject: k, Since: since, Until: until, Limit: bundlePerQuery})
	}
	if g.err != nil {
		return Bundle{}, fmt.Errorf("observe: bundle: %w", g.err)
	}
	slices.SortFunc(g.records, func(a, b store.RequestRecord) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Seq, b.Seq))
	})
	for _, r := range g.records {
		b.Records = append(b.Records, NewBundleRecord(r))
	}
	b.Truncated = g.truncated
	return b, nil
}

type gatherer struct {
	ctx       context.Context
	st        BundleStore
	seen      map[int64]bool
	records   []store.RequestRecord
	truncated bool
	err       error
}

func (g *gatherer) add(r store.RequestRecord) {
	if g.seen[r.Seq] {
		return
	}
	if len(g.records) >= bundleMaxRecords {
		g.truncated = true
		return
	}
	g.seen[r.Seq] = true
	g.records = append(g.records, r)
}

func (g *gatherer) query(q store.RecordQuery) {
	if g.err != nil {
		return
	}
	rs, err := g.st.ListRequestRecords(g.ctx, q)
	if err != nil {
		g.err = err
		return
	}
	if len(rs) == q.Limit {
		g.truncated = true
	}
	for _, r := range rs {
		g.add(r)
	}
}

func orDefault(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
