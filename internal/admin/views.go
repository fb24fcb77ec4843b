package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fdxd/fdxd/internal/keys"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/store"
)

// overviewRanges are the overview's time ranges.
var overviewRanges = []struct {
	Name string
	Span time.Duration
}{{"15m", 15 * time.Minute}, {"1h", time.Hour}, {"6h", 6 * time.Hour}, {"24h", 24 * time.Hour}}

type overviewView struct {
	Range      string
	Ranges     []string
	Since      time.Time
	Until      time.Time
	Step       time.Duration
	Routes     []routeRow
	OpenIssues []store.Issue
	Rule       ruleView
}

type routeRow struct {
	Route                   string
	Requests, Failures      int64
	ErrorRate               float64
	P50, P95, P99           time.Duration
	Volume, Errors, Latency chart
}

// ruleView shows the alert rule in effect.
type ruleView struct {
	Window      time.Duration
	MinVolume   int
	Threshold   float64
	QuietPeriod time.Duration
}

func (a *Admin) rule() ruleView {
	c := a.cfg.Alerts.Config()
	return ruleView{Window: c.Window, MinVolume: c.MinVolume, Threshold: c.Threshold, QuietPeriod: c.QuietPeriod}
}

func (a *Admin) overview(w http.ResponseWriter, r *http.Request) {
	v := overviewView{Range: "1h", Rule: a.rule()}
	span := time.Hour
	for _, rg := range overviewRanges {
		v.Ranges = append(v.Ranges, rg.Name)
		if r.URL.Query().Get("range") == rg.Name {
			v.Range, span = rg.Name, rg.Span
		}
	}
	now := a.cfg.Now().UTC()
	res := a.cfg.Traffic.Resolution()
	v.Until = now.Truncate(res).Add(res)
	v.Since = v.Until.Add(-span)
	v.Step = max(res, (span / 60).Truncate(res))
	series, err := a.cfg.Traffic.Series(r.Context(), v.Since, v.Until, v.Step)
	if err != nil {
		a.failPage(w, r, err)
		return
	}
	for _, rt := range series {
		v.Routes = append(v.Routes, routeCharts(rt))
	}
	issues, err := a.cfg.Store.ListIssues(r.Context(), store.IssueQuery{Status: "open", Limit: 20})
	if err != nil {
		a.failPage(w, r, err)
		return
	}
	v.OpenIssues = issues
	a.page(w, r, "overview", "Overview", v)
}

