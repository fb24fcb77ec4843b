package model

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Amount is a monetary amount in hundredths of the currency unit, so that
// sums of transactions and balances are exact. It encodes as a JSON number
// with exactly two decimal places ("192.00"), as Plaid expects.
type Amount int64

// Cents returns a as hundredths.
func (a Amount) Cents() int64 { return int64(a) }

// Abs returns the absolute value of a.
func (a Amount) Abs() Amount {
	if a < 0 {
		return -a
	}
	return a
}

// String formats a as "-1234.56".
func (a Amount) String() string { return string(a.appendText(nil)) }

func (a Amount) appendText(b []byte) []byte {
	v := int64(a)
	if v < 0 {
		b = append(b, '-')
		if v == math.MinInt64 {
			// Not representable as a positive int64; never produced by ParseAmount.
			return append(b, "92233720368547758.08"...)
		}
		v = -v
	}
	b = strconv.AppendInt(b, v/100, 10)
	b = append(b, '.', byte('0'+v%100/10), byte('0'+v%10))
	return b
}

// ParseAmount parses a decimal number with at most two fractional digits
// ("12", "-3.5", "192.00"). Exponents and more precision are refused rather
// than rounded: an amount is never silently changed.
func ParseAmount(s string) (Amount, error) {
	orig := s
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (hasFrac && (frac == "" || !allDigits(frac))) {
		return 0, fmt.Errorf("%q is not a decimal amount", orig)
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > 2 {
		return 0, fmt.Errorf("%q has more than two decimal places", orig)
	}
	if len(whole) > 16 {
		return 0, fmt.Errorf("%q is too large", orig)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a decimal amount", orig)
	}
	f := int64(0)
	for i := range 2 {
		f *= 10
		if i < len(frac) {
			f += int64(frac[i] - '0')
		}
	}
	v := w*100 + f
	if neg {
		v = -v
	}
	return Amount(v), nil
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Number is a JSON number that is not money in the account's currency:
// interest rates, unit prices, quantities. It encodes in the shortest form
// that round-trips.
type Number float64

func (n Number) valid() bool {
	f := float64(n)
	return !math.IsNaN(f) && !math.IsInf(f, 0)
}

func (n Number) appendText(b []byte) []byte {
	return strconv.AppendFloat(b, float64(n), 'f', -1, 64)
}

// Date is a calendar date without a time zone, encoded as "YYYY-MM-DD".
// The zero Date means "no value": an optional Date field that is zero is
// omitted.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses "YYYY-MM-DD" strictly: exactly ten characters, a real
// calendar day.
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || !allDigits(s[0:4]) || !allDigits(s[5:7]) || !allDigits(s[8:10]) {
		return Date{}, fmt.Errorf("%q is not a date in the form YYYY-MM-DD", s)
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a calendar date", s)
	}
	return DateOf(t), nil
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d is a real calendar date in years 1–9999.
func (d Date) Valid() bool {
	if d.Year < 1 || d.Year > 9999 {
		return false
	}
	return DateOf(d.In(time.UTC)) == d
}

// In returns the first instant of d in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// AddDays returns d moved by n days.
func (d Date) AddDays(n int) Date { return DateOf(d.In(time.UTC).AddDate(0, 0, n)) }

// AddMonths returns d moved by n months, normalized like time.AddDate.
func (d Date) AddMonths(n int) Date { return DateOf(d.In(time.UTC).AddDate(0, n, 0)) }

// Before reports whether d is earlier than e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is later than e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmpInt(d.Year, e.Year)
	case d.Month != e.Month:
		return cmpInt(int(d.Month), int(e.Month))
	default:
		return cmpInt(d.Day, e.Day)
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// String formats d as "YYYY-MM-DD".
func (d Date) String() string { return string(d.appendText(nil)) }

func (d Date) appendText(b []byte) []byte {
	b = appendPadded(b, d.Year, 4)
	b = append(b, '-')
	b = appendPadded(b, int(d.Month), 2)
	b = append(b, '-')
	return appendPadded(b, d.Day, 2)
}

func appendPadded(b []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for range width - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}

// Timestamp is an instant with its UTC offset, encoded as RFC 3339 with
// milliseconds ("2021-07-15T14:46:41.375Z", "2024-07-15T14:46:41.375+02:00").
// The zero Timestamp means "no value".
type Timestamp struct{ time.Time }

// TimestampOf wraps t.
func TimestampOf(t time.Time) Timestamp { return Timestamp{t} }

// timestampLayout always carries an offset and milliseconds.
const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

// ParseTimestamp parses an RFC 3339 date-time; the offset is mandatory.
func ParseTimestamp(s string) (Timestamp, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Timestamp{}, fmt.Errorf("%q is not an RFC 3339 date-time with an offset", s)
	}
	return Timestamp{t}, nil
}

// Valid reports whether ts can be encoded: years 1–9999.
func (ts Timestamp) Valid() bool {
	y := ts.Year()
	return !ts.IsZero() && y >= 1 && y <= 9999
}

func (ts Timestamp) appendText(b []byte) []byte { return ts.AppendFormat(b, timestampLayout) }

// String formats ts as the API does.
func (ts Timestamp) String() string { return string(ts.appendText(nil)) }

// errNotSet marks a required value that has none (a zero Date or
// Timestamp in a required field).
var errNotSet = errors.New("required value missing")
