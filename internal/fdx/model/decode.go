package model

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
)

// Unmarshal decodes FDX JSON into v (a pointer to a struct of this package,
// or one built like them) and checks it by the rules Marshal applies. Every
// problem names the JSON path of the bad value: a wrong type, a missing
// required field, null for a required field, an unknown field, a value
// outside an enumeration, a broken cross-field rule. Null for an optional
// field is read as "no value".
func Unmarshal(data []byte, v any) error {
	tree, err := parseTree(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return Bind(tree, v, "$")
}

// Parse reads one JSON document from r into a tree of map[string]any,
// []any, string, json.Number, bool and nil, for Bind.
func Parse(r io.Reader) (any, error) { return parseTree(r) }

func parseTree(r io.Reader) (any, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		if se, ok := errors.AsType[*json.SyntaxError](err); ok {
			return nil, &ValidationError{Problems: []Problem{{Path: "$", Message: fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)}}}
		}
		return nil, &ValidationError{Problems: []Problem{{Path: "$", Message: fmt.Sprintf("invalid JSON: %v", err)}}}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &ValidationError{Problems: []Problem{{Path: "$", Message: "data after the JSON document"}}}
	}
	return tree, nil
}

// Bind fills v (a pointer) from a parsed tree, reporting paths below root,
// then checks it like Validate.
func Bind(tree any, v any, root string) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("model: Bind needs a non-nil pointer, got %T", v)
	}
	d := &decoder{path: path{root: root}}
	c := planFor(rv.Elem().Type())
	d.value(c, rv.Elem(), tree, 0)
	if len(d.errs.Problems) > 0 {
		return &d.errs
	}
	return Validate(v, root)
}

type decoder struct {
	path path
	errs ValidationError
}

func (d *decoder) fail(format string, args ...any) { d.errs.add(d.path.String(), format, args...) }

func jsonType(in any) string {
	switch in.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", in)
}

func (d *decoder) value(c *codec, v reflect.Value, in any, depth int) {
	if depth > maxDepth {
		d.fail("nested too deeply")
		return
	}
	switch c.kind {
	case kString:
		s, ok := in.(string)
		if !ok {
			d.fail("must be a string, not %s", jsonType(in))
			return
		}
		v.SetString(s)
	case kBool:
		b, ok := in.(bool)
		if !ok {
			d.fail("must be true or false, not %s", jsonType(in))
			return
		}
		v.SetBool(b)
	case kInt:
		n, ok := in.(json.Number)
		if !ok {
			d.fail("must be an integer, not %s", jsonType(in))
			return
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			d.fail("%s is not an integer", n)
			return
		}
		v.SetInt(i)
	case kAmount:
		n, ok := in.(json.Number)
		if !ok {
			d.fail("must be a number, not %s", jsonType(in))
			return
		}
		a, err := ParseAmount(string(n))
		if err != nil {
			d.fail("%v", err)
			return
		}
		v.SetInt(int64(a))
	case kNumber:
		n, ok := in.(json.Number)
		if !ok {
			d.fail("must be a number, not %s", jsonType(in))
			return
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || !Number(f).valid() {
			d.fail("%s is out of range", n)
			return
		}
		v.SetFloat(f)
	case kDate:
		s, ok := in.(string)
		if !ok {
			d.fail("must be a date string YYYY-MM-DD, not %s", jsonType(in))
			return
		}
		t, err := ParseDate(s)
		if err != nil {
			d.fail("%v", err)
			return
		}
		v.Set(reflect.ValueOf(t))
	case kTimestamp:
		s, ok := in.(string)
		if !ok {
			d.fail("must be a date-time string, not %s", jsonType(in))
			return
		}
		t, err := ParseTimestamp(s)
		if err != nil {
			d.fail("%v", err)
			return
		}
		v.Set(reflect.ValueOf(t))
	case kBytes:
		s, ok := in.(string)
		if !ok {
			d.fail("must be a base64 string, not %s", jsonType(in))
			return
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			d.fail("not standard base64: %v", err)
			return
		}
		v.SetBytes(b)
	case kRaw:
		d.fail("pre-encoded values cannot be decoded")
	case kPtr:
		p := reflect.New(c.elem.typ)
		d.value(c.elem, p.Elem(), in, depth+1)
		v.Set(p)
	case kSlice:
		arr, ok := in.([]any)
		if !ok {
			d.fail("must be an array, not %s", jsonType(in))
			return
		}
		s := reflect.MakeSlice(c.typ, len(arr), len(arr))
		for i, item := range arr {
			d.path.pushIndex(i)
			if item == nil {
				d.fail("null is not allowed in an array")
			} else {
				d.value(c.elem, s.Index(i), item, depth+1)
			}
			d.path.pop()
		}
		v.Set(s)
	case kStruct:
		obj, ok := in.(map[string]any)
		if !ok {
			d.fail("must be an object, not %s", jsonType(in))
			return
		}
		used := make(map[string]bool, len(obj))
		d.fields(c, v, obj, used, depth)
		var unknown []string
		for k := range obj {
			if !used[k] {
				unknown = append(unknown, k)
			}
		}
		slices.Sort(unknown)
		for _, k := range unknown {
			d.path.pushKey(k)
			d.fail("unknown field")
			d.path.pop()
		}
	}
}

func (d *decoder) fields(c *codec, v reflect.Value, obj map[string]any, used map[string]bool, depth int) {
	for _, f := range c.fields {
		fv := v.Field(f.index)
		if f.inline {
			d.fields(f.codec, fv, obj, used, depth)
			continue
		}
		in, ok := obj[f.name]
		used[f.name] = true
		d.path.pushKey(f.name)
		switch {
		case !ok && !f.opt:
			d.fail("required field missing")
		case in == nil && ok && !f.opt:
			d.fail("must not be null")
		case in != nil:
			d.value(f.codec, fv, in, depth+1)
		}
		d.path.pop()
	}
}
