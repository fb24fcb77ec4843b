package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// LooksLikePDF reports whether b has a PDF header and end-of-file marker:
// the check applied to PDFs supplied by an import.
func LooksLikePDF(b []byte) bool {
	tail := b[max(0, len(b)-1024):]
	return bytes.HasPrefix(b, []byte("%PDF-1.")) && bytes.Contains(tail, []byte("%%EOF"))
}

// Verify checks the structure of a PDF with a classic cross-reference
// table, like those Bytes writes: startxref points at the table, every
// in-use entry points at its "N 0 obj", every stream's /Length matches, and
// the trailer names a catalog. It is how the tests know a statement opens
// in a reader.
func Verify(b []byte) error {
	if !LooksLikePDF(b) {
		return errors.New("pdf: no %PDF- header or %%EOF marker")
	}
	i := bytes.LastIndex(b, []byte("startxref\n"))
	if i < 0 {
		return errors.New("pdf: no startxref")
	}
	rest := b[i+len("startxref\n"):]
	end := bytes.IndexByte(rest, '\n')
	if end < 0 {
		return errors.New("pdf: truncated startxref")
	}
	xref, err := strconv.Atoi(string(rest[:end]))
	if err != nil || xref <= 0 || xref >= len(b) || !bytes.HasPrefix(b[xref:], []byte("xref\n")) {
		return fmt.Errorf("pdf: startxref %q does not point at an xref table", rest[:end])
	}
	lines := bytes.Split(b[xref:], []byte("\n"))
	if len(lines) < 3 {
		return errors.New("pdf: truncated xref table")
	}
	var first, count int
	if _, err := fmt.Sscanf(string(lines[1]), "%d %d", &first, &count); err != nil || first != 0 || count < 2 {
		return fmt.Errorf("pdf: bad xref subsection header %q", lines[1])
	}
	if len(lines) < 2+count {
		return errors.New("pdf: xref table shorter than its header says")
	}
	for n := 1; n < count; n++ {
		entry := lines[2+n]
		if len(entry) != 19 || entry[18] != '\r' || entry[17] != 'n' {
			return fmt.Errorf("pdf: xref entry %d malformed: %q", n, entry)
		}
		off, err := strconv.Atoi(string(entry[:10]))
		if err != nil || off >= len(b) {
			return fmt.Errorf("pdf: xref entry %d offset out of range", n)
		}
		if !bytes.HasPrefix(b[off:], fmt.Appendf(nil, "%d 0 obj\n", n)) {
			return fmt.Errorf("pdf: xref entry %d does not point at object %d", n, n)
		}
		obj := b[off:]
		if s := bytes.Index(obj, []byte("stream\n")); s >= 0 && s < bytes.Index(obj, []byte("endobj")) {
			var length int
			li := bytes.Index(obj, []byte("/Length "))
			if li < 0 || li > s {
				return fmt.Errorf("pdf: stream %d has no /Length", n)
			}
			fmt.Sscanf(string(obj[li+len("/Length "):]), "%d", &length)
			data := obj[s+len("stream\n"):]
			if len(data) < length || !bytes.HasPrefix(data[length:], []byte("\nendstream")) {
				return fmt.Errorf("pdf: stream %d /Length %d does not end at endstream", n, length)
			}
		}
	}
	trailer := b[xref:]
	if !bytes.Contains(trailer, []byte("trailer\n<< /Size "+strconv.Itoa(count))) || !bytes.Contains(trailer, []byte("/Root ")) {
		return errors.New("pdf: trailer missing /Size or /Root")
	}
	return nil
}
