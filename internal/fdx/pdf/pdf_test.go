package pdf

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

func TestDocumentIsValidAndPaginates(t *testing.T) {
	d := New("Statement (March) \\ 2026", time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC))
	d.Line(Heading, "First Bank — Statement")
	d.Space()
	for i := range 150 {
		d.Line(Mono, fmt.Sprintf("2026-03-%02d  Coffee (café) #%d  %10.2f", i%28+1, i, float64(i)*1.25))
	}
	b := d.Bytes()
	if err := Verify(b); err != nil {
		t.Fatalf("Verify: %v\n%s", err, b)
	}
	if got := bytes.Count(b, []byte("/Type /Page ")); got < 2 {
		t.Fatalf("%d pages; want the 150 lines to spill onto several", got)
	}
	for _, want := range []string{"(Statement \\(March\\) \\\\ 2026)", "(First Bank \x97 Statement)", "caf\xe9", "Page 1 of "} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("PDF lacks %q", want)
		}
	}
	if !bytes.Equal(b, d.Bytes()) {
		t.Error("rendering twice differs")
	}
}

func TestVerifyCatchesDamage(t *testing.T) {
	d := New("x", time.Unix(0, 0))
	d.Line(Text, "hello")
	good := d.Bytes()
	for name, bad := range map[string][]byte{
		"truncated":   good[:len(good)/2],
		"shifted":     append([]byte("%PDF-1.4\n "), good[9:]...),
		"not a pdf":   []byte("hello"),
		"long stream": bytes.Replace(good, []byte("/Length "), []byte("/Length 9"), 1),
	} {
		if err := Verify(bad); err == nil {
			t.Errorf("%s: Verify passed", name)
		}
	}
}
