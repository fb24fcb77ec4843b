package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/fdxd/fdxd/internal/store"
)

var _ store.ObserveStore = (*Store)(nil)

const recordColumns = `seq, request_id, at, route, method, path, status, duration_us, remote_addr, user_agent,
	client_id, subject, state, oauth_session_id, error, error_description, user_decision, failure, headers`

func scanRecord(row scanner) (store.RequestRecord, error) {
	var (
		r          store.RequestRecord
		durationUS int64
	)
	err := row.Scan(&r.Seq, &r.RequestID, scanTime(&r.Time), &r.Route, &r.Method, &r.Path, &r.Status, &durationUS,
		&r.RemoteAddr, &r.UserAgent, &r.ClientID, &r.Subject, &r.State, &r.OAuthSessionID, &r.Error,
		&r.ErrorDescription, &r.UserDecision, &r.Failure, &r.Headers)
	r.Duration = time.Duration(durationUS) * time.Microsecond
	if len(r.Headers) == 0 {
		r.Headers = nil
	}
	return r, err
}

func (s *Store) InsertRequestRecords(ctx context.Context, records []store.RequestRecord) error {
	if len(records) == 0 {
		return nil
	}
	rows := make([][]any, len(records))
	for i, r := range records {
		headers := r.Headers
		if headers == nil {
			headers = map[string]string{}
		}
		rows[i] = []any{r.RequestID, keyTime(r.Time), r.Route, r.Method, r.Path, int32(r.Status),
			r.Duration.Microseconds(), r.RemoteAddr, r.UserAgent, r.ClientID, r.Subject, r.State, r.OAuthSessionID,
			r.Error, r.ErrorDescription, r.UserDecision, r.Failure, headers}
	}
	// One COPY is one statement, so the batch is stored whole or not at all.
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"request_records"}, []string{"request_id", "at", "route", "method",
		"path", "status", "duration_us", "remote_addr", "user_agent", "client_id", "subject", "state",
		"oauth_session_id", "error", "error_description", "user_decision", "failure", "headers"}, pgx.CopyFromRows(rows))
	return s.fail("insert request records", err)
}

func (s *Store) GetRequestRecord(ctx context.Context, requestID string) (store.RequestRecord, error) {
	r, err := scanRecord(s.pool.QueryRow(ctx, `SELECT `+recordColumns+` FROM request_records
		WHERE request_id = $1 ORDER BY seq DESC LIMIT 1`, requestID))
	return r, s.fail("get request record", err)
}

// recordWhere builds the WHERE clause of q (without paging and limit),
// numbering its parameters after the first skip ones.
func recordWhere(q store.RecordQuery, skip int) (string, []any) {
	var (
		conds []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(skip+len(args))
	}
	for _, f := range []struct{ col, v string }{{"request_id", q.RequestID}, {"state", q.State}, {"subject", q.Subject},
		{"client_id", q.ClientID}, {"route", q.Route}, {"oauth_session_id", q.OAuthSessionID}} {
		if f.v != "" {
			conds = append(conds, f.col+" = "+arg(f.v))
		}
	}
	if q.StatusMin > 0 {
		conds = append(conds, "status >= "+arg(q.StatusMin))
	}
	if q.StatusMax > 0 {
		conds = append(conds, "status <= "+arg(q.StatusMax))
	}
	if q.FailuresOnly {
		conds = append(conds, "failure")
	}
	if !q.Since.IsZero() {
		conds = append(conds, "at >= "+arg(ts(q.Since)))
	}
	if !q.Until.IsZero() {
		conds = append(conds, "at < "+arg(ts(q.Until)))
	}
	if q.BeforeSeq > 0 {
		conds = append(conds, "seq < "+arg(q.BeforeSeq))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// defaultLimit applies the query types' rule: 0 or less means def.
func defaultLimit(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

func (s *Store) ListRequestRecords(ctx context.Context, q store.RecordQuery) ([]store.RequestRecord, error) {
	where, args := recordWhere(q, 0)
	args = append(args, defaultLimit(q.Limit, 100))
	rows, err := s.pool.Query(ctx, `SELECT `+recordColumns+` FROM request_records`+where+
		` ORDER BY seq DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, s.fail("list request records", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.RequestRecord, error) { return scanRecord(row) })
	return out, s.fail("list request records", err)
}

func (s *Store) RequestRecordStats(ctx context.Context, q store.RecordStatsQuery) ([]store.RecordBucket, error) {
	if q.Bucket < time.Microsecond || q.Since.IsZero() || !q.Until.After(q.Since) {
		return nil, errors.New("postgres: request record stats: need a bucket of at least 1µs and Since < Until")
	}
	// date_bin puts each record in the bucket of width $1 counted from
	// Since ($2), whose start it returns.
	where, args := recordWhere(store.RecordQuery{Route: q.Route, ClientID: q.ClientID, Since: q.Since, Until: q.Until}, 2)
	args = append([]any{pgtype.Interval{Microseconds: q.Bucket.Microseconds(), Valid: true}, ts(q.Since)}, args...)
	rows, err := s.pool.Query(ctx, `SELECT date_bin($1, at, $2) AS bucket, count(*), count(*) FILTER (WHERE failure)
		FROM request_records`+where+` GROUP BY bucket ORDER BY bucket`, args...)
	if err != nil {
		return nil, s.fail("request record stats", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.RecordBucket, error) {
		var b store.RecordBucket
		err := row.Scan(scanTime(&b.Start), &b.Requests, &b.Failures)
		return b, err
	})
	return out, s.fail("request record stats", err)
}

func (s *Store) DeleteRequestRecords(ctx context.Context, r store.RecordRetention) (int64, error) {
	var deleted int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// keepCut is the highest seq beyond the newest r.Keep (0: none).
		var keepCut int64
		if r.Keep > 0 {
			err := tx.QueryRow(ctx, `SELECT seq FROM request_records ORDER BY seq DESC LIMIT 1 OFFSET $1`, r.Keep).Scan(&keepCut)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		if keepCut == 0 && r.Before.IsZero() {
			return nil
		}
		// keyTime(zero) is -infinity: no record is older than that.
		tag, err := tx.Exec(ctx, `DELETE FROM request_records WHERE seq IN
			(SELECT seq FROM request_records WHERE at < $1 OR seq <= $2 ORDER BY seq LIMIT $3)`,
			keyTime(r.Before), keepCut, defaultLimit(r.Limit, 5000))
		deleted = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, s.fail("delete request records", err)
	}
	return deleted, nil
}
