// Package browsertest gives tests a real browser: Debian's chromium, headless,
// driven through chromedp. Without one the test skips with a message saying
// what to install; with FDXD_REQUIRE_BROWSER=1 (CI) a missing browser fails
// it instead.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Names are the executables looked for on PATH, in order.
var Names = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Find returns the path of the browser to drive, or skips the test; purpose
// names the test in the message ("the real-browser sign-in test").
func Find(t testing.TB, purpose string) string {
	t.Helper()
	for _, name := range Names {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	msg := "no chromium found on PATH (looked for " + strings.Join(Names, ", ") + "): " +
		purpose + " needs Debian's chromium (apt-get install chromium)"
	if os.Getenv("FDXD_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + "; FDXD_REQUIRE_BROWSER=1 makes this a failure")
	}
	t.Skip(msg)
	return ""
}

// Start starts the browser at path, headless with a fresh profile, and
// returns a chromedp context for it; extra adds allocator options (a window
// size). The browser lives as long as the test; the steps run in the
// returned context must finish within timeout.
func Start(t testing.TB, path string, timeout time.Duration, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	// The first run starts the browser, which lives as long as that run's
	// context: it gets no timeout; the steps after it do.
	if err := chromedp.Do(browserCtx); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start %s: %v", path, err)
	}
	ctx, cancelTimeout := context.WithTimeout(browserCtx, timeout)
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	return ctx
}

// Where tells where the browser is, its URL and the page's text, for a
// failure message.
func Where(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	return "at " + loc + ":\n" + text
}
