package model

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// RawJSON is a value this package encoded earlier (with Marshal), stored
// and now copied into a larger document verbatim: the transactions of a
// page are encoded once, when imported, and served as they are.
type RawJSON []byte

// Checker is implemented by shapes with rules across fields (a POSTED
// transaction has a postedTimestamp; an account's accountType belongs to its
// accountCategory). CheckFDX runs after the fields themselves were checked,
// on encoding and decoding alike.
type Checker interface {
	CheckFDX(r *Report)
}

// Problem is one rule a value breaks, at a JSON path such as
// "$.accounts[2].currency.currencyCode".
type Problem struct {
	Path    string
	Message string
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// ValidationError lists every problem found in a value (up to a limit).
type ValidationError struct {
	Problems []Problem
}

// maxProblems bounds a ValidationError: enough to fix a file in few passes, never a
// flood.
const maxProblems = 20

func (e *ValidationError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

func (e *ValidationError) add(path, format string, args ...any) {
	if len(e.Problems) < maxProblems {
		e.Problems = append(e.Problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
}

// Report is handed to CheckFDX: it knows the object's path and which of its
// keys have values.
type Report struct {
	e *encoder
	c *codec
	v reflect.Value
}

// Errorf records a problem with the object's key (or with the object when
// key is empty).
func (r *Report) Errorf(key, format string, args ...any) {
	p := r.e.path.String()
	if key != "" {
		p += "." + key
	}
	r.e.errs.add(p, format, args...)
}

// Has reports whether key has a value (would be written).
func (r *Report) Has(key string) bool { return has(r.c, r.v, key) }

// Present lists the object's keys that have values, in encoding order.
func (r *Report) Present() []string { return present(r.c, r.v, nil) }

func has(c *codec, v reflect.Value, key string) bool {
	for _, f := range c.fields {
		fv := v.Field(f.index)
		if f.inline {
			if has(f.codec, fv, key) {
				return true
			}
			continue
		}
		if f.name == key {
			return !f.opt || !absent(f.codec, fv)
		}
	}
	return false
}

func present(c *codec, v reflect.Value, out []string) []string {
	for _, f := range c.fields {
		fv := v.Field(f.index)
		switch {
		case f.inline:
			out = present(f.codec, fv, out)
		case !f.opt || !absent(f.codec, fv):
			out = append(out, f.name)
		}
	}
	return out
}

// Marshal encodes v, a struct of this package (or one built like them), as
// FDX JSON. This is the only place FDX JSON is written, and it holds the
// serialization rule of Plaid's troubleshooting guide by construction:
//
//   - it has no way to write null;
//   - a required string without a value is written "", a required array
//     without items [];
//   - an optional field without a value is left out;
//   - enumerations, dates (YYYY-MM-DD), timestamps (with an offset),
//     currency and country codes, maxLength and minItems are checked, as are
//     the cross-field rules of each shape.
//
// A value that breaks a rule is not written: Marshal returns a *ValidationError.
func Marshal(v any) ([]byte, error) { return Append(nil, v) }

// Append is Marshal appending to b.
func Append(b []byte, v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	e := &encoder{buf: b, path: path{root: "$"}}
	start := len(b)
	e.value(planFor(rv.Type()), rv, 0)
	if len(e.errs.Problems) > 0 {
		return b[:start], &e.errs
	}
	return e.buf, nil
}

// Validate checks v by the rules Marshal applies, reporting paths below
// root ("$" for a document, "$.customers[0].accounts[1].account" for a part
// of one).
func Validate(v any, root string) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	e := &encoder{discard: true, path: path{root: root}}
	e.value(planFor(rv.Type()), rv, 0)
	if len(e.errs.Problems) > 0 {
		return &e.errs
	}
	return nil
}

type encoder struct {
	buf     []byte
	discard bool
	path    path
	errs    ValidationError
}

// fail records a problem at the current path.
func (e *encoder) fail(format string, args ...any) { e.errs.add(e.path.String(), format, args...) }

// maxDepth guards against self-referential values; FDX shapes nest a few
// levels only.
const maxDepth = 32

func (e *encoder) value(c *codec, v reflect.Value, depth int) {
	if depth > maxDepth {
		e.fail("nested too deeply")
		return
	}
	switch c.kind {
	case kString:
		s := v.String()
		if c.enum && !v.Interface().(interface{ Valid() bool }).Valid() {
			e.fail("%q is not one of the allowed values", s)
		}
		if !e.discard {
			e.buf = appendString(e.buf, s)
		}
	case kBool:
		if !e.discard {
			e.buf = strconv.AppendBool(e.buf, v.Bool())
		}
	case kInt:
		if !e.discard {
			e.buf = strconv.AppendInt(e.buf, v.Int(), 10)
		}
	case kAmount:
		if !e.discard {
			e.buf = Amount(v.Int()).appendText(e.buf)
		}
	case kNumber:
		n := Number(v.Float())
		if !n.valid() {
			e.fail("not a finite number")
			return
		}
		if !e.discard {
			e.buf = n.appendText(e.buf)
		}
	case kDate:
		d := v.Interface().(Date)
		if !d.Valid() {
			if d.IsZero() {
				e.fail("required date missing")
			} else {
				e.fail("not a calendar date")
			}
			return
		}
		if !e.discard {
			e.buf = append(e.buf, '"')
			e.buf = d.appendText(e.buf)
			e.buf = append(e.buf, '"')
		}
	case kTimestamp:
		ts := v.Interface().(Timestamp)
		if !ts.Valid() {
			if ts.IsZero() {
				e.fail("required timestamp missing")
			} else {
				e.fail("timestamp out of range")
			}
			return
		}
		if !e.discard {
			e.buf = append(e.buf, '"')
			e.buf = ts.appendText(e.buf)
			e.buf = append(e.buf, '"')
		}
	case kBytes:
		if !e.discard {
			e.buf = append(e.buf, '"')
			e.buf = base64.StdEncoding.AppendEncode(e.buf, v.Bytes())
			e.buf = append(e.buf, '"')
		}
	case kRaw:
		raw := v.Bytes()
		if len(raw) == 0 {
			e.fail("empty pre-encoded value")
			return
		}
		if !e.discard {
			e.buf = append(e.buf, raw...)
		}
	case kPtr:
		// Only reached for a present optional value (absent ones are
		// skipped by the object), or inside an array, which plans forbid.
		e.value(c.elem, v.Elem(), depth+1)
	case kSlice:
		if !e.discard {
			// A nil slice is written as [] like an empty one: never null.
			e.buf = append(e.buf, '[')
		}
		for i := range v.Len() {
			if i > 0 && !e.discard {
				e.buf = append(e.buf, ',')
			}
			e.path.pushIndex(i)
			e.value(c.elem, v.Index(i), depth+1)
			e.path.pop()
		}
		if !e.discard {
			e.buf = append(e.buf, ']')
		}
	case kStruct:
		if !e.discard {
			e.buf = append(e.buf, '{')
		}
		first := true
		e.fields(c, v, depth, &first)
		if !e.discard {
			e.buf = append(e.buf, '}')
		}
	}
}

func (e *encoder) fields(c *codec, v reflect.Value, depth int, first *bool) {
	for _, f := range c.fields {
		fv := v.Field(f.index)
		if f.inline {
			e.fields(f.codec, fv, depth, first)
			continue
		}
		if f.opt && absent(f.codec, fv) {
			continue
		}
		e.path.pushKey(f.name)
		if f.maxLen > 0 {
			if n := utf8.RuneCountInString(fv.String()); n > f.maxLen {
				e.fail("%d characters, at most %d allowed", n, f.maxLen)
			}
		}
		if f.minItems > 0 && fv.Len() < f.minItems {
			e.fail("needs at least %d item(s), has %d", f.minItems, fv.Len())
		}
		if f.codec.kind == kString && f.codec.enum && fv.Len() == 0 {
			// A required enumeration has no "empty" member.
			e.fail("required value missing")
			e.path.pop()
			continue
		}
		if !e.discard {
			if !*first {
				e.buf = append(e.buf, ',')
			}
			e.buf = appendString(e.buf, f.name)
			e.buf = append(e.buf, ':')
		}
		*first = false
		e.value(f.codec, fv, depth+1)
		e.path.pop()
	}
	if c.checker {
		v.Interface().(Checker).CheckFDX(&Report{e: e, c: c, v: v})
	}
}

// appendString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD, and
// <, > and & are escaped so that a response can never be sniffed as HTML.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript parsers.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// path is the JSON path of the value being encoded or decoded, kept as a
// stack and rendered only when a problem is reported.
type path struct {
	root string
	segs []pathSeg
}

type pathSeg struct {
	key   string
	index int // used when key is ""
}

func (p *path) pushKey(k string) { p.segs = append(p.segs, pathSeg{key: k}) }
func (p *path) pushIndex(i int)  { p.segs = append(p.segs, pathSeg{index: i}) }
func (p *path) pop()             { p.segs = p.segs[:len(p.segs)-1] }

func (p *path) String() string {
	b := []byte(p.root)
	for _, s := range p.segs {
		if s.key != "" {
			b = append(b, '.')
			b = append(b, s.key...)
		} else {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(s.index), 10)
			b = append(b, ']')
		}
	}
	return string(b)
}
