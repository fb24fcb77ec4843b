package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fdxd/fdxd/internal/store"
)

const recordColumns = `seq, request_id, at, route, method, path, status, duration_us, remote_addr, user_agent,
	client_id, subject, state, oauth_session_id, error, error_description, user_decision, failure, headers`

func scanRecord(row scanner) (store.RequestRecord, error) {
	var (
		r                     store.RequestRecord
		at, durationUS        int64
		userDecision, failure int64
		headers               string
	)
	err := row.Scan(&r.Seq, &r.RequestID, &at, &r.Route, &r.Method, &r.Path, &r.Status, &durationUS, &r.RemoteAddr,
		&r.UserAgent, &r.ClientID, &r.Subject, &r.State, &r.OAuthSessionID, &r.Error, &r.ErrorDescription,
		&userDecision, &failure, &headers)
	if err != nil {
		return r, err
	}
	r.Time = fromMicros(at)
	r.Duration = time.Duration(durationUS) * time.Microsecond
	r.UserDecision, r.Failure = userDecision == 1, failure == 1
	if headers != "" && headers != "{}" {
		if err := json.Unmarshal([]byte(headers), &r.Headers); err != nil {
			return r, fmt.Errorf("decode headers of %s: %w", r.RequestID, err)
		}
	}
	return r, nil
}

// insertChunk is how many records one INSERT statement carries: per-row
// statement overhead is most of a row's cost in the embedded engine.
const insertChunk = 32

// recordInsertColumns are the columns InsertRequestRecords writes.
const recordInsertColumns = 18

