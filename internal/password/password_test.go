package password

import (
	"errors"
	"strings"
	"testing"
)

// cheap keeps the tests fast; the format and logic are the same.
var cheap = Params{Memory: 1024, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	h := Hash("correct horse", cheap)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("Hash = %q; want a PHC argon2id string", h)
	}
	if strings.Contains(h, "correct horse") {
		t.Fatal("hash contains the password")
	}
	if err := Verify("correct horse", h); err != nil {
		t.Fatalf("Verify(right) = %v", err)
	}
	if err := Verify("wrong horse", h); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Verify(wrong) = %v; want ErrMismatch", err)
	}
	if Hash("correct horse", cheap) == h {
		t.Fatal("two hashes of one password are equal: salt missing")
	}
	if !NeedsRehash(h, Default) || NeedsRehash(h, cheap) {
		t.Fatal("NeedsRehash does not compare parameters")
	}
	if err := VerifyMissing("x", cheap); !errors.Is(err, ErrMismatch) {
		t.Fatalf("VerifyMissing = %v; want ErrMismatch", err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=18$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=0,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=1024,t=1,p=1$!!$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$short",
	} {
		err := Verify("pw", bad)
		if err == nil || errors.Is(err, ErrMismatch) {
			t.Errorf("Verify(%q) = %v; want a format error", bad, err)
		}
	}
}
