package cli_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

type keyInfo struct {
	ID          string    `json:"kid"`
	Algorithm   string    `json:"alg"`
	State       string    `json:"state"`
	PublishedAt time.Time `json:"published_at"`
	SignsFrom   time.Time `json:"signs_from"`
	ActivatedAt time.Time `json:"activated_at"`
	RotatesAt   time.Time `json:"rotates_at"`
}

func listKeys(t *testing.T, h *harness) map[string]keyInfo {
	t.Helper()
	var list []keyInfo
	out := h.ok("", "keys", "list", "--json").stdout
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("keys list --json: %v\n%s", err, out)
	}
	byState := map[string]keyInfo{}
	for _, k := range list {
		if _, dup := byState[k.State]; dup {
			t.Fatalf("two %s keys: %s", k.State, out)
		}
		byState[k.State] = k
	}
	return byState
}

func TestKeysNeedTheKeyEncryptionKey(t *testing.T) {
	h := newHarness(t)
	h.ok("", "migrate")
	for _, sub := range []string{"list", "rotate"} {
		h.fails(1, "no key-encryption key: set FDXD_KEY_ENCRYPTION_KEY", "", "keys", sub)
	}
	h.env["FDXD_KEY_ENCRYPTION_KEY"] = "not-a-key"
	h.fails(1, "key-encryption key from FDXD_KEY_ENCRYPTION_KEY", "", "keys", "list")
}

func TestKeysRotateAndList(t *testing.T) {
	h := newHarness(t).withKEK()
	kek := h.env["FDXD_KEY_ENCRYPTION_KEY"]
	if keys := listKeys(t, h); len(keys) != 0 {
		t.Fatalf("a fresh database has keys: %v", keys)
	}

	// The first rotation on an empty database makes the first active key
	// and publishes the next one.
	r := h.ok("", "keys", "rotate")
	keys := listKeys(t, h)
	active, next := keys["active"], keys["next"]
	if active.ID == "" || next.ID == "" || len(keys) != 2 {
		t.Fatalf("after the first rotate: %+v", keys)
	}
	if !strings.Contains(r.stdout, active.ID+" signs from now on") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if active.Algorithm != "RS256" || next.SignsFrom.Sub(next.PublishedAt) != 24*time.Hour ||
		active.RotatesAt.Sub(active.ActivatedAt) != 90*24*time.Hour {
		t.Errorf("keys: %+v", keys)
	}

	// A second rotation cannot promote a key published less than 24 h ago:
	// it is scheduled for when the lead has passed.
	r = h.ok("", "keys", "rotate")
	want := "starts signing at " + next.SignsFrom.UTC().Format(time.RFC3339)
	if !strings.Contains(r.stdout, "rotation requested") || !strings.Contains(r.stdout, want) {
		t.Fatalf("second rotate:\n%s\nwant %q", r.stdout, want)
	}
	if again := listKeys(t, h); again["active"].ID != active.ID || again["next"].ID != next.ID {
		t.Fatalf("a key signed before its 24 h publication lead: %+v", again)
	}

	table := h.ok("", "keys", "list").stdout
	for _, want := range []string{"KID", "STATE", active.ID + "  RS256  active", next.ID + "  RS256  next"} {
		if !strings.Contains(table, want) {
			t.Errorf("keys list lacks %q:\n%s", want, table)
		}
	}

	// Another key-encryption key cannot open the private keys.
	h.env["FDXD_KEY_ENCRYPTION_KEY"] = strings.Repeat("ab", 32)
	r = h.run("", "keys", "rotate")
	if r.code != 1 || r.stderr == "" {
		t.Fatalf("keys rotate under a wrong key-encryption key: %v", r)
	}

	// The key file beside the database is used when no variable is set.
	delete(h.env, "FDXD_KEY_ENCRYPTION_KEY")
	h.fails(1, "no key-encryption key", "", "keys", "list")
	if err := os.WriteFile(h.db+".kek", []byte(kek+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if again := listKeys(t, h); again["active"].ID != active.ID {
		t.Fatalf("keys list with %s.kek: %+v", h.db, again)
	}
}

// TestKeysRotateKeepsTheServersAlgorithm: without --signing-alg, keys rotate
// works with the algorithm of the stored keys. Falling back to RS256 on an
// ES256 server replaced its published next key with an RS256 one, putting
// the rotation off by another 24 hours and reporting the wrong time.
func TestKeysRotateKeepsTheServersAlgorithm(t *testing.T) {
	h := newHarness(t).withKEK()
	h.ok("", "keys", "rotate", "--signing-alg", "ES256")
	before := listKeys(t, h)
	if before["active"].Algorithm != "ES256" || before["next"].Algorithm != "ES256" {
		t.Fatalf("keys rotate --signing-alg ES256 made %+v", before)
	}
	r := h.ok("", "keys", "rotate")
	after := listKeys(t, h)
	if after["next"].ID != before["next"].ID || after["active"].ID != before["active"].ID {
		t.Fatalf("keys rotate without --signing-alg replaced the ES256 keys:\nbefore %+v\nafter  %+v", before, after)
	}
	if want := "starts signing at " + before["next"].SignsFrom.UTC().Format(time.RFC3339); !strings.Contains(r.stdout, want) {
		t.Errorf("keys rotate said:\n%s\nwant %q", r.stdout, want)
	}
}