// routeCharts draws a route's volume, error-rate and latency charts.
func routeCharts(rt observe.RouteTraffic) routeRow {
	row := routeRow{Route: rt.Route, Requests: rt.Total.Requests, Failures: rt.Total.Failures,
		ErrorRate: rt.Total.ErrorRate(), P50: rt.Total.P50, P95: rt.Total.P95, P99: rt.Total.P99}
	n := len(rt.Points)
	times := make([]time.Time, n)
	volume, rate := make([]float64, n), make([]float64, n)
	p50, p95, p99 := make([]float64, n), make([]float64, n), make([]float64, n)
	vt, rtt, lt50, lt95, lt99 := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, p := range rt.Points {
		times[i] = p.Start
		at := p.Start.UTC().Format("15:04")
		volume[i] = float64(p.Requests)
		vt[i] = fmt.Sprintf("%s · %d requests", at, p.Requests)
		if p.Requests == 0 {
			rate[i], p50[i], p95[i], p99[i] = math.NaN(), math.NaN(), math.NaN(), math.NaN()
			continue
		}
		rate[i] = p.ErrorRate()
		rtt[i] = fmt.Sprintf("%s · %s of %d requests failed", at, fmtPercent(rate[i]), p.Requests)
		p50[i], p95[i], p99[i] = millis(p.P50), millis(p.P95), millis(p.P99)
		lt50[i] = fmt.Sprintf("%s · p50 %s", at, fmtDuration(p.P50))
		lt95[i] = fmt.Sprintf("%s · p95 %s", at, fmtDuration(p.P95))
		lt99[i] = fmt.Sprintf("%s · p99 %s", at, fmtDuration(p.P99))
	}
	row.Volume = layout(chartSpec{Label: rt.Route + " requests", Width: 300, Height: 96, Times: times,
		Lines: []chartSeries{{Name: "requests", Class: "volume", Values: volume, Titles: vt}}, YFormat: fmtCount, YMin: 1})
	row.Errors = layout(chartSpec{Label: rt.Route + " error rate", Width: 300, Height: 96, Times: times,
		Lines: []chartSeries{{Name: "error rate", Class: "rate", Values: rate, Titles: rtt}}, YFormat: fmtPercent, YMin: 0.01})
	row.Latency = layout(chartSpec{Label: rt.Route + " latency", Width: 300, Height: 96, Times: times,
		Lines: []chartSeries{
			{Name: "p50", Class: "p50", Values: p50, Titles: lt50},
			{Name: "p95", Class: "p95", Values: p95, Titles: lt95},
			{Name: "p99", Class: "p99", Values: p99, Titles: lt99},
		}, YFormat: fmtMillis, YMin: 1})
	return row
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type issuesView struct {
	Open     []store.Issue
	Resolved []store.Issue
	Rule     ruleView
}

func (a *Admin) issuesPage(w http.ResponseWriter, r *http.Request) {
	open, err := a.cfg.Store.ListIssues(r.Context(), store.IssueQuery{Status: "open", Limit: 200})
	if err != nil {
		a.failPage(w, r, err)
		return
	}
	resolved, err := a.cfg.Store.ListIssues(r.Context(), store.IssueQuery{Status: "resolved", Limit: 100})
	if err != nil {
		a.failPage(w, r, err)
		return
	}
	a.page(w, r, "issues", "Issues", issuesView{Open: open, Resolved: resolved, Rule: a.rule()})
}

// issueDetail is what the issue page and GET /api/v1/issues/{id} show.
type issueDetail struct {
	Issue      store.Issue
	Trend      []trendPoint
	Bucket     time.Duration
	Samples    []sampleError
	Records    []store.RequestRecord
	Deliveries []store.Delivery
}

type trendPoint struct {
	Start    time.Time `json:"start"`
	Requests int64     `json:"requests"`
	Failures int64     `json:"failures"`
	Rate     float64   `json:"rate"`
}

type sampleError struct {
	Error       string              `json:"error"`
	Description string              `json:"error_description"`
	Status      int                 `json:"http_status"`
	Count       int                 `json:"count"`
	Example     store.RequestRecord `json:"-"`
}

// trendBuckets are the bucket widths an issue's trend may use.
var trendBuckets = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second,
	30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

// trendPoints is how many buckets a trend aims for.
const trendPoints = 60

func (a *Admin) issueDetail(ctx context.Context, id string) (issueDetail, error) {
	iss, err := a.cfg.Store.GetIssue(ctx, id)
	if err != nil {
		return issueDetail{}, err
	}
	d := issueDetail{Issue: iss}
	if d.Deliveries, err = a.cfg.Store.ListDeliveries(ctx, store.DeliveryQuery{IssueID: id, Limit: 50}); err != nil {
		return d, err
	}
	if iss.Kind != store.IssueErrorRate {
		return d, nil
	}
	now := a.cfg.Now().UTC()
	end := now
	if !iss.Open() {
		end = iss.ResolvedAt
	}
	pad := max(a.rule().Window, end.Sub(iss.FirstSeen)/4)
	since, until := iss.FirstSeen.Add(-pad), end.Add(pad/4)
	if iss.Open() {
		until = now
	}
	d.Bucket = trendBuckets[len(trendBuckets)-1]
	for _, b := range trendBuckets {
		if until.Sub(since)/b <= trendPoints {
			d.Bucket = b
			break
		}
	}
	since = since.Truncate(d.Bucket)
	until = until.Truncate(d.Bucket).Add(d.Bucket)
	stats, err := a.cfg.Store.RequestRecordStats(ctx, store.RecordStatsQuery{Route: iss.Route, ClientID: iss.ClientID,
		Since: since, Until: until, Bucket: d.Bucket})
	if err != nil {
		return d, err
	}
	byStart := map[int64]store.RecordBucket{}
	for _, b := range stats {
		byStart[b.Start.UnixMicro()] = b
	}
	for t := since; t.Before(until); t = t.Add(d.Bucket) {
		b := byStart[t.UnixMicro()]
		p := trendPoint{Start: t, Requests: b.Requests, Failures: b.Failures}
		if b.Requests > 0 {
			p.Rate = float64(b.Failures) / float64(b.Requests)
		}
		d.Trend = append(d.Trend, p)
	}
	failures, err := a.cfg.Store.ListRequestRecords(ctx, store.RecordQuery{Route: iss.Route, ClientID: iss.ClientID,
		FailuresOnly: true, Since: iss.FirstSeen, Until: end.Add(time.Second), Limit: 500})
	if err != nil {
		return d, err
	}
	d.Records = failures[:min(len(failures), 50)]
	groups := map[string]*sampleError{}
	for _, rec := range failures {
		key := rec.Error + "\x00" + rec.ErrorDescription + "\x00" + strconv.Itoa(rec.Status)
		g := groups[key]
		if g == nil {
			g = &sampleError{Error: rec.Error, Description: observe.MaskText(rec.ErrorDescription), Status: rec.Status, Example: rec}
			groups[key] = g
		}
		g.Count++
	}
	for _, g := range groups {
		d.Samples = append(d.Samples, *g)
	}
	slices.SortFunc(d.Samples, func(x, y sampleError) int {
		if x.Count != y.Count {
			return y.Count - x.Count
		}
		return strings.Compare(x.Error+x.Description, y.Error+y.Description)
	})
	return d, nil
}

type issueView struct {
	issueDetail
	Chart     chart
	BundleURL string
	Rule      ruleView
}

func (a *Admin) issuePage(w http.ResponseWriter, r *http.Request) {
	d, err := a.issueDetail(r.Context(), r.PathValue("id"))
	if err != nil {
		a.failPage(w, r, notFoundAs(err, "no issue with that id"))
		return
	}
	v := issueView{issueDetail: d, BundleURL: "/bundle?" + url.Values{"issue": {d.Issue.ID}}.Encode(), Rule: a.rule()}
	if len(d.Trend) > 0 {
		n := len(d.Trend)
		times := make([]time.Time, n)
		rate, bars := make([]float64, n), make([]float64, n)
		titles, barTitles := make([]string, n), make([]string, n)
		for i, p := range d.Trend {
			times[i], bars[i] = p.Start, float64(p.Requests)
			at := p.Start.UTC().Format("15:04:05")
			barTitles[i] = fmt.Sprintf("%s · %d requests", at, p.Requests)
			if p.Requests == 0 {
				rate[i] = math.NaN()
				continue
			}
			rate[i] = p.Rate
			titles[i] = fmt.Sprintf("%s · %s of %d requests failed (%d)", at, fmtPercent(p.Rate), p.Requests, p.Failures)
		}
		v.Chart = layout(chartSpec{Label: "error rate of " + issueSubject(d.Issue), Width: 760, Height: 240, Times: times,
			Lines: []chartSeries{{Name: "error rate", Class: "rate", Values: rate, Titles: titles}},
			Bars:  bars, BarTitles: barTitles, YFormat: fmtPercent, YMin: 0.05,
			Threshold: a.rule().Threshold, ThresholdLabel: fmtPercent(a.rule().Threshold) + " threshold"})
	}
	a.page(w, r, "issue", "Issue "+d.Issue.ID, v)
}

func issueSubject(iss store.Issue) string {
	if iss.ClientID != "" {
		return "client " + iss.ClientID
	}
	return iss.Route
}

// notFoundAs gives a not-found error a message fit for the caller.
func notFoundAs(err error, msg string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s: %w", msg, store.ErrNotFound)
	}
	return err
}

