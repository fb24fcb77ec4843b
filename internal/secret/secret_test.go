package secret

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTokenEntropyAndAlphabet(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok := Token("", 32)
		if len(tok) != 43 {
			t.Fatalf("len(Token(32)) = %d; want 43", len(tok))
		}
		if strings.ContainsAny(tok, "+/=") {
			t.Fatalf("token %q is not URL-safe", tok)
		}
		if seen[tok] {
			t.Fatal("duplicate token")
		}
		seen[tok] = true
	}
	if id := ID("req_", 10); len(id) != 4+16 || strings.ToLower(id) != id {
		t.Fatalf("ID = %q; want req_ and 16 lower-case characters", id)
	}
}

func TestTokenRefusesFewBits(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Token(8) did not panic")
		}
	}()
	Token("", 8)
}

func TestHashIsSHA256Hex(t *testing.T) {
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := Hash("abc"); got != want {
		t.Fatalf("Hash(abc) = %s; want %s", got, want)
	}
}

func TestSealRoundTripAndPurposeBinding(t *testing.T) {
	s, err := NewSealer(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	ct := s.Seal([]byte("private key"), "signing-key")
	if bytes.Contains(ct, []byte("private key")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	got, err := s.Open(ct, "signing-key")
	if err != nil || string(got) != "private key" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open(ct, "other-purpose"); !errors.Is(err, ErrUnseal) {
		t.Fatalf("Open with another purpose: %v; want ErrUnseal", err)
	}
	other, _ := NewSealer(NewKey())
	if _, err := other.Open(ct, "signing-key"); !errors.Is(err, ErrUnseal) {
		t.Fatalf("Open with another key: %v; want ErrUnseal", err)
	}
	if _, err := s.Open([]byte("short"), "signing-key"); !errors.Is(err, ErrUnseal) {
		t.Fatalf("Open of a short input: %v; want ErrUnseal", err)
	}
	if _, err := NewSealer([]byte("short")); err == nil {
		t.Fatal("NewSealer accepted a short key")
	}
}

func TestParseKey(t *testing.T) {
	k := NewKey()
	for _, enc := range []string{
		strings.Repeat("ab", 32),
		"q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=",
		"q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80",
	} {
		if _, err := ParseKey(enc); err != nil {
			t.Errorf("ParseKey(%q): %v", enc, err)
		}
	}
	_ = k
	for _, bad := range []string{"", "abc", strings.Repeat("zz", 32), "c2hvcnQ="} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted a bad key", bad)
		}
	}
}

func TestKeyFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fdxd.kek")
	k1, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreateKeyFile = %v, %v; want created", created, err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", info.Mode().Perm(), err)
	}
	k2, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("second LoadOrCreateKeyFile = created %v, %v; want the same key", created, err)
	}
	if k3, err := LoadKeyFile(path); err != nil || !bytes.Equal(k1, k3) {
		t.Fatalf("LoadKeyFile = %v; want the same key", err)
	}
	os.Chmod(path, 0o644)
	if _, err := LoadKeyFile(path); err == nil {
		t.Fatal("LoadKeyFile accepted a world-readable key file")
	}
}
