package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/fdxd/fdxd/internal/store"
)

// trafficChunk is how many rows one upsert statement carries.
const trafficChunk = 64

const (
	alertBucketColumns   = `start, width_ns, route, client_id, error, requests, failures, first_failure, last_failure`
	trafficBucketColumns = `start, width_ns, route, latency_le_us, requests, failures`
)

// Adding into a row: the counts add up, the failure times widen (0 is
// "none" and never wins a comparison).
const (
	alertBucketUpsert = ` ON CONFLICT (start, width_ns, route, client_id, error) DO UPDATE SET
		requests = requests + excluded.requests,
		failures = failures + excluded.failures,
		first_failure = CASE WHEN excluded.first_failure = 0 OR (first_failure <> 0 AND first_failure <= excluded.first_failure)
			THEN first_failure ELSE excluded.first_failure END,
		last_failure = max(last_failure, excluded.last_failure)`
	trafficBucketUpsert = ` ON CONFLICT (start, width_ns, route, latency_le_us) DO UPDATE SET
		requests = requests + excluded.requests,
		failures = failures + excluded.failures`
	addIssueCountSQL = `UPDATE issues SET failures = failures + ?, requests = requests + ?
		WHERE issue_key = ? AND resolved_at = 0`
)

// AddTraffic adds the batch in one write transaction. Transactions on the
// one writer connection (and, across processes, SQLite's write lock)
// follow one another, so nothing is lost between concurrent adders.
func (s *Store) AddTraffic(ctx context.Context, b store.TrafficBatch) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if len(b.Alerts)+len(b.Traffic)+len(b.Issues) == 0 {
		return nil
	}
	b = b.Merged()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(b.Alerts); start += trafficChunk {
			chunk := b.Alerts[start:min(start+trafficChunk, len(b.Alerts))]
			args := make([]any, 0, len(chunk)*9)
			for _, c := range chunk {
				args = append(args, micros(c.Start), int64(c.Width), c.Route, c.ClientID, c.Error, c.Requests, c.Failures,
					micros(c.FirstFailure), micros(c.LastFailure))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_buckets (`+alertBucketColumns+`) VALUES `+
				placeholders(len(chunk), 9)+alertBucketUpsert, args...); err != nil {
				return err
			}
		}
		for start := 0; start < len(b.Traffic); start += trafficChunk {
			chunk := b.Traffic[start:min(start+trafficChunk, len(b.Traffic))]
			args := make([]any, 0, len(chunk)*6)
			for _, c := range chunk {
				args = append(args, micros(c.Start), int64(c.Width), c.Route, c.LatencyLE.Microseconds(), c.Requests, c.Failures)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO traffic_buckets (`+trafficBucketColumns+`) VALUES `+
				placeholders(len(chunk), 6)+trafficBucketUpsert, args...); err != nil {
				return err
			}
		}
		if len(b.Issues) == 0 {
			return nil
		}
		update, err := tx.PrepareContext(ctx, addIssueCountSQL)
		if err != nil {
			return err
		}
		defer update.Close()
		for _, c := range b.Issues {
			if _, err := update.ExecContext(ctx, c.Failures, c.Requests, c.Key); err != nil {
				return err
			}
		}
		return nil
	})
	return translate("add traffic", err)
}

// placeholders is "(?, …), (?, …)" for rows of n columns.
func placeholders(rows, n int) string {
	row := "(" + strings.Repeat("?, ", n-1) + "?)"
	return strings.Repeat(row+", ", rows-1) + row
}

// alertFilter is the WHERE clause of q and its arguments.
func alertFilter(q store.AlertCountQuery) (string, []any) {
	where := `start >= ? AND start < ? AND width_ns = ?`
	args := []any{micros(q.Since), micros(q.Until), int64(q.Width)}
	if q.Route != "" {
		where += ` AND route = ?`
		args = append(args, q.Route)
	}
	if q.ClientID != "" {
		where += ` AND client_id = ?`
		args = append(args, q.ClientID)
	}
	return where, args
}

func (s *Store) SumAlertCounts(ctx context.Context, q store.AlertCountQuery) ([]store.AlertCount, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	where, args := alertFilter(q)
	rows, err := s.queryRows(ctx, `SELECT route, client_id, error, sum(requests), sum(failures),
		coalesce(min(nullif(first_failure, 0)), 0), max(last_failure)
		FROM alert_buckets WHERE `+where+`
		GROUP BY route, client_id, error HAVING sum(requests) > 0 ORDER BY route, client_id, error`, args...)
	if err != nil {
		return nil, translate("sum alert counts", err)
	}
	defer rows.Close()
	var out []store.AlertCount
	for rows.Next() {
		c := store.AlertCount{Start: q.Since, Width: q.Width}
		var first, last int64
		if err := rows.Scan(&c.Route, &c.ClientID, &c.Error, &c.Requests, &c.Failures, &first, &last); err != nil {
			return nil, translate("sum alert counts", err)
		}
		c.FirstFailure, c.LastFailure = fromMicros(first), fromMicros(last)
		out = append(out, c)
	}
	return out, translate("sum alert counts", rows.Err())
}

func (s *Store) SumTrafficCounts(ctx context.Context, q store.TrafficQuery) ([]store.TrafficCount, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	since, step := micros(q.Since), q.Step.Microseconds()
	rows, err := s.queryRows(ctx, `SELECT route, (start - ?) / ? AS step, latency_le_us, sum(requests), sum(failures)
		FROM traffic_buckets WHERE start >= ? AND start < ? AND width_ns = ?
		GROUP BY route, step, latency_le_us HAVING sum(requests) > 0 ORDER BY route, step, latency_le_us`,
		since, step, since, micros(q.Until), int64(q.Width))
	if err != nil {
		return nil, translate("sum traffic counts", err)
	}
	defer rows.Close()
	var out []store.TrafficCount
	for rows.Next() {
		var (
			c           = store.TrafficCount{Width: q.Step}
			index, leUS int64
		)
		if err := rows.Scan(&c.Route, &index, &leUS, &c.Requests, &c.Failures); err != nil {
			return nil, translate("sum traffic counts", err)
		}
		c.Start = fromMicros(since + index*step)
		c.LatencyLE = time.Duration(leUS) * time.Microsecond
		out = append(out, c)
	}
	return out, translate("sum traffic counts", rows.Err())
}

// OpenCountedIssue reads the sums and inserts the issue in one write
// transaction, which no AddTraffic can interleave with.
func (s *Store) OpenCountedIssue(ctx context.Context, iss store.Issue, q store.AlertCountQuery) (store.Issue, bool, error) {
	if err := q.Validate(); err != nil {
		return store.Issue{}, false, err
	}
	return s.openIssue(ctx, "open counted issue", iss, func(tx *sql.Tx, iss *store.Issue) error {
		where, args := alertFilter(q)
		return tx.QueryRowContext(ctx, `SELECT coalesce(sum(failures), 0), coalesce(sum(requests), 0)
			FROM alert_buckets WHERE `+where, args...).Scan(&iss.Failures, &iss.Requests)
	})
}

func (s *Store) DeleteTraffic(ctx context.Context, r store.TrafficRetention) (int64, error) {
	var deleted int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, d := range []struct {
			table  string
			before time.Time
		}{{"alert_buckets", r.AlertsBefore}, {"traffic_buckets", r.TrafficBefore}} {
			if d.before.IsZero() {
				continue
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM `+d.table+` WHERE start < ?`, micros(d.before))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			deleted += n
		}
		return nil
	})
	if err != nil {
		return 0, translate("delete traffic", err)
	}
	return deleted, nil
}