type requestsView struct {
	Values   url.Values
	Records  []store.RequestRecord
	Error    string
	OlderURL string
	Searched bool
}

func (a *Admin) requestsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := requestsView{Values: q}
	f, err := parseRecordFilter(q)
	if err != nil {
		v.Error = err.Error()
		a.pageStatus(w, r, http.StatusBadRequest, "requests", "Requests", v)
		return
	}
	v.Records, err = a.cfg.Store.ListRequestRecords(r.Context(), f.Query)
	if err != nil {
		a.failPage(w, r, err)
		return
	}
	v.Searched = len(f.Values) > 0
	if len(v.Records) == f.Query.Limit {
		older := f.Values
		older.Set("before", strconv.FormatInt(v.Records[len(v.Records)-1].Seq, 10))
		v.OlderURL = "/requests?" + older.Encode()
	}
	a.page(w, r, "requests", "Requests", v)
}

type requestView struct {
	Record    store.RequestRecord
	Headers   [][2]string
	Related   []store.RequestRecord
	BundleURL string
}

func (a *Admin) requestDetail(ctx context.Context, id string) (requestView, error) {
	rec, err := a.cfg.Store.GetRequestRecord(ctx, id)
	if err != nil {
		return requestView{}, notFoundAs(err, "no request record with that id")
	}
	v := requestView{Record: rec, BundleURL: "/bundle?" + url.Values{"request_id": {rec.RequestID}}.Encode()}
	for k, val := range observe.MaskHeaderMap(rec.Headers) {
		v.Headers = append(v.Headers, [2]string{k, val})
	}
	slices.SortFunc(v.Headers, func(x, y [2]string) int { return strings.Compare(x[0], y[0]) })
	if rec.OAuthSessionID != "" {
		related, err := a.cfg.Store.ListRequestRecords(ctx, store.RecordQuery{OAuthSessionID: rec.OAuthSessionID, Limit: 100})
		if err != nil {
			return v, err
		}
		for _, x := range related {
			if x.Seq != rec.Seq {
				v.Related = append(v.Related, x)
			}
		}
	}
	return v, nil
}

