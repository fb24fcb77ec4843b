package fdx

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/fdxd/fdxd/internal/fdx/model"
	"github.com/fdxd/fdxd/internal/observe"
)

// apiError is an FDX error answer: HTTP status, FDX code, a message for the
// end user and a debug message for the aggregator's engineers. Messages
// never carry SQL, stack traces or secrets.
type apiError struct {
	status  int
	code    int64
	message string
	debug   string
	header  http.Header
}

// The FDX error codes this API answers (Core Exchange's error tables and
// the 2022 FDX schemas; see core-exchange-notes.md §1.3).
const (
	codeInvalidInput     = 401
	codeNotAuthorized    = 602
	codeAccountNotFound  = 701
	codeInvalidDate      = 702
	codeInvalidDateRange = 703
	codeAccountClosed    = 705
	codeForbidden        = 706
	codeNotImplemented   = 1106
	codeDataNotFound     = 1107
	codeInternal         = 500
	codeUnavailable      = 503
)

func errUnauthorized(debug string) *apiError {
	h := http.Header{}
	h.Set("WWW-Authenticate", `Bearer realm="fdx", error="invalid_token", error_description="`+debug+`"`)
	return &apiError{status: http.StatusUnauthorized, code: codeNotAuthorized, message: "Customer not authorized", debug: debug, header: h}
}

func errAccountNotFound() *apiError {
	return &apiError{status: http.StatusNotFound, code: codeAccountNotFound, message: "Account not found",
		debug: "no account with this accountId is available to this token"}
}

func errInvalidInput(debug string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeInvalidInput, message: "Invalid input", debug: debug}
}

func errInvalidDate(debug string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeInvalidDate, message: "Invalid start or end date", debug: debug}
}

func errDateRange(debug string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeInvalidDateRange, message: "Invalid date range", debug: debug}
}

func errClosed() *apiError {
	return &apiError{status: http.StatusConflict, code: codeAccountClosed, message: "Account is closed",
		debug: "Operation is not supported by the closed account"}
}

func errForbidden(debug string) *apiError {
	return &apiError{status: http.StatusForbidden, code: codeForbidden, message: "Access forbidden", debug: debug}
}

func errNoData(debug string) *apiError {
	return &apiError{status: http.StatusNotFound, code: codeDataNotFound, message: "Data not found", debug: debug}
}

func errInternal() *apiError {
	return &apiError{status: http.StatusInternalServerError, code: codeInternal, message: "Internal server error",
		debug: "the request failed on the provider's side; quote the X-Request-ID header to the provider"}
}

func errUnavailable(debug string, retryAfter int) *apiError {
	h := http.Header{}
	h.Set("Retry-After", strconv.Itoa(retryAfter))
	return &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable, message: "Scheduled Maintenance", debug: debug, header: h}
}

// writeError is the one writer of FDX error bodies. It records the FDX code
// on the request's Record for the log line.
func writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	observe.From(r.Context()).SetError(strconv.FormatInt(e.code, 10), e.debug)
	for k, v := range e.header {
		w.Header()[k] = v
	}
	body, err := model.Marshal(model.ErrorBody{Code: e.code, Message: e.message, DebugMessage: e.debug})
	if err != nil {
		// ErrorBody has no rule a message could break.
		body = []byte(`{"code":500,"message":"Internal server error"}`)
	}
	writeBody(w, r, e.status, "application/json", body)
}

// bodyBuffers recycles the buffers bodies are encoded into: a
// transactions page is tens of kilobytes, and growing a fresh buffer to that
// size for every request cost more than the encoding itself.
var bodyBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBody keeps an occasional huge page from pinning its buffer.
const maxPooledBody = 1 << 20

func writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	buf := bodyBuffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooledBody {
			bodyBuffers.Put(buf)
		}
	}()
	body, err := model.Append((*buf)[:0], v)
	*buf = body
	if err != nil {
		// Stored data that no longer passes the encoder's rules: refuse to
		// send it rather than send an invalid body.
		observe.From(r.Context()).SetError(strconv.Itoa(codeInternal), "response failed FDX validation: "+err.Error())
		writeError(w, r, errInternal())
		return
	}
	writeBody(w, r, http.StatusOK, "application/json", body)
}

func writeBody(w http.ResponseWriter, r *http.Request, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// RefuseWithoutClientCertificate answers an API request that came without
// the client certificate mutual TLS requires.
// A 401 must carry a challenge (RFC 9110 §15.5.2): the Bearer one, since
// the token is what follows once the certificate is there.
func RefuseWithoutClientCertificate(w http.ResponseWriter, r *http.Request) {
	h := http.Header{}
	h.Set("WWW-Authenticate", `Bearer realm="fdx"`)
	writeError(w, r, &apiError{status: http.StatusUnauthorized, code: codeNotAuthorized, message: "Customer not authorized",
		debug: "a client certificate (mutual TLS) is required", header: h})
}
