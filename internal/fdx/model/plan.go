package model

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// A struct's fields are described by `fdx` tags:
//
//	`fdx:"name"`            required
//	`fdx:"name,opt"`        optional: omitted when it has no value
//	`fdx:"name,min=1"`      array with at least one item
//	`fdx:"name,max=256"`    string of at most 256 characters
//	`fdx:",inline"`         embedded struct whose fields join this object
//
// What "no value" means is fixed per Go type, and optional fields may only
// use types that can express it: "" for strings, nil for pointers, slices
// and raw JSON, the zero Date and Timestamp. A required field may not be a
// pointer. A plain bool, int64, Amount or Number always has a value, so it
// is required; an optional one is a pointer. Plans are checked when first
// built, so a mistyped field fails every test that touches its type.

type kind uint8

const (
	kString kind = iota
	kBool
	kInt
	kAmount
	kNumber
	kDate
	kTimestamp
	kBytes
	kRaw
	kStruct
	kSlice
	kPtr
)

// codec is the plan for one Go type.
type codec struct {
	kind kind
	typ  reflect.Type
	// enum: a string type with a Valid method (a spec enumeration).
	enum bool
	// elem is the element of a slice or pointer.
	elem *codec
	// fields of a struct, in encoding order; inline fields carry their own.
	fields []field
	// checker: the struct has cross-field rules (implements Checker).
	checker bool
}

type field struct {
	name     string
	index    int
	opt      bool
	inline   bool
	minItems int
	maxLen   int
	codec    *codec
}

var (
	amountType    = reflect.TypeFor[Amount]()
	numberType    = reflect.TypeFor[Number]()
	dateType      = reflect.TypeFor[Date]()
	timestampType = reflect.TypeFor[Timestamp]()
	rawType       = reflect.TypeFor[RawJSON]()
	bytesType     = reflect.TypeFor[[]byte]()
	validType     = reflect.TypeFor[interface{ Valid() bool }]()
	checkerType   = reflect.TypeFor[Checker]()
)

// plans memoizes codecs per type. It is derived from the types alone and
// never changes what it holds, like encoding/json's encoder cache.
var plans sync.Map // reflect.Type → *codec

func planFor(t reflect.Type) *codec {
	if c, ok := plans.Load(t); ok {
		return c.(*codec)
	}
	c, err := buildPlan(t, map[reflect.Type]*codec{})
	if err != nil {
		// A programming error in a type declaration, caught by any test
		// that encodes or decodes the type.
		panic(err)
	}
	actual, _ := plans.LoadOrStore(t, c)
	return actual.(*codec)
}

