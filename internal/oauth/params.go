package oauth

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// MaxFormBytes caps request bodies of the form endpoints.
const MaxFormBytes = 64 << 10

// maxParamBytes caps any one parameter value; none legitimately comes near.
const maxParamBytes = 8 << 10

// params are a request's parameters, each present at most once (RFC 6749
// §3.1: "parameters MUST NOT be included more than once").
type params map[string]string

// rawParams are parsed but not yet checked for repeats, so that authorize
// can decide which repeats still allow a redirect.
type rawParams url.Values

// parseRaw parses an application/x-www-form-urlencoded string, refusing
// malformed encoding and values that are not UTF-8.
func parseRaw(s string) (rawParams, *Error) {
	v, err := url.ParseQuery(s)
	if err != nil {
		return nil, invalidRequest("malformed parameters: %s", queryErrorText(err))
	}
	for k, vs := range v {
		if !utf8.ValidString(k) {
			return nil, invalidRequest("a parameter name is not valid UTF-8")
		}
		for _, x := range vs {
			if !utf8.ValidString(x) {
				return nil, invalidRequest("parameter %s is not valid UTF-8", safeName(k))
			}
			if len(x) > maxParamBytes {
				return nil, invalidRequest("parameter %s is longer than %d bytes", safeName(k), maxParamBytes)
			}
		}
	}
	return rawParams(v), nil
}

// queryErrorText describes a url.ParseQuery error without echoing input.
func queryErrorText(err error) string {
	if _, ok := errors.AsType[url.EscapeError](err); ok {
		return "invalid percent-encoding"
	}
	return "cannot parse"
}

// safeName keeps parameter names printed in errors short and harmless.
func safeName(k string) string {
	if len(k) > 40 || strings.ContainsFunc(k, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "(unprintable)"
	}
	return k
}

// repeated returns the repeated parameter names among names (all when
// names is empty), sorted.
func (p rawParams) repeated(names ...string) []string {
	var out []string
	for k, vs := range p {
		if len(vs) > 1 && (len(names) == 0 || slices.Contains(names, k)) {
			out = append(out, safeName(k))
		}
	}
	sort.Strings(out)
	return out
}

// single checks for repeats and flattens.
func (p rawParams) single() (params, *Error) {
	if rep := p.repeated(); len(rep) > 0 {
		return nil, invalidRequest("parameter %s is repeated", strings.Join(rep, ", "))
	}
	out := make(params, len(p))
	for k, vs := range p {
		out[k] = vs[0]
	}
	return out, nil
}

// first returns the first value of k (for fields read before repeats are
// judged).
func (p rawParams) first(k string) string {
	if vs := p[k]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// readForm reads a POST body that must be application/x-www-form-urlencoded
// and at most MaxFormBytes.
func readForm(w http.ResponseWriter, r *http.Request) (rawParams, *Error) {
	ct := r.Header.Get("Content-Type")
	mt, ctParams, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("Content-Type must be application/x-www-form-urlencoded")
	}
	if cs, ok := ctParams["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, invalidRequest("the form must be UTF-8")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxFormBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			e := invalidRequest("request body larger than %d bytes", MaxFormBytes)
			e.Status = http.StatusRequestEntityTooLarge
			return nil, e
		}
		return nil, invalidRequest("cannot read the request body")
	}
	return parseRaw(string(body))
}
