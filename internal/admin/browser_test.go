package admin_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/fdxd/fdxd/internal/browsertest"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/server/servertest"
)

// artifacts is where screenshots go: $FDXD_ARTIFACTS, else a temporary
// directory of the test.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("FDXD_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

var (
	pathPoint = regexp.MustCompile(`[ML](-?[0-9.]+) (-?[0-9.]+)`)
	hoverTime = regexp.MustCompile(`^(\d\d:\d\d:\d\d) · ([0-9.]+) %`)
)

// TestIssueCenterInBrowser: chromium signs in to the issue center, an
// error spike is induced against the running server (its clock injected,
// the alert window 10 s), the issue appears, its page shows a chart whose
// error-rate line follows the spike, a request opens, and its support
// bundle downloads with the fields a ticket needs. Screenshots of the
// overview and the issue page are saved.
func TestIssueCenterInBrowser(t *testing.T) {
	chromium := browsertest.Find(t, "the issue-center browser test")
	r := newRig(t, nil)
	s := r.s
	ctx := browsertest.Start(t, chromium, 120*time.Second, chromedp.WindowSize(1280, 1000))
	shots := artifacts(t)

	err := chromedp.Do(ctx,
		chromedp.Navigate(r.admin.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), adminUser),
		chromedp.SendKeys(chromedp.ID("password"), adminPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("form.signout")),
	)
	if err != nil {
		t.Fatalf("sign in: %v\n%s", err, browsertest.Where(ctx))
	}
	if h1, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1"))); h1 != "Overview" {
		t.Fatalf("after sign-in: %s", browsertest.Where(ctx))
	}

	// Traffic on the injected clock: ten quiet seconds of refreshes, five
	// seconds in which every refresh fails, ten quiet seconds again.
	code, _ := s.Authorize(nil)
	_, body := s.PostForm("/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {servertest.RedirectURI}}, servertest.ClientID, servertest.ClientSecret)
	var tok tokens
	json.Unmarshal(body, &tok)
	spikeStart := s.Clock.Now().Add(10 * time.Second)
	for sec := range 25 {
		bad := sec >= 10 && sec < 15
		for range 4 {
			rt := tok.RefreshToken
			if bad {
				rt = "no-such-refresh-token-" + strconv.Itoa(sec)
			}
			s.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, servertest.ClientID, servertest.ClientSecret)
		}
		// The engine also evaluates on its own ticker; evaluating each
		// simulated second keeps the test independent of the machine's speed.
		if err := s.Server.Alerts().Evaluate(t.Context()); err != nil {
			t.Fatal(err)
		}
		s.Clock.Advance(time.Second)
	}
	r.settle()

	// The issue appears on the issues page (the running alert engine opens
	// it; the page refreshes its live part by itself).
	err = chromedp.Do(ctx,
		chromedp.Navigate(r.admin.URL+"/issues"),
		chromedp.WaitVisible(chromedp.CSS(`tr.issue[data-route="token"]`)),
	)
	if err != nil {
		t.Fatalf("no issue on the issues page: %v\n%s", err, browsertest.Where(ctx))
	}
	row, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr.issue[data-route="token"]`)))
	if err != nil || !strings.Contains(row, "invalid_grant") || !strings.Contains(row, "token") {
		t.Fatalf("issue row %q, %v", row, err)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(r.admin.URL+"/?range=15m"), chromedp.WaitVisible(chromedp.CSS(`tbody.route svg.chart`))); err != nil {
		t.Fatalf("overview charts: %v\n%s", err, browsertest.Where(ctx))
	}
	screenshot(t, ctx, shots, "issue-center-overview.png")

	err = chromedp.Do(ctx,
		chromedp.Navigate(r.admin.URL+"/issues"),
		chromedp.WaitVisible(chromedp.CSS(`tr.issue[data-route="token"]`)),
		chromedp.Click(chromedp.CSS(`tr.issue[data-route="token"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`figure.trend svg.chart path.line.rate`)),
	)
	if err != nil {
		t.Fatalf("open the issue: %v\n%s", err, browsertest.Where(ctx))
	}
	screenshot(t, ctx, shots, "issue-center-issue.png")

	// The chart: the error-rate line's points, and their hover titles.
	d, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`figure.trend path.line.rate`), "d"))
	if err != nil || !d.Exists {
		t.Fatalf("the rate line has no d: %v", err)
	}
	titles, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("figure.trend circle.pt.rate title")).map(e => e.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	points := pathPoint.FindAllStringSubmatch(d.Value, -1)
	if len(points) < 20 || len(points) != len(titles) {
		t.Fatalf("%d points in the path, %d titles; want a point (with a title) per second of traffic:\n%s", len(points), len(titles), d.Value)
	}
	var spikeY, quietY []float64
	for i, p := range points {
		y, _ := strconv.ParseFloat(p[2], 64)
		m := hoverTime.FindStringSubmatch(titles[i])
		if m == nil {
			t.Fatalf("hover title %q", titles[i])
		}
		at, _ := time.Parse("15:04:05", m[1])
		offset := at.Sub(time.Date(0, 1, 1, spikeStart.Hour(), spikeStart.Minute(), spikeStart.Second(), 0, time.UTC))
		inSpike := offset >= 0 && offset < 5*time.Second
		if inSpike {
			spikeY = append(spikeY, y)
			if m[2] != "100" {
				t.Errorf("point %q in the spike; want 100 %%", titles[i])
			}
		} else {
			quietY = append(quietY, y)
			if m[2] != "0" {
				t.Errorf("point %q outside the spike; want 0 %%", titles[i])
			}
		}
	}
	if len(spikeY) != 5 || len(quietY) < 15 {
		t.Fatalf("%d points in the spike and %d outside; want 5 and the rest", len(spikeY), len(quietY))
	}
	// SVG y grows downwards: the spike is drawn high, the rest low.
	for _, sy := range spikeY {
		for _, qy := range quietY {
			if sy >= qy {
				t.Fatalf("a spike point (y=%v) is not above a quiet one (y=%v): the line does not follow the spike", sy, qy)
			}
		}
	}

	// A request, then its bundle through the download button.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`table.records tr.record a`)),
		chromedp.WaitVisible(chromedp.ID("request-id")),
	)
	if err != nil {
		t.Fatalf("open a request: %v\n%s", err, browsertest.Where(ctx))
	}
	requestID, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("request-id")))
	if page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"))); !strings.Contains(page, "invalid_grant") ||
		!strings.Contains(page, "Basic [masked]") {
		t.Fatalf("request page:\n%s", page)
	}

	downloads := t.TempDir()
	done := make(chan string, 1)
	chromedp.ListenBrowser(ctx, func(ev any) {
		if e, ok := ev.(*browser.EventDownloadProgress); ok && e.State == browser.DownloadProgressStateCompleted {
			select {
			case done <- e.GUID:
			default:
			}
		}
	})
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("bundle"))); err != nil {
		t.Fatal(err)
	}
	var guid string
	select {
	case guid = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the bundle did not download")
	}
	raw, err := os.ReadFile(filepath.Join(downloads, guid))
	if err != nil {
		t.Fatal(err)
	}
	var b observe.Bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("the bundle is not JSON: %v\n%s", err, raw)
	}
	tk := b.Ticket
	if b.Format != observe.BundleFormat || tk == nil || tk.XRequestID != requestID || tk.HTTPStatus != 400 ||
		tk.Error != "invalid_grant" || tk.ErrorDescription == "" || tk.Timestamp.IsZero() || tk.ClientID != servertest.ClientID ||
		tk.Headers["Authorization"] != "Basic [masked]" || len(b.Records) == 0 {
		t.Fatalf("bundle ticket %+v with %d records; want the request's id, time, status, error, client and masked headers", tk, len(b.Records))
	}
	if strings.Contains(string(raw), servertest.ClientSecret) || strings.Contains(string(raw), tok.RefreshToken) {
		t.Fatal("a secret is in the bundle")
	}
}

func ptr[T any](v T) *T { return &v }