func (a *Admin) requestPage(w http.ResponseWriter, r *http.Request) {
	v, err := a.requestDetail(r.Context(), r.PathValue("id"))
	if err != nil {
		a.failPage(w, r, err)
		return
	}
	a.page(w, r, "request", "Request "+v.Record.RequestID, v)
}

type keysView struct {
	Keys         []keys.KeyInfo
	NextRotation time.Time
	Successor    string
}

func (a *Admin) keysView() keysView {
	v := keysView{Keys: a.cfg.Keys()}
	for _, k := range v.Keys {
		switch k.State {
		case string(store.KeyActive):
			if v.NextRotation.IsZero() || k.RotatesAt.Before(v.NextRotation) {
				v.NextRotation = k.RotatesAt
			}
		case string(store.KeyNext):
			v.Successor = k.ID
		}
	}
	return v
}

func (a *Admin) keysPage(w http.ResponseWriter, r *http.Request) {
	a.page(w, r, "keys", "Signing keys", a.keysView())
}

// bundle builds the bundle a query asks for.
func (a *Admin) bundle(r *http.Request) (observe.Bundle, error) {
	q, err := parseBundleQuery(r.URL.Query())
	if err != nil {
		return observe.Bundle{}, err
	}
	b, err := observe.BuildBundle(r.Context(), a.cfg.Store, q, a.cfg.Now())
	if err != nil {
		return b, notFoundAs(err, "no request records or issue match")
	}
	return b, nil
}

// writeBundle sends b as a JSON download.
func writeBundle(w http.ResponseWriter, b observe.Bundle) {
	body, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "server_error", "could not encode the bundle")
		return
	}
	anchor := b.Query.RequestID + b.Query.State + b.Query.Subject + b.Query.IssueID
	name := "fdxd-bundle-" + safeFileName(anchor) + "-" + b.GeneratedAt.Format("20060102T150405Z") + ".json"
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.Write(append(body, '\n'))
}

// safeFileName keeps letters, digits, dot, dash and underscore.
func safeFileName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return r
		}
		return '_'
	}, s)
	return s[:min(len(s), 64)]
}

func (a *Admin) bundleDownload(w http.ResponseWriter, r *http.Request) {
	b, err := a.bundle(r)
	if err != nil {
		a.failPage(w, r, err)
		return
	}
	a.cfg.Logger.Info("support bundle downloaded", "event", "admin.bundle", "admin", sessionFrom(r.Context()).Username,
		"records", len(b.Records))
	writeBundle(w, b)
}