func buildPlan(t reflect.Type, building map[reflect.Type]*codec) (*codec, error) {
	if c, ok := building[t]; ok {
		return c, nil
	}
	switch t {
	case amountType:
		return &codec{kind: kAmount, typ: t}, nil
	case numberType:
		return &codec{kind: kNumber, typ: t}, nil
	case dateType:
		return &codec{kind: kDate, typ: t}, nil
	case timestampType:
		return &codec{kind: kTimestamp, typ: t}, nil
	case rawType:
		return &codec{kind: kRaw, typ: t}, nil
	case bytesType:
		return &codec{kind: kBytes, typ: t}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return &codec{kind: kString, typ: t, enum: t.Implements(validType)}, nil
	case reflect.Bool:
		return &codec{kind: kBool, typ: t}, nil
	case reflect.Int64:
		return &codec{kind: kInt, typ: t}, nil
	case reflect.Slice:
		elem, err := buildPlan(t.Elem(), building)
		if err != nil {
			return nil, err
		}
		if elem.kind == kPtr || elem.kind == kSlice {
			return nil, fmt.Errorf("model: %v: arrays hold values, not pointers or arrays", t)
		}
		return &codec{kind: kSlice, typ: t, elem: elem}, nil
	case reflect.Pointer:
		elem, err := buildPlan(t.Elem(), building)
		if err != nil {
			return nil, err
		}
		if elem.kind == kPtr || elem.kind == kSlice || elem.kind == kString || elem.kind == kDate || elem.kind == kTimestamp {
			return nil, fmt.Errorf("model: %v: a pointer is only for optional numbers, booleans and objects", t)
		}
		return &codec{kind: kPtr, typ: t, elem: elem}, nil
	case reflect.Struct:
		c := &codec{kind: kStruct, typ: t, checker: t.Implements(checkerType)}
		building[t] = c
		seen := map[string]bool{}
		for i := range t.NumField() {
			sf := t.Field(i)
			tag, ok := sf.Tag.Lookup("fdx")
			if !ok {
				return nil, fmt.Errorf("model: %v.%s has no fdx tag", t, sf.Name)
			}
			if tag == "-" {
				continue
			}
			f, err := parseTag(tag)
			if err != nil {
				return nil, fmt.Errorf("model: %v.%s: %w", t, sf.Name, err)
			}
			f.index = i
			if f.codec, err = buildPlan(sf.Type, building); err != nil {
				return nil, err
			}
			if err := checkField(f); err != nil {
				return nil, fmt.Errorf("model: %v.%s: %w", t, sf.Name, err)
			}
			for _, name := range f.names() {
				if seen[name] {
					return nil, fmt.Errorf("model: %v: key %q appears twice", t, name)
				}
				seen[name] = true
			}
			c.fields = append(c.fields, f)
		}
		return c, nil
	}
	return nil, fmt.Errorf("model: %v: type not supported in FDX shapes", t)
}

func parseTag(tag string) (field, error) {
	parts := strings.Split(tag, ",")
	f := field{name: parts[0]}
	for _, p := range parts[1:] {
		switch {
		case p == "opt":
			f.opt = true
		case p == "inline":
			f.inline = true
		case strings.HasPrefix(p, "min="):
			n, err := strconv.Atoi(p[4:])
			if err != nil || n < 0 {
				return f, fmt.Errorf("bad option %q", p)
			}
			f.minItems = n
		case strings.HasPrefix(p, "max="):
			n, err := strconv.Atoi(p[4:])
			if err != nil || n <= 0 {
				return f, fmt.Errorf("bad option %q", p)
			}
			f.maxLen = n
		default:
			return f, fmt.Errorf("unknown option %q", p)
		}
	}
	if (f.name == "") != f.inline {
		return f, fmt.Errorf("a field needs a name, or inline without one")
	}
	return f, nil
}

func checkField(f field) error {
	k := f.codec.kind
	switch {
	case f.inline:
		if k != kStruct || f.opt {
			return fmt.Errorf("inline is for required embedded structs")
		}
	case f.opt:
		switch k {
		case kString, kPtr, kSlice, kDate, kTimestamp, kBytes, kRaw:
		default:
			return fmt.Errorf("optional %v cannot express \"no value\"; use a pointer", f.codec.typ)
		}
	case k == kPtr:
		return fmt.Errorf("a required field cannot be a pointer")
	}
	if f.minItems > 0 && k != kSlice {
		return fmt.Errorf("min= is for arrays")
	}
	if f.maxLen > 0 && k != kString {
		return fmt.Errorf("max= is for strings")
	}
	return nil
}

// names lists the JSON keys a field contributes to its object.
func (f field) names() []string {
	if !f.inline {
		return []string{f.name}
	}
	var out []string
	for _, g := range f.codec.fields {
		out = append(out, g.names()...)
	}
	return out
}

// absent reports whether v, a value of an optional field, has no value.
func absent(c *codec, v reflect.Value) bool {
	switch c.kind {
	case kString:
		return v.Len() == 0
	case kPtr:
		return v.IsNil()
	case kSlice, kBytes, kRaw:
		return v.Len() == 0
	case kDate:
		return v.Interface().(Date).IsZero()
	case kTimestamp:
		return v.Interface().(Timestamp).IsZero()
	}
	return false
}