func (s *Store) InsertRequestRecords(ctx context.Context, records []store.RequestRecord) error {
	if len(records) == 0 {
		return nil
	}
	err := s.rec.tx(ctx, func(tx *sql.Tx) error {
		var full *sql.Stmt
		if len(records) >= insertChunk {
			var err error
			if full, err = tx.PrepareContext(ctx, insertStatement(insertChunk)); err != nil {
				return err
			}
			defer full.Close()
		}
		args := make([]any, 0, insertChunk*recordInsertColumns)
		for start := 0; start < len(records); start += insertChunk {
			chunk := records[start:min(start+insertChunk, len(records))]
			args = args[:0]
			for _, r := range chunk {
				headers := "{}"
				if len(r.Headers) > 0 {
					headers = string(appendHeaders(nil, r.Headers))
				}
				args = append(args, r.RequestID, micros(r.Time), r.Route, r.Method, r.Path, r.Status,
					r.Duration.Microseconds(), r.RemoteAddr, r.UserAgent, r.ClientID, r.Subject, r.State, r.OAuthSessionID,
					r.Error, r.ErrorDescription, boolInt(r.UserDecision), boolInt(r.Failure), headers)
			}
			var err error
			if len(chunk) == insertChunk {
				_, err = full.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, insertStatement(len(chunk)), args...)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	return translate("insert request records", err)
}

// appendHeaders appends h as a JSON object with sorted keys, as
// json.Marshal writes it, without reflection: it runs for every record.
func appendHeaders(b []byte, h map[string]string) []byte {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, h[k])
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string; plain printable ASCII (the
// usual header) is copied as it is, anything else goes through
// encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// insertStatement is an INSERT of n records. OR ROLLBACK spares SQLite
// the statement journal a multi-row INSERT needs to undo just itself: any
// failure ends the whole batch's transaction anyway.
func insertStatement(n int) string {
	row := "(" + strings.Repeat("?, ", recordInsertColumns-1) + "?)"
	return `INSERT OR ROLLBACK INTO request_records (request_id, at, route, method, path, status, duration_us, remote_addr,
		user_agent, client_id, subject, state, oauth_session_id, error, error_description, user_decision, failure, headers)
		VALUES ` + strings.Repeat(row+", ", n-1) + row
}

func (s *Store) GetRequestRecord(ctx context.Context, requestID string) (store.RequestRecord, error) {
	r, err := scanRecord(s.rec.read.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM request_records
		WHERE request_id = ? ORDER BY seq DESC LIMIT 1`, requestID))
	return r, translate("get request record", err)
}

// recordWhere builds the WHERE clause of q (without paging and limit).
func recordWhere(q store.RecordQuery) (string, []any) {
	var (
		conds []string
		args  []any
	)
	eq := func(col, v string) {
		if v != "" {
			conds = append(conds, col+" = ?")
			args = append(args, v)
		}
	}
	eq("request_id", q.RequestID)
	eq("state", q.State)
	eq("subject", q.Subject)
	eq("client_id", q.ClientID)
	eq("route", q.Route)
	eq("oauth_session_id", q.OAuthSessionID)
	if q.StatusMin > 0 {
		conds = append(conds, "status >= ?")
		args = append(args, q.StatusMin)
	}
	if q.StatusMax > 0 {
		conds = append(conds, "status <= ?")
		args = append(args, q.StatusMax)
	}
	if q.FailuresOnly {
		conds = append(conds, "failure = 1")
	}
	if !q.Since.IsZero() {
		conds = append(conds, "at >= ?")
		args = append(args, micros(q.Since))
	}
	if !q.Until.IsZero() {
		conds = append(conds, "at < ?")
		args = append(args, micros(q.Until))
	}
	if q.BeforeSeq > 0 {
		conds = append(conds, "seq < ?")
		args = append(args, q.BeforeSeq)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func (s *Store) ListRequestRecords(ctx context.Context, q store.RecordQuery) ([]store.RequestRecord, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	where, args := recordWhere(q)
	rows, err := s.rec.read.QueryContext(ctx, `SELECT `+recordColumns+` FROM request_records`+where+
		` ORDER BY seq DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, translate("list request records", err)
	}
	defer rows.Close()
	var out []store.RequestRecord
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, translate("list request records", err)
		}
		out = append(out, r)
	}
	return out, translate("list request records", rows.Err())
}

func (s *Store) RequestRecordStats(ctx context.Context, q store.RecordStatsQuery) ([]store.RecordBucket, error) {
	if q.Bucket < time.Microsecond || q.Since.IsZero() || !q.Until.After(q.Since) {
		return nil, errors.New("sqlite: request record stats: need a bucket of at least 1µs and Since < Until")
	}
	since, width := micros(q.Since), q.Bucket.Microseconds()
	where, args := recordWhere(store.RecordQuery{Route: q.Route, ClientID: q.ClientID, Since: q.Since, Until: q.Until})
	rows, err := s.rec.read.QueryContext(ctx, `SELECT (at - ?) / ? AS bucket, count(*), coalesce(sum(failure), 0)
		FROM request_records`+where+` GROUP BY bucket ORDER BY bucket`, append([]any{since, width}, args...)...)
	if err != nil {
		return nil, translate("request record stats", err)
	}
	defer rows.Close()
	var out []store.RecordBucket
	for rows.Next() {
		var (
			bucket int64
			b      store.RecordBucket
		)
		if err := rows.Scan(&bucket, &b.Requests, &b.Failures); err != nil {
			return nil, translate("request record stats", err)
		}
		b.Start = fromMicros(since + bucket*width)
		out = append(out, b)
	}
	return out, translate("request record stats", rows.Err())
}

func (s *Store) DeleteRequestRecords(ctx context.Context, r store.RecordRetention) (int64, error) {
	limit := r.Limit
	if limit <= 0 {
		limit = 5000
	}
	var deleted int64
	err := s.rec.tx(ctx, func(tx *sql.Tx) error {
		// keepCut is the highest seq beyond the newest r.Keep (0: none).
		var keepCut int64
		if r.Keep > 0 {
			err := tx.QueryRowContext(ctx, `SELECT seq FROM request_records ORDER BY seq DESC LIMIT 1 OFFSET ?`,
				r.Keep).Scan(&keepCut)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		before := int64(0)
		if !r.Before.IsZero() {
			before = micros(r.Before)
		}
		if keepCut == 0 && before == 0 {
			return nil
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM request_records WHERE seq IN
			(SELECT seq FROM request_records WHERE at < ? OR seq <= ? ORDER BY seq LIMIT ?)`, before, keepCut, limit)
		if err != nil {
			return err
		}
		deleted, err = res.RowsAffected()
		return err
	})
	return deleted, translate("delete request records", err)
}

var _ store.ObserveStore = (*Store)(nil)
