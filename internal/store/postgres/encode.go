package postgres

import (
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// ts stores a time as timestamptz at microsecond precision; the zero time is
// NULL.
func ts(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: t.Truncate(time.Microsecond), Valid: true}
}

// keyTime stores a time that orders keyset pages, in a NOT NULL column: the
// zero time is -infinity, which sorts before every instant (as SQLite's 0
// does) where NULL would drop out of row-value comparisons.
func keyTime(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
	}
	return ts(t)
}

// utcTime scans a timestamptz into a time.Time: NULL (and the -infinity of
// keyTime) become the zero time, anything else the instant in UTC.
type utcTime time.Time

func scanTime(t *time.Time) *utcTime { return (*utcTime)(t) }

func (u *utcTime) ScanTimestamptz(v pgtype.Timestamptz) error {
	if !v.Valid || v.InfinityModifier != pgtype.Finite {
		*u = utcTime{}
		return nil
	}
	*u = utcTime(v.Time.UTC())
	return nil
}

// list stores a string slice as a text[]; nil becomes the empty array, since
// list columns are never NULL.
func list(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// nilIfEmpty reverses list: the empty array reads back as nil, as it does
// from every backend.
func nilIfEmpty(v []string) []string {
	if len(v) == 0 {
		return nil
	}
	return v
}

// scanner is satisfied by pgx.Row and pgx.Rows.
type scanner interface {
	Scan(dest ...any) error
}
