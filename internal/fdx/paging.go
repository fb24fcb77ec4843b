package fdx

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/fdxd/fdxd/internal/fdx/model"
)

// Cursors are the opaque nextOffset / nextPageKey values: the sort key of
// the last row of a page, bound to what was listed (list kind, user,
// account, date window) and MAC'd with the server's cursor key. A changed
// byte, a cursor of another list, account or user, or one made with another
// key is refused with 400.

type listKind byte

const (
	listAccounts listKind = iota + 1
	listTransactions
	listStatements
	listPaymentNetworks
)

const cursorVersion = 1

// cursor is a position in a list.
type cursor struct {
	kind listKind
	// scope binds the cursor to the user and account it was made for.
	scope [8]byte
	// window is the date window (days since the epoch), for dated lists.
	from, to int64
	// at and id are the last row's sort key.
	at int64
	id string
}

func scopeOf(userID, accountID string) [8]byte {
	h := sha256.Sum256([]byte(userID + "\x00" + accountID))
	var s [8]byte
	copy(s[:], h[:8])
	return s
}

const macSize = 16

func (c cursor) encode(key []byte) string {
	b := []byte{cursorVersion, byte(c.kind)}
	b = append(b, c.scope[:]...)
	b = binary.AppendVarint(b, c.from)
	b = binary.AppendVarint(b, c.to)
	b = binary.AppendVarint(b, c.at)
	b = binary.AppendUvarint(b, uint64(len(c.id)))
	b = append(b, c.id...)
	m := hmac.New(sha256.New, key)
	m.Write(b)
	b = m.Sum(b)[:len(b)+macSize]
	return base64.RawURLEncoding.EncodeToString(b)
}

var errBadCursor = errors.New("offset is not a cursor this server issued for this list")

func decodeCursor(s string, key []byte, kind listKind, scope [8]byte) (cursor, error) {
	var c cursor
	if len(s) > 1024 {
		return c, errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2+8+macSize {
		return c, errBadCursor
	}
	payload, mac := b[:len(b)-macSize], b[len(b)-macSize:]
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	if !hmac.Equal(mac, m.Sum(nil)[:macSize]) {
		return c, errBadCursor
	}
	if payload[0] != cursorVersion || listKind(payload[1]) != kind || [8]byte(payload[2:10]) != scope {
		return c, errBadCursor
	}
	rest := payload[10:]
	next := func() int64 {
		v, n := binary.Varint(rest)
		if n <= 0 {
			err = errBadCursor
			return 0
		}
		rest = rest[n:]
		return v
	}
	c.kind, c.scope = kind, scope
	c.from, c.to, c.at = next(), next(), next()
	l, n := binary.Uvarint(rest)
	if err != nil || n <= 0 || uint64(len(rest)-n) != l {
		return c, errBadCursor
	}
	c.id = string(rest[n:])
	return c, nil
}

// pageRequest is what the paging parameters of a request say, and the
// scope a next page's cursor is bound to.
type pageRequest struct {
	limit  int
	cursor *cursor
	scope  [8]byte
}

// readPage parses limit and offset/pageKey.
func (a *API) readPage(r *http.Request, kind listKind, scope [8]byte) (pageRequest, *apiError) {
	q := r.URL.Query()
	p := pageRequest{limit: a.cfg.DefaultLimit, scope: scope}
	if vs, ok := q["limit"]; ok {
		if len(vs) != 1 {
			return p, errInvalidInput("limit given more than once")
		}
		n, err := strconv.Atoi(vs[0])
		if err != nil || n < 1 {
			return p, errInvalidInput(fmt.Sprintf("limit must be a positive integer (at most %d is served per page)", a.cfg.MaxLimit))
		}
		p.limit = min(n, a.cfg.MaxLimit)
	}
	offset, pageKey := q.Get("offset"), q.Get("pageKey")
	if len(q["offset"]) > 1 || len(q["pageKey"]) > 1 || (offset != "" && pageKey != "" && offset != pageKey) {
		return p, errInvalidInput("give one offset (or pageKey), once")
	}
	if offset == "" {
		offset = pageKey
	}
	if offset != "" {
		c, err := decodeCursor(offset, a.cfg.CursorKey, kind, scope)
		if err != nil {
			return p, errInvalidInput(err.Error())
		}
		p.cursor = &c
	}
	return p, nil
}

// nextPage is the page object of a page that has a successor; nil on the
// last page, so that nextOffset is never sent there.
func (a *API) nextPage(c cursor, more bool) *model.PageMetadata {
	if !more {
		return nil
	}
	s := c.encode(a.cfg.CursorKey)
	return &model.PageMetadata{NextOffset: s, NextPageKey: s}
}

// window is an inclusive date range.
type window struct{ from, to model.Date }

func dayNumber(d model.Date) int64 { return d.In(time.UTC).Unix() / 86400 }

func dateOfDay(n int64) model.Date { return model.DateOf(time.Unix(n*86400, 0).UTC()) }

// readWindow applies the spec's date rules to startTime/endTime (and their
// synonyms startDate/endDate): both or neither; neither gives the default
// window; start after end, start before the supported history, or only one
// of the two is 703; a malformed date is 702. A cursor carries the window of
// its first page, which a request that names no dates continues with.
func (a *API) readWindow(r *http.Request, defaultDays int, c *cursor) (window, *apiError) {
	q := r.URL.Query()
	param := func(a, b string) (string, *apiError) {
		va, vb := q.Get(a), q.Get(b)
		if len(q[a]) > 1 || len(q[b]) > 1 || (va != "" && vb != "" && va != vb) {
			return "", errDateRange(fmt.Sprintf("%s and %s disagree or repeat", a, b))
		}
		if va == "" {
			return vb, nil
		}
		return va, nil
	}
	startS, e := param("startTime", "startDate")
	if e != nil {
		return window{}, e
	}
	endS, e := param("endTime", "endDate")
	if e != nil {
		return window{}, e
	}
	today := model.DateOf(a.cfg.Now().In(a.cfg.Location))
	earliest := today.AddMonths(-a.cfg.HistoryMonths)
	var w window
	switch {
	case startS == "" && endS == "":
		if c != nil {
			return window{dateOfDay(c.from), dateOfDay(c.to)}, nil
		}
		w = window{today.AddDays(-(defaultDays - 1)), today}
		if w.from.Before(earliest) {
			w.from = earliest
		}
		return w, nil
	case startS == "" || endS == "":
		return w, errDateRange("give both a start and an end date, or neither")
	}
	var err error
	if w.from, err = model.ParseDate(startS); err != nil {
		return w, errInvalidDate("start: " + err.Error())
	}
	if w.to, err = model.ParseDate(endS); err != nil {
		return w, errInvalidDate("end: " + err.Error())
	}
	switch {
	case w.from.After(w.to):
		return w, errDateRange("the start date is after the end date")
	case w.from.Before(earliest):
		return w, errDateRange(fmt.Sprintf("the start date is before the supported history (%d months: %s or later)", a.cfg.HistoryMonths, earliest))
	}
	if c != nil && (dayNumber(w.from) != c.from || dayNumber(w.to) != c.to) {
		return w, errInvalidInput("the offset belongs to another date range")
	}
	return w, nil
}

// times turns a date window into [from, to) instants in the provider's zone.
func (a *API) times(w window) (time.Time, time.Time) {
	return w.from.In(a.cfg.Location), w.to.AddDays(1).In(a.cfg.Location)
}
