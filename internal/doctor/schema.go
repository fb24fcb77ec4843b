package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Spec is a loaded FDX / Core Exchange OpenAPI document that response bodies
// are validated against.
type Spec struct {
	doc  *openapi3.T
	path string
}

// LoadSpec reads an OpenAPI document such as corex-6.4.yaml.
func LoadSpec(ctx context.Context, path string) (*Spec, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading the spec %s: %w", path, err)
	}
	if doc.Paths == nil || doc.Paths.Len() == 0 {
		return nil, fmt.Errorf("the spec %s has no paths", path)
	}
	return &Spec{doc: doc, path: path}, nil
}

// Version is the spec's info.version, for evidence.
func (s *Spec) Version() string {
	if s.doc.Info == nil {
		return "?"
	}
	return s.doc.Info.Version
}

// schemaIssue is one place where a body differs from the spec.
type schemaIssue struct {
	path   string // JSON path such as $.accounts[0].productName
	reason string
}

// validate checks body against the 200 response schema of GET template
// (for example "/accounts/{accountId}"). ok is false when the spec does not
// describe that operation.
func (s *Spec) validate(template string, body any) (issues []schemaIssue, ok bool) {
	item := s.doc.Paths.Value(template)
	if item == nil || item.Get == nil || item.Get.Responses == nil {
		return nil, false
	}
	resp := item.Get.Responses.Status(200)
	if resp == nil || resp.Value == nil {
		return nil, false
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil, false
	}
	err := mt.Schema.Value.VisitJSON(body, openapi3.MultiErrors())
	if err == nil {
		return nil, true
	}
	for _, se := range schemaLeaves(err) {
		issues = append(issues, schemaIssue{path: jsonPath(se.JSONPointer()), reason: se.Reason})
	}
	if len(issues) == 0 {
		issues = append(issues, schemaIssue{path: "$", reason: err.Error()})
	}
	slices.SortStableFunc(issues, func(a, b schemaIssue) int { return strings.Compare(a.path, b.path) })
	return slices.CompactFunc(issues, func(a, b schemaIssue) bool { return a == b }), true
}

// schemaLeaves flattens kin-openapi's error tree to the innermost schema
// errors: a oneOf that matched nothing is reported by what failed inside the
// branch its discriminator chose.
func schemaLeaves(err error) []*openapi3.SchemaError {
	if me, ok := err.(openapi3.MultiError); ok {
		var out []*openapi3.SchemaError
		for _, e := range me {
			out = append(out, schemaLeaves(e)...)
		}
		return out
	}
	se, ok := err.(*openapi3.SchemaError)
	if !ok {
		return nil
	}
	for u := se.Origin; u != nil; u = errors.Unwrap(u) {
		if me, ok := u.(openapi3.MultiError); ok {
			if inner := schemaLeaves(me); len(inner) > 0 {
				return inner
			}
			break
		}
	}
	return []*openapi3.SchemaError{se}
}

// jsonPath turns a JSON pointer's parts into $.a.b[0].c.
func jsonPath(parts []string) string {
	var b strings.Builder
	b.WriteString("$")
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
		} else {
			b.WriteString("." + p)
		}
	}
	return b.String()
}

// nullPaths lists the JSON paths of every null in v, in a stable order.
func nullPaths(v any) []string {
	var out []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case nil:
			out = append(out, path)
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				walk(path+"."+k, x[k])
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		}
	}
	walk("$", v)
	return out
}
