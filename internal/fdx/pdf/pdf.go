// Package pdf writes small, valid PDF 1.4 documents of text lines: the
// account statements the FDX API serves. It uses the standard Helvetica and
// Courier fonts (no embedding), US Letter pages, automatic page breaks and a
// "page i of n" footer. Output is deterministic for the same input.
package pdf

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// Style is the look of a line.
type Style int

const (
	// Text is 10 pt Helvetica.
	Text Style = iota
	// Heading is 16 pt Helvetica-Bold.
	Heading
	// Subheading is 11 pt Helvetica-Bold.
	Subheading
	// Mono is 9 pt Courier, for aligned columns.
	Mono
)

type styleSpec struct {
	font    string // resource name
	size    float64
	leading float64
}

var styles = map[Style]styleSpec{
	Text:       {"F1", 10, 14},
	Heading:    {"F2", 16, 22},
	Subheading: {"F2", 11, 16},
	Mono:       {"F3", 9, 12},
}

const (
	pageWidth    = 612 // US Letter, points
	pageHeight   = 792
	marginLeft   = 54
	marginTop    = 60
	marginBottom = 60
)

type line struct {
	style Style
	text  string
	y     float64
}

// Document is a statement being written.
type Document struct {
	title   string
	created time.Time
	pages   [][]line
	y       float64
}

// New starts a document with a title (in its metadata) and creation time.
func New(title string, created time.Time) *Document {
	d := &Document{title: title, created: created}
	d.newPage()
	return d
}

func (d *Document) newPage() {
	d.pages = append(d.pages, nil)
	d.y = pageHeight - marginTop
}

// Line adds a line of text, starting a new page when this one is full.
func (d *Document) Line(style Style, text string) {
	spec := styles[style]
	if d.y-spec.leading < marginBottom {
		d.newPage()
	}
	d.y -= spec.leading
	p := len(d.pages) - 1
	d.pages[p] = append(d.pages[p], line{style: style, text: text, y: d.y})
}

// Space adds vertical space of one text line.
func (d *Document) Space() { d.y -= styles[Text].leading / 2 }

// Bytes renders the document.
func (d *Document) Bytes() []byte {
	w := &writer{}
	w.buf.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

	n := len(d.pages)
	// Object numbers: 1 catalog, 2 pages, 3–5 fonts, 6 info, then a page
	// and its content stream for each page.
	pageObj := func(i int) int { return 7 + 2*i }
	kids := make([]byte, 0, 8*n)
	for i := range n {
		kids = fmt.Appendf(kids, "%d 0 R ", pageObj(i))
	}
	w.object(1, "<< /Type /Catalog /Pages 2 0 R >>")
	w.object(2, fmt.Sprintf("<< /Type /Pages /Kids [ %s] /Count %d >>", kids, n))
	w.object(3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	w.object(4, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
	w.object(5, "<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>")
	w.object(6, fmt.Sprintf("<< /Title %s /Producer (fdxd) /CreationDate (D:%s) >>",
		literal(d.title), d.created.UTC().Format("20060102150405Z")))
	for i, lines := range d.pages {
		var c bytes.Buffer
		for _, l := range lines {
			spec := styles[l.style]
			fmt.Fprintf(&c, "BT /%s %s Tf %d %s Td %s Tj ET\n", spec.font, num(spec.size), marginLeft, num(l.y), literal(l.text))
		}
		footer := fmt.Sprintf("Page %d of %d", i+1, n)
		fmt.Fprintf(&c, "BT /F1 8 Tf %d %d Td %s Tj ET\n", pageWidth-marginLeft-60, marginBottom/2, literal(footer))
		w.object(pageObj(i), fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "+
			"/Resources << /Font << /F1 3 0 R /F2 4 0 R /F3 5 0 R >> >> /Contents %d 0 R >>",
			pageWidth, pageHeight, pageObj(i)+1))
		w.stream(pageObj(i)+1, c.Bytes())
	}
	return w.finish(6+2*n, 1, 6)
}

type writer struct {
	buf     bytes.Buffer
	offsets map[int]int
}

func (w *writer) object(num int, body string) {
	w.start(num)
	w.buf.WriteString(body)
	w.buf.WriteString("\nendobj\n")
}

func (w *writer) stream(num int, data []byte) {
	w.start(num)
	fmt.Fprintf(&w.buf, "<< /Length %d >>\nstream\n", len(data))
	w.buf.Write(data)
	w.buf.WriteString("\nendstream\nendobj\n")
}

func (w *writer) start(num int) {
	if w.offsets == nil {
		w.offsets = map[int]int{}
	}
	w.offsets[num] = w.buf.Len()
	fmt.Fprintf(&w.buf, "%d 0 obj\n", num)
}

// finish writes the cross-reference table and trailer. Each xref entry is
// exactly 20 bytes, as the format requires.
func (w *writer) finish(count, root, info int) []byte {
	xref := w.buf.Len()
	fmt.Fprintf(&w.buf, "xref\n0 %d\n0000000000 65535 f\r\n", count+1)
	for i := 1; i <= count; i++ {
		fmt.Fprintf(&w.buf, "%010d 00000 n\r\n", w.offsets[i])
	}
	fmt.Fprintf(&w.buf, "trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", count+1, root, info, xref)
	return w.buf.Bytes()
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// literal writes s as a PDF literal string in WinAnsiEncoding: parentheses
// and backslashes escaped, control characters dropped, characters outside
// the encoding replaced by '?'.
func literal(s string) string {
	b := []byte{'('}
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20 || r == 0x7f:
			// dropped
		case r < 0x80:
			b = append(b, byte(r))
		case r >= 0xa0 && r <= 0xff:
			b = append(b, byte(r)) // Latin-1 agrees with WinAnsi here
		default:
			if c, ok := winAnsi[r]; ok {
				b = append(b, c)
			} else {
				b = append(b, '?')
			}
		}
	}
	return string(append(b, ')'))
}

// winAnsi maps the characters of WinAnsiEncoding's 0x80–0x9f range.
var winAnsi = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88, '‰': 0x89,
	'Š': 0x8a, '‹': 0x8b, 'Œ': 0x8c, 'Ž': 0x8e, '‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95,
	'–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9a, '›': 0x9b, 'œ': 0x9c, 'ž': 0x9e, 'Ÿ': 0x9f,
}
