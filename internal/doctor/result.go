package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Status is the outcome of one check.
type Status string

// The statuses, from good to bad; Info reports what was observed without a verdict.
const (
	Pass Status = "PASS"
	Info Status = "INFO"
	Skip Status = "SKIP"
	Warn Status = "WARN"
	Fail Status = "FAIL"
)

// Stage groups checks the way an aggregator meets a provider.
type Stage string

// The stages in the order the report shows them.
const (
	StageDiscovery   Stage = "discovery"
	StageJWKS        Stage = "jwks"
	StagePrelog      Stage = "prelog"
	StageAuthorize   Stage = "authorize"
	StageToken       Stage = "token"
	StageRefresh     Stage = "refresh"
	StageUserinfo    Stage = "userinfo"
	StageAPI         Stage = "api"
	StageConsistency Stage = "consistency"
)

var stageOrder = []Stage{StageDiscovery, StageJWKS, StagePrelog, StageAuthorize, StageToken,
	StageRefresh, StageUserinfo, StageAPI, StageConsistency}

// Result is one check's verdict: a stable ID, what was observed and, for WARN
// and FAIL, how to fix it.
type Result struct {
	ID       string `json:"id"`
	Stage    Stage  `json:"stage"`
	Status   Status `json:"status"`
	Evidence string `json:"evidence"`
	Fix      string `json:"fix,omitempty"`
}

// Report is the outcome of a doctor run.
type Report struct {
	Target   string        `json:"target"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"-"`
	Results  []Result      `json:"results"`
}

// Summary counts results by status.
type Summary map[Status]int

