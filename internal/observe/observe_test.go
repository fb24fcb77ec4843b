package observe

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"
)

func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func TestRequestIDs(t *testing.T) {
	var buf bytes.Buffer
	o := New(NewLogger(&buf, nil), nil)
	h := o.Handler("token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	cases := []struct {
		name      string
		header    map[string]string
		wantID    string
		wantFAPI  string
		generated bool
	}{
		{"plaid's id is echoed", map[string]string{"X-Request-ID": "req_4h8j2k9m3n7p5q1r"}, "req_4h8j2k9m3n7p5q1r", "", false},
		{"fapi id is used and echoed", map[string]string{"X-Fapi-Interaction-Id": "c770aef3-6784-41f7-8e0e-ff5f97bddb3a"},
			"c770aef3-6784-41f7-8e0e-ff5f97bddb3a", "c770aef3-6784-41f7-8e0e-ff5f97bddb3a", false},
		{"malformed id is replaced", map[string]string{"X-Request-ID": "bad id\"<script>"}, "", "", true},
		{"overlong id is replaced", map[string]string{"X-Request-ID": strings.Repeat("a", 200)}, "", "", true},
		{"none given", nil, "", "", true},
	}
	generated := regexp.MustCompile(`^req_[a-z2-7]{16}$`)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/token", nil)
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, req)
			got := rr.Header().Get("X-Request-ID")
			if c.generated && !generated.MatchString(got) {
				t.Fatalf("X-Request-ID = %q; want a generated req_ id", got)
			}
			if !c.generated && got != c.wantID {
				t.Fatalf("X-Request-ID = %q; want %q", got, c.wantID)
			}
			if f := rr.Header().Get("X-Fapi-Interaction-Id"); f != c.wantFAPI {
				t.Fatalf("x-fapi-interaction-id = %q; want %q", f, c.wantFAPI)
			}
		})
	}
}

var isoUTC = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestLogLinesCarryCorrelation(t *testing.T) {
	var buf bytes.Buffer
	logger := NewLogger(&buf, nil)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("EST", -5*3600))
	o := New(logger, func() time.Time { return now })
	var got *Record
	o.AddSink(func(r *Record) { got = r })
	h := o.Handler("authorize", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := From(r.Context())
		rec.SetClient("demo-aggregator")
		rec.SetState("xyz-state")
		rec.SetOAuthSession("ses_abc")
		logger.InfoContext(r.Context(), "authorize started", "event", "authorize.start")
		rec.SetSubject("usr_0123456789")
		rec.SetError("access_denied", "user cancelled")
		rec.SetUserDecision()
		w.WriteHeader(http.StatusSeeOther)
	}))
	req := httptest.NewRequest("GET", "/authorize?state=xyz-state", nil)
	req.Header.Set("X-Request-ID", "req_test")
	req.Header.Set("Authorization", "Bearer fdxat1.abcdefghijklmnopqrstuvwxyz")
	h.ServeHTTP(httptest.NewRecorder(), req)

	lines := logLines(t, &buf)
	if len(lines) != 2 {
		t.Fatalf("got %d log lines; want 2", len(lines))
	}
	for _, l := range lines {
		if l["request_id"] != "req_test" || l["client_id"] != "demo-aggregator" || l["state"] != "xyz-state" ||
			l["oauth_session_id"] != "ses_abc" {
			t.Fatalf("log line lacks correlation fields: %v", l)
		}
		if ts, _ := l["time"].(string); !isoUTC.MatchString(ts) {
			t.Fatalf("time = %v; want ISO-8601 UTC with milliseconds", l["time"])
		}
	}
	if lines[0]["sub"] != nil || lines[1]["sub"] != "usr_0123456789" {
		t.Fatalf("sub appears before it is known or is missing after: %v / %v", lines[0]["sub"], lines[1]["sub"])
	}
	last := lines[1]
	if last["route"] != "authorize" || last["status"] != float64(303) || last["error"] != "access_denied" ||
		last["user_decision"] != true || last["level"] != "INFO" {
		t.Fatalf("request line = %v", last)
	}
	if got == nil || got.Status != 303 || got.Route != "authorize" || got.Subject != "usr_0123456789" {
		t.Fatalf("sink got %+v", got)
	}
	if a := got.Headers["Authorization"]; a != "Bearer …wxyz" {
		t.Fatalf("masked Authorization = %q", a)
	}
	if strings.Contains(buf.String(), "abcdefghijkl") {
		t.Fatal("a token reached the log")
	}
}

func TestPanicBecomes500(t *testing.T) {
	var buf bytes.Buffer
	o := New(NewLogger(&buf, nil), nil)
	h := o.Handler("token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }))
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest("POST", "/token", nil))
	if rr.Code != 500 || !strings.Contains(rr.Body.String(), "server_error") || strings.Contains(rr.Body.String(), "boom") {
		t.Fatalf("panic answered %d %q; want 500 server_error without details", rr.Code, rr.Body.String())
	}
	if !strings.Contains(buf.String(), `"event":"http.panic"`) {
		t.Fatal("panic not logged")
	}
}

func TestMaskHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("Authorization", "Basic ZGVtby1hZ2dyZWdhdG9yOmRlbW8tYWdncmVnYXRvci1zZWNyZXQ=")
	h.Set("Cookie", "fdxd_session=abcdef; fdxd_ar=123456")
	h.Set("X-Api-Key", "k-123")
	h.Set("X-Client-Secret", "s-123")
	h.Set("User-Agent", "Plaid/1.0")
	got := MaskHeaders(h)
	want := map[string]string{
		"Authorization":   "Basic [masked]",
		"Cookie":          "fdxd_session=[masked]; fdxd_ar=[masked]",
		"X-Api-Key":       "[masked]",
		"X-Client-Secret": "[masked]",
		"User-Agent":      "Plaid/1.0",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("MaskHeaders[%s] = %q; want %q", k, got[k], v)
		}
	}
}

func TestClientAddressBehindTrustedProxies(t *testing.T) {
	o := New(NewLogger(&bytes.Buffer{}, nil), nil)
	o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	cases := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"direct client", "203.0.113.7:5555", nil, "203.0.113.7"},
		{"untrusted peer's header is ignored", "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},
		{"one balancer", "10.0.0.5:443", []string{"198.51.100.1"}, "198.51.100.1"},
		{"two balancers", "10.0.0.5:443", []string{"198.51.100.1, 10.0.0.9"}, "198.51.100.1"},
		{"spoofed left entries", "10.0.0.5:443", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"split headers", "10.0.0.5:443", []string{"1.2.3.4", "198.51.100.1"}, "198.51.100.1"},
		{"malformed chain", "10.0.0.5:443", []string{"nonsense"}, "10.0.0.5"},
		{"only proxies", "10.0.0.5:443", []string{"10.0.0.7"}, "10.0.0.5"},
		{"IPv6 loopback proxy", "[::1]:443", []string{"2001:db8::1"}, "2001:db8::1"},
	}
	for _, c := range cases {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = c.peer
		for _, v := range c.xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		if got := o.clientAddr(req); got != c.want {
			t.Errorf("%s: client address %q; want %q", c.name, got, c.want)
		}
	}
}
