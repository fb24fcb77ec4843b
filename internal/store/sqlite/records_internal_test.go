package sqlite

import (
	"encoding/json"
	"testing"
)

func TestAppendHeadersIsJSONMarshal(t *testing.T) {
	for _, h := range []map[string]string{
		{"Authorization": "Basic [masked]", "User-Agent": "Plaid/1.0 (+https://plaid.com)", "Accept": "*/*"},
		{"X-Odd": `quote " backslash \ <tag> & amp`, "X-Ctl": "tab\tnewline\n", "X-Utf8": "café ✓", "X-Bad": "\xff\xfe"},
		{"": ""},
	} {
		want, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendHeaders(nil, h); string(got) != string(want) {
			t.Errorf("appendHeaders(%q) = %s; want %s", h, got, want)
		}
	}
}