// Summary counts the report's results by status.
func (r *Report) Summary() Summary {
	s := Summary{}
	for _, res := range r.Results {
		s[res.Status]++
	}
	return s
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool { return r.Summary()[Fail] > 0 }

// Result returns the first result with id, and whether there was one.
func (r *Report) Result(id string) (Result, bool) {
	for _, res := range r.Results {
		if res.ID == id {
			return res, true
		}
	}
	return Result{}, false
}

func (s Summary) String() string {
	total := 0
	var parts []string
	for _, st := range []Status{Pass, Warn, Fail, Skip, Info} {
		total += s[st]
		if s[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", s[st], st))
		}
	}
	return fmt.Sprintf("%d checks: %s", total, strings.Join(parts, ", "))
}

// WriteText writes the report for a terminal: grouped by stage, a fix under
// every WARN and FAIL, and a summary line.
func (r *Report) WriteText(w io.Writer) error {
	width := 0
	for _, res := range r.Results {
		width = max(width, len(res.ID))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "fdxd doctor: %s (%s, %s)\n", r.Target, r.Started.UTC().Format(time.RFC3339), r.Duration.Round(time.Millisecond))
	var stage Stage
	for _, res := range r.Results {
		if res.Stage != stage {
			stage = res.Stage
			fmt.Fprintf(&b, "\n%s\n", stage)
		}
		fmt.Fprintf(&b, "  %-4s  %-*s  %s\n", res.Status, width, res.ID, wrap(res.Evidence, 10+width, textWidth))
		if res.Fix != "" && (res.Status == Fail || res.Status == Warn) {
			fmt.Fprintf(&b, "  %-4s  %-*s  %s\n", "", width, "", wrap("fix: "+res.Fix, 10+width, textWidth))
		}
	}
	fmt.Fprintf(&b, "\n%s\n", r.Summary())
	_, err := io.WriteString(w, b.String())
	return err
}

// textWidth is where the text report wraps long lines.
const textWidth = 120

func indent(s string, n int) string {
	return strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", n))
}

// wrap breaks s at spaces so that lines starting at column col end before
// width, and indents the continuation lines to col. Words longer than the
// room (URLs) stay whole.
func wrap(s string, col, width int) string {
	room := max(width-col, 40)
	pad := "\n" + strings.Repeat(" ", col)
	var out []string
	for _, line := range strings.Split(s, "\n") {
		n := 0
		var b strings.Builder
		for i, word := range strings.Split(line, " ") {
			w := utf8.RuneCountInString(word)
			if i > 0 && n+1+w > room {
				b.WriteString(pad)
				n = 0
			} else if i > 0 {
				b.WriteByte(' ')
				n++
			}
			b.WriteString(word)
			n += w
		}
		out = append(out, b.String())
	}
	return strings.Join(out, pad)
}

// WriteJSON writes the report as one JSON document with the same ids.
func (r *Report) WriteJSON(w io.Writer) error {
	s := r.Summary()
	doc := struct {
		Target     string         `json:"target"`
		Started    string         `json:"started"`
		DurationMS int64          `json:"duration_ms"`
		Failed     bool           `json:"failed"`
		Summary    map[string]int `json:"summary"`
		Results    []Result       `json:"results"`
	}{
		Target:     r.Target,
		Started:    r.Started.UTC().Format(time.RFC3339Nano),
		DurationMS: r.Duration.Milliseconds(),
		Failed:     r.Failed(),
		Summary:    map[string]int{},
		Results:    r.Results,
	}
	for st, n := range s {
		doc.Summary[string(st)] = n
	}
	if doc.Results == nil {
		doc.Results = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// WriteEvents writes results as timestamped lines, for the JWKS watcher.
func WriteEvents(w io.Writer, at time.Time, results []Result) error {
	var b strings.Builder
	ts := at.UTC().Format(time.RFC3339)
	for _, res := range results {
		fmt.Fprintf(&b, "%s  %-4s  %s  %s\n", ts, res.Status, res.ID, indent(res.Evidence, len(ts)+2))
		if res.Fix != "" {
			fmt.Fprintf(&b, "%s  fix: %s\n", strings.Repeat(" ", len(ts)), res.Fix)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// recorder collects results during a run. Every evidence string passes
// through the redactor, so a secret seen on the wire can never reach the
// report even when a provider echoes it back.
type recorder struct {
	mu      sync.Mutex // guards results and secrets
	results []Result
	secrets []string
}

// secret registers values that must never appear in the report.
func (rec *recorder) secret(values ...string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, v := range values {
		// Very short values would blank out ordinary words; nothing secret is that short.
		if len(v) >= 6 && !slices.Contains(rec.secrets, v) {
			rec.secrets = append(rec.secrets, v)
		}
	}
}

func (rec *recorder) redact(s string) string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, v := range rec.secrets {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}

// add records a result for a check from the catalogue; fix overrides the
// catalogue's fix when not empty.
func (rec *recorder) add(id string, st Status, evidence, fix string) {
	// Every id is in the catalogue (a test walks them); an unknown one still
	// reports, at the end of the list, rather than being lost.
	def, _ := lookupCheck(id)
	if fix == "" {
		fix = def.fix
	}
	res := Result{ID: id, Stage: def.stage, Status: st, Evidence: rec.redact(evidence), Fix: rec.redact(fix)}
	if st == Pass || st == Skip || st == Info {
		res.Fix = ""
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.results = append(rec.results, res)
}

func (rec *recorder) pass(id, format string, args ...any) {
	rec.add(id, Pass, fmt.Sprintf(format, args...), "")
}
func (rec *recorder) warn(id, format string, args ...any) {
	rec.add(id, Warn, fmt.Sprintf(format, args...), "")
}
func (rec *recorder) fail(id, format string, args ...any) {
	rec.add(id, Fail, fmt.Sprintf(format, args...), "")
}
func (rec *recorder) skip(id, format string, args ...any) {
	rec.add(id, Skip, fmt.Sprintf(format, args...), "")
}
func (rec *recorder) info(id, format string, args ...any) {
	rec.add(id, Info, fmt.Sprintf(format, args...), "")
}

// has reports whether id has been recorded.
func (rec *recorder) has(id string) bool {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.ContainsFunc(rec.results, func(r Result) bool { return r.ID == id })
}

// status returns the status recorded for id, or "" when none was.
func (rec *recorder) status(id string) Status {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, r := range rec.results {
		if r.ID == id {
			return r.Status
		}
	}
	return ""
}

// sorted returns the results in catalogue order: stage, then check; results
// of the same check keep the order they were recorded in.
func (rec *recorder) sorted() []Result {
	rec.mu.Lock()
	out := slices.Clone(rec.results)
	rec.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Result) int { return checkIndex(a.ID) - checkIndex(b.ID) })
	return out
}

// tokenDescription describes a token without revealing any of it.
func tokenDescription(kind, token string) string {
	if token == "" {
		return "no " + kind
	}
	shape := ""
	if strings.Count(token, ".") == 2 {
		shape = ", JWT-shaped"
	}
	return fmt.Sprintf("a %d-character %s%s", len(token), kind, shape)
}

// plural is "1 key", "2 keys".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
