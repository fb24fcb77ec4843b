package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/fdxd/fdxd/internal/keys"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/store"
)

// The admin API mirrors the pages in JSON. Every error is a JSON body
// {"error": code, "error_description": why}: 400 for bad filters and time
// ranges, 401 without the admin token, 404 for unknown ids.

func (a *Admin) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := storeStatus(err)
	writeJSONError(w, status, code, a.errMessage(r, status, err))
}

type apiDelivery struct {
	ID          string    `json:"id"`
	Event       string    `json:"event"`
	Channel     string    `json:"channel"`
	Target      string    `json:"target"`
	Status      string    `json:"status"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
}

func newAPIDelivery(d store.Delivery) apiDelivery {
	return apiDelivery{ID: d.ID, Event: d.Event, Channel: d.Channel, Target: d.Target, Status: d.Status,
		Attempts: d.Attempts, LastError: d.LastError, CreatedAt: d.CreatedAt, DeliveredAt: d.DeliveredAt}
}

type apiRecord struct {
	Seq int64 `json:"seq"`
	observe.BundleRecord
}

func newAPIRecords(rs []store.RequestRecord) []apiRecord {
	out := make([]apiRecord, len(rs))
	for i, r := range rs {
		out[i] = apiRecord{Seq: r.Seq, BundleRecord: observe.NewBundleRecord(r)}
	}
	return out
}

// GET /api/v1/issues?status=open|resolved&limit=N
func (a *Admin) apiIssues(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	iq := store.IssueQuery{Status: q.Get("status"), Limit: 100}
	var errs []error
	switch iq.Status {
	case "", "open", "resolved":
	default:
		errs = append(errs, fmt.Errorf("%w: status must be open or resolved", errBadFilter))
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			errs = append(errs, fmt.Errorf("%w: limit must be between 1 and 1000", errBadFilter))
		}
		iq.Limit = n
	}
	var err error
	if iq.Route, err = text(q, "route"); err != nil {
		errs = append(errs, err)
	}
	if iq.ClientID, err = text(q, "client"); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		a.apiFail(w, r, err)
		return
	}
	issues, err := a.cfg.Store.ListIssues(r.Context(), iq)
	if err != nil {
		a.apiFail(w, r, err)
		return
	}
	out := make([]observe.BundleIssue, len(issues))
	for i, iss := range issues {
		out[i] = observe.NewBundleIssue(iss)
	}
	writeJSON(w, http.StatusOK, struct {
		Issues []observe.BundleIssue `json:"issues"`
	}{out})
}

// GET /api/v1/issues/{id}
func (a *Admin) apiIssue(w http.ResponseWriter, r *http.Request) {
	d, err := a.issueDetail(r.Context(), r.PathValue("id"))
	if err != nil {
		a.apiFail(w, r, notFoundAs(err, "no issue with that id"))
		return
	}
	deliveries := make([]apiDelivery, len(d.Deliveries))
	for i, x := range d.Deliveries {
		deliveries[i] = newAPIDelivery(x)
	}
	samples := make([]struct {
		sampleError
		ExampleRequestID string `json:"example_request_id"`
	}, len(d.Samples))
	for i, s := range d.Samples {
		samples[i].sampleError, samples[i].ExampleRequestID = s, s.Example.RequestID
	}
	trend := d.Trend
	if trend == nil {
		trend = []trendPoint{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issue":          observe.NewBundleIssue(d.Issue),
		"trend":          trend,
		"bucket_seconds": d.Bucket.Seconds(),
		"samples":        samples,
		"records":        newAPIRecords(d.Records),
		"deliveries":     deliveries,
	})
}

// GET /api/v1/requests?request_id=&state=&user=&client=&route=&status=&failures=&since=&until=&before=&limit=
func (a *Admin) apiRequests(w http.ResponseWriter, r *http.Request) {
	f, err := parseRecordFilter(r.URL.Query())
	if err != nil {
		a.apiFail(w, r, err)
		return
	}
	rs, err := a.cfg.Store.ListRequestRecords(r.Context(), f.Query)
	if err != nil {
		a.apiFail(w, r, err)
		return
	}
	out := struct {
		Records    []apiRecord `json:"records"`
		NextBefore int64       `json:"next_before,omitempty"`
	}{Records: newAPIRecords(rs)}
	if len(rs) == f.Query.Limit {
		out.NextBefore = rs[len(rs)-1].Seq
	}
	writeJSON(w, http.StatusOK, out)
}

// GET /api/v1/requests/{requestId}
func (a *Admin) apiRequest(w http.ResponseWriter, r *http.Request) {
	v, err := a.requestDetail(r.Context(), r.PathValue("id"))
	if err != nil {
		a.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Record  apiRecord   `json:"record"`
		Related []apiRecord `json:"related"`
	}{newAPIRecords([]store.RequestRecord{v.Record})[0], newAPIRecords(v.Related)})
}

// GET /api/v1/bundle?request_id=|state=|user=|issue=[&since=&until=]
func (a *Admin) apiBundle(w http.ResponseWriter, r *http.Request) {
	b, err := a.bundle(r)
	if err != nil {
		a.apiFail(w, r, err)
		return
	}
	a.cfg.Logger.Info("support bundle downloaded", "event", "admin.bundle", "admin", "api", "records", len(b.Records))
	writeBundle(w, b)
}

// GET /api/v1/keys
func (a *Admin) apiKeys(w http.ResponseWriter, r *http.Request) {
	v := a.keysView()
	list := v.Keys
	if list == nil {
		list = []keys.KeyInfo{}
	}
	writeJSON(w, http.StatusOK, struct {
		Keys         []keys.KeyInfo `json:"keys"`
		NextRotation time.Time      `json:"next_rotation,omitzero"`
		Successor    string         `json:"successor,omitempty"`
	}{list, v.NextRotation, v.Successor})
}
