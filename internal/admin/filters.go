package admin

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/store"
)

// errBadFilter: a search parameter or time range the API refuses (400).
var errBadFilter = errors.New("bad filter")

// maxFilterLen bounds every text filter.
const maxFilterLen = 256

// ParseTime reads a time filter: RFC 3339 ("2026-11-25T15:04:05Z"), or a
// UTC date and time as an HTML datetime-local field sends it
// ("2026-11-25T15:04" or with seconds), or a UTC date ("2026-11-25").
func ParseTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %q is not a time (use RFC 3339, such as 2026-11-25T15:04:05Z)", errBadFilter, v)
}

// parseStatus reads "503", "5xx" or "400-499" into an inclusive range.
func parseStatus(v string) (lo, hi int, err error) {
	bad := fmt.Errorf("%w: status %q: use a code (503), a class (5xx) or a range (400-499)", errBadFilter, v)
	switch {
	case len(v) == 3 && strings.HasSuffix(strings.ToLower(v), "xx"):
		d := int(v[0] - '0')
		if d < 1 || d > 5 {
			return 0, 0, bad
		}
		return d * 100, d*100 + 99, nil
	case strings.Contains(v, "-"):
		a, b, _ := strings.Cut(v, "-")
		lo, err1 := strconv.Atoi(a)
		hi, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil || lo < 100 || hi > 599 || lo > hi {
			return 0, 0, bad
		}
		return lo, hi, nil
	}
	code, err := strconv.Atoi(v)
	if err != nil || code < 100 || code > 599 {
		return 0, 0, bad
	}
	return code, code, nil
}

// text reads a bounded text filter.
func text(q url.Values, name string) (string, error) {
	v := strings.TrimSpace(q.Get(name))
	if len(v) > maxFilterLen {
		return "", fmt.Errorf("%w: %s is longer than %d characters", errBadFilter, name, maxFilterLen)
	}
	return v, nil
}

// timeRange reads since and until.
func timeRange(q url.Values) (since, until time.Time, err error) {
	if v := strings.TrimSpace(q.Get("since")); v != "" {
		if since, err = ParseTime(v); err != nil {
			return
		}
	}
	if v := strings.TrimSpace(q.Get("until")); v != "" {
		if until, err = ParseTime(v); err != nil {
			return
		}
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		err = fmt.Errorf("%w: since must be before until", errBadFilter)
	}
	return
}

// RecordFilter is a request search as the UI form and the API take it.
type RecordFilter struct {
	Query store.RecordQuery
	// Values echo the form.
	Values url.Values
}

// parseRecordFilter reads a request search: request_id, state, user,
// client, route, status, failures, since, until, before and limit.
func parseRecordFilter(q url.Values) (RecordFilter, error) {
	f := RecordFilter{Values: url.Values{}}
	var errs []error
	for _, p := range []struct {
		name string
		dst  *string
	}{
		{"request_id", &f.Query.RequestID}, {"state", &f.Query.State}, {"user", &f.Query.Subject},
		{"client", &f.Query.ClientID}, {"route", &f.Query.Route}, {"session", &f.Query.OAuthSessionID},
	} {
		v, err := text(q, p.name)
		errs = append(errs, err)
		*p.dst = v
		if v != "" {
			f.Values.Set(p.name, v)
		}
	}
	if v := strings.TrimSpace(q.Get("status")); v != "" {
		lo, hi, err := parseStatus(v)
		errs = append(errs, err)
		f.Query.StatusMin, f.Query.StatusMax = lo, hi
		f.Values.Set("status", v)
	}
	switch v := q.Get("failures"); v {
	case "", "0", "false":
	case "1", "true", "on":
		f.Query.FailuresOnly = true
		f.Values.Set("failures", "1")
	default:
		errs = append(errs, fmt.Errorf("%w: failures must be 1 or 0", errBadFilter))
	}
	since, until, err := timeRange(q)
	errs = append(errs, err)
	f.Query.Since, f.Query.Until = since, until
	if v := q.Get("since"); v != "" {
		f.Values.Set("since", v)
	}
	if v := q.Get("until"); v != "" {
		f.Values.Set("until", v)
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("%w: before must be a positive record sequence number", errBadFilter))
		}
		f.Query.BeforeSeq = n
	}
	f.Query.Limit = 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			errs = append(errs, fmt.Errorf("%w: limit must be between 1 and 500", errBadFilter))
		}
		f.Query.Limit = n
		f.Values.Set("limit", v)
	}
	return f, errors.Join(errs...)
}

// parseBundleQuery reads request_id, state, user or issue, with since and
// until.
func parseBundleQuery(q url.Values) (observe.BundleQuery, error) {
	var (
		b    observe.BundleQuery
		errs []error
	)
	for _, p := range []struct {
		name string
		dst  *string
	}{{"request_id", &b.RequestID}, {"state", &b.State}, {"user", &b.Subject}, {"issue", &b.IssueID}} {
		v, err := text(q, p.name)
		errs = append(errs, err)
		*p.dst = v
	}
	since, until, err := timeRange(q)
	errs = append(errs, err)
	b.Since, b.Until = since, until
	if err := errors.Join(errs...); err != nil {
		return b, err
	}
	return b, b.Validate()
}
