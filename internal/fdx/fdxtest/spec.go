// Package fdxtest validates FDX bodies against the Core Exchange 6.4 spec
// in tests. The spec is a data file beside the repository
// (../shared/spec/corex-6.4.yaml from the repository root); without it the
// checks skip with a loud message, and with it an invalid body fails.
package fdxtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// SpecRelPath is where the spec lives, relative to the repository root.
const SpecRelPath = "../shared/spec/corex-6.4.yaml"

// BasePath is the API's mount point; the spec's paths are relative to it.
const BasePath = "/fdx/v6"

var (
	specOnce sync.Once
	specDoc  *openapi3.T
	specPath string
	specErr  error
)

// specFile finds the spec from the working directory (a package directory
// inside the repository) by walking up to go.mod.
func specFile() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, filepath.FromSlash(SpecRelPath)), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Spec returns the loaded, validated spec, or skips t loudly when the file
// is absent. A spec file that exists but does not load fails t.
func Spec(t testing.TB) *openapi3.T {
	t.Helper()
	specOnce.Do(func() {
		specPath, specErr = specFile()
		if specErr != nil {
			return
		}
		if _, err := os.Stat(specPath); err != nil {
			specErr = fmt.Errorf("%w: %v", errSpecAbsent, err)
			return
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile(specPath)
		if err != nil {
			specErr = fmt.Errorf("load %s: %w", specPath, err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			specErr = fmt.Errorf("spec %s does not validate: %w", specPath, err)
			return
		}
		specDoc = doc
	})
	if errors.Is(specErr, errSpecAbsent) {
		t.Skipf("SKIPPING FDX SPEC VALIDATION: %s is absent (%v). Bodies are NOT checked against Core Exchange 6.4; "+
			"put the spec at ../shared/spec/ beside the repository to run these checks.", SpecRelPath, specErr)
	}
	if specErr != nil {
		t.Fatalf("FDX spec: %v", specErr)
	}
	return specDoc
}

var errSpecAbsent = errors.New("spec file absent")

// ValidateSchema checks body against components.schemas[name].
func ValidateSchema(t testing.TB, name string, body []byte) {
	t.Helper()
	doc := Spec(t)
	ref := doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		t.Fatalf("spec has no schema %q", name)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s body is not JSON: %v\n%s", name, err, body)
	}
	if err := ref.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		t.Fatalf("%s body is not valid against the spec: %v\nbody: %s", name, err, clip(body))
	}
}

// route finds the spec operation for a request under BasePath.
func route(doc *openapi3.T, r *http.Request) (*routers.Route, map[string]string, error) {
	rel, ok := strings.CutPrefix(r.URL.Path, BasePath)
	if !ok {
		return nil, nil, fmt.Errorf("%s is not under %s", r.URL.Path, BasePath)
	}
	got := strings.Split(strings.Trim(rel, "/"), "/")
	for _, tmpl := range doc.Paths.InMatchingOrder() {
		want := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(want) != len(got) {
			continue
		}
		params := map[string]string{}
		match := true
		for i, seg := range want {
			if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
				params[seg[1:len(seg)-1]] = got[i]
				continue
			}
			if seg != got[i] {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		item := doc.Paths.Value(tmpl)
		op := item.GetOperation(r.Method)
		if op == nil {
			return nil, nil, fmt.Errorf("spec has no %s %s", r.Method, tmpl)
		}
		return &routers.Route{Spec: doc, Path: tmpl, PathItem: item, Method: r.Method, Operation: op}, params, nil
	}
	return nil, nil, fmt.Errorf("spec has no path for %s", r.URL.Path)
}

// ValidateResponse checks a response of the API. A 200 is validated with
// openapi3filter against its operation (status, content type, body; the
// statement PDF by content type and signature). Any other status must carry
// an FDX error body, which the spec describes in prose only: an integer
// code, a string message and an optional string debugMessage, nothing more.
func ValidateResponse(t testing.TB, r *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	if status != http.StatusOK {
		CheckErrorBody(t, status, header, body)
		return
	}
	doc := Spec(t)
	rt, params, err := route(doc, r)
	if err != nil {
		t.Fatalf("%s %s answered 200 but: %v", r.Method, r.URL.Path, err)
	}
	if strings.HasPrefix(header.Get("Content-Type"), "application/pdf") {
		if !bytes.HasPrefix(body, []byte("%PDF-")) || !bytes.Contains(body, []byte("%%EOF")) {
			t.Fatalf("%s: application/pdf body is not a PDF: %q", r.URL.Path, clip(body))
		}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    r,
			PathParams: params,
			Route:      rt,
			Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: status,
		Header: header,
		Body:   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			// The PDF has no body decoder; it is checked above.
			ExcludeResponseBody: strings.HasPrefix(header.Get("Content-Type"), "application/pdf"),
		},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Fatalf("%s %s: response not valid against the spec: %v\nbody: %s", r.Method, r.URL, err, clip(body))
	}
	if strings.HasPrefix(header.Get("Content-Type"), "application/json") {
		CheckNoNull(t, body)
	}
}

// CheckErrorBody checks an FDX error response.
func CheckErrorBody(t testing.TB, status int, header http.Header, body []byte) {
	t.Helper()
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error %d has Content-Type %q; want application/json", status, ct)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("error %d body is not a JSON object: %v\n%s", status, err, clip(body))
	}
	code, ok := m["code"].(json.Number)
	if _, err := code.Int64(); !ok || err != nil {
		t.Fatalf("error %d body: code must be an integer: %s", status, body)
	}
	if msg, ok := m["message"].(string); !ok || msg == "" {
		t.Fatalf("error %d body: message must be a non-empty string: %s", status, body)
	}
	if dm, ok := m["debugMessage"]; ok {
		if _, ok := dm.(string); !ok {
			t.Fatalf("error %d body: debugMessage must be a string: %s", status, body)
		}
	}
	for k := range m {
		if k != "code" && k != "message" && k != "debugMessage" {
			t.Fatalf("error %d body: unexpected key %q: %s", status, k, body)
		}
	}
	CheckNoNull(t, body)
	for _, leak := range []string{"sqlite", "SELECT ", "INSERT ", "goroutine ", ".go:", "panic", "pgx", "SQLSTATE"} {
		if bytes.Contains(body, []byte(leak)) {
			t.Fatalf("error %d body leaks internals (%q): %s", status, leak, body)
		}
	}
}

// CheckNoNull fails t when the JSON body holds a null anywhere.
func CheckNoNull(t testing.TB, body []byte) {
	t.Helper()
	if p := FindNull(body); p != "" {
		t.Fatalf("null at %s in %s", p, clip(body))
	}
}

// FindNull returns the path of the first null in a JSON body, or "".
func FindNull(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "$ (not JSON)"
	}
	return findNull(v, "$")
}

func findNull(v any, path string) string {
	switch v := v.(type) {
	case nil:
		return path
	case map[string]any:
		for k, x := range v {
			if p := findNull(x, path+"."+k); p != "" {
				return p
			}
		}
	case []any:
		for i, x := range v {
			if p := findNull(x, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	}
	return ""
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}
