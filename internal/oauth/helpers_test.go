package oauth_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/fdxd/fdxd/internal/server/servertest"
)

type oidcConfig = oidc.Config

// logLines parses every JSON line the server logged.
func logLines(t *testing.T, s *servertest.Server) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(s.Logs.String(), "\n") {
		if strings.TrimSpace(line) == "" {
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

// findLog returns the last line with event (and request_id, when given).
func findLog(t *testing.T, s *servertest.Server, event, requestID string) map[string]any {
	t.Helper()
	lines := logLines(t, s)
	for i := len(lines) - 1; i >= 0; i-- {
		if lines[i]["event"] == event && (requestID == "" || lines[i]["request_id"] == requestID) {
			return lines[i]
		}
	}
	t.Fatalf("no %s log line for request %q in:\n%s", event, requestID, s.Logs.String())
	return nil
}
