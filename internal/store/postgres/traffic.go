package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/fdxd/fdxd/internal/store"
)

// trafficLockKey is the advisory lock that keeps OpenCountedIssue and
// AddTraffic in step: every AddTraffic holds it shared (they run side by
// side), OpenCountedIssue exclusively. While an issue is being opened no
// batch is half added, so each count is either in the sums it reads or
// added to the issue by a batch that commits after it.
const trafficLockKey int64 = 0x66647864_00000003

// AddTraffic adds the batch in one transaction, its rows in key order (see
// store.TrafficBatch.Merged): concurrent batches that touch the same
// buckets lock them in the same order and wait for one another instead of
// deadlocking.
func (s *Store) AddTraffic(ctx context.Context, b store.TrafficBatch) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if len(b.Alerts)+len(b.Traffic)+len(b.Issues) == 0 {
		return nil
	}
	b = b.Merged()
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, trafficLockKey); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if n := len(b.Alerts); n > 0 {
			var (
				starts, firsts, lasts       = make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n)
				widths, requests, failures  = make([]int64, n), make([]int64, n), make([]int64, n)
				routes, clients, errorCodes = make([]string, n), make([]string, n), make([]string, n)
			)
			for i, c := range b.Alerts {
				starts[i], widths[i], routes[i], clients[i], errorCodes[i] = ts(c.Start), int64(c.Width), c.Route, c.ClientID, c.Error
				requests[i], failures[i], firsts[i], lasts[i] = c.Requests, c.Failures, ts(c.FirstFailure), ts(c.LastFailure)
			}
			// least and greatest skip NULLs: a bucket's failure times
			// widen, and "none" never wins.
			if _, err := tx.Exec(ctx, `INSERT INTO alert_buckets
				(start, width_ns, route, client_id, error, requests, failures, first_failure, last_failure)
				SELECT * FROM unnest($1::timestamptz[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[],
					$7::bigint[], $8::timestamptz[], $9::timestamptz[])
				ON CONFLICT (start, width_ns, route, client_id, error) DO UPDATE SET
					requests = alert_buckets.requests + EXCLUDED.requests,
					failures = alert_buckets.failures + EXCLUDED.failures,
					first_failure = least(alert_buckets.first_failure, EXCLUDED.first_failure),
					last_failure = greatest(alert_buckets.last_failure, EXCLUDED.last_failure)`,
				starts, widths, routes, clients, errorCodes, requests, failures, firsts, lasts); err != nil {
				return err
			}
		}
		if n := len(b.Traffic); n > 0 {
			var (
				starts                             = make([]pgtype.Timestamptz, n)
				widths, bounds, requests, failures = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
				routes                             = make([]string, n)
			)
			for i, c := range b.Traffic {
				starts[i], widths[i], routes[i], bounds[i] = ts(c.Start), int64(c.Width), c.Route, c.LatencyLE.Microseconds()
				requests[i], failures[i] = c.Requests, c.Failures
			}
			if _, err := tx.Exec(ctx, `INSERT INTO traffic_buckets (start, width_ns, route, latency_le_us, requests, failures)
				SELECT * FROM unnest($1::timestamptz[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
				ON CONFLICT (start, width_ns, route, latency_le_us) DO UPDATE SET
					requests = traffic_buckets.requests + EXCLUDED.requests,
					failures = traffic_buckets.failures + EXCLUDED.failures`,
				starts, widths, routes, bounds, requests, failures); err != nil {
				return err
			}
		}
		if n := len(b.Issues); n > 0 {
			keys, requests, failures := make([]string, n), make([]int64, n), make([]int64, n)
			for i, c := range b.Issues {
				keys[i], requests[i], failures[i] = c.Key, c.Requests, c.Failures
			}
			// The open issues are locked in id order first, for the same
			// reason as the buckets.
			if _, err := tx.Exec(ctx, `WITH counts AS (
					SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS c (issue_key, failures, requests)
				), locked AS (
					SELECT i.id, counts.failures, counts.requests FROM issues i JOIN counts USING (issue_key)
					WHERE i.resolved_at IS NULL ORDER BY i.id FOR UPDATE OF i
				)
				UPDATE issues SET failures = issues.failures + locked.failures, requests = issues.requests + locked.requests
				FROM locked WHERE issues.id = locked.id`, keys, failures, requests); err != nil {
				return err
			}
		}
		return nil
	})
	return s.fail("add traffic", err)
}

// alertFilter is the WHERE clause of q and its arguments.
func alertFilter(q store.AlertCountQuery) (string, []any) {
	where := `start >= $1 AND start < $2 AND width_ns = $3`
	args := []any{ts(q.Since), ts(q.Until), int64(q.Width)}
	if q.Route != "" {
		args = append(args, q.Route)
		where += ` AND route = $` + strconv.Itoa(len(args))
	}
	if q.ClientID != "" {
		args = append(args, q.ClientID)
		where += ` AND client_id = $` + strconv.Itoa(len(args))
	}
	return where, args
}

func (s *Store) SumAlertCounts(ctx context.Context, q store.AlertCountQuery) ([]store.AlertCount, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	where, args := alertFilter(q)
	// COLLATE "C": byte order, as SQLite sorts, whatever the database's
	// collation.
	rows, err := s.pool.Query(ctx, `SELECT route, client_id, error, sum(requests)::bigint, sum(failures)::bigint,
		min(first_failure), max(last_failure)
		FROM alert_buckets WHERE `+where+`
		GROUP BY route, client_id, error HAVING sum(requests) > 0
		ORDER BY route COLLATE "C", client_id COLLATE "C", error COLLATE "C"`, args...)
	if err != nil {
		return nil, s.fail("sum alert counts", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.AlertCount, error) {
		c := store.AlertCount{Start: q.Since, Width: q.Width}
		err := row.Scan(&c.Route, &c.ClientID, &c.Error, &c.Requests, &c.Failures, scanTime(&c.FirstFailure),
			scanTime(&c.LastFailure))
		return c, err
	})
	return out, s.fail("sum alert counts", err)
}

func (s *Store) SumTrafficCounts(ctx context.Context, q store.TrafficQuery) ([]store.TrafficCount, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	since := q.Since.Truncate(time.Microsecond)
	step := q.Step.Microseconds()
	// extract(epoch …) of an interval is numeric (PostgreSQL 14 and
	// later), so the step index is exact.
	rows, err := s.pool.Query(ctx, `SELECT route, (extract(epoch FROM start - $1::timestamptz) * 1000000)::bigint / $2 AS step,
		latency_le_us, sum(requests)::bigint, sum(failures)::bigint
		FROM traffic_buckets WHERE start >= $1 AND start < $3 AND width_ns = $4
		GROUP BY route, step, latency_le_us HAVING sum(requests) > 0
		ORDER BY route COLLATE "C", step, latency_le_us`, ts(since), step, ts(q.Until), int64(q.Width))
	if err != nil {
		return nil, s.fail("sum traffic counts", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.TrafficCount, error) {
		var (
			c           = store.TrafficCount{Width: q.Step}
			index, leUS int64
		)
		err := row.Scan(&c.Route, &index, &leUS, &c.Requests, &c.Failures)
		c.Start = since.Add(time.Duration(index*step) * time.Microsecond).UTC()
		c.LatencyLE = time.Duration(leUS) * time.Microsecond
		return c, err
	})
	return out, s.fail("sum traffic counts", err)
}

// OpenCountedIssue holds the traffic lock exclusively while it reads the
// sums and inserts the issue (see trafficLockKey).
func (s *Store) OpenCountedIssue(ctx context.Context, iss store.Issue, q store.AlertCountQuery) (store.Issue, bool, error) {
	if !iss.ResolvedAt.IsZero() {
		return store.Issue{}, false, errors.New("postgres: open issue: a new issue cannot be resolved already")
	}
	if err := q.Validate(); err != nil {
		return store.Issue{}, false, err
	}
	var (
		got     store.Issue
		created bool
	)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, trafficLockKey); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		existing, err := scanIssue(tx.QueryRow(ctx, `SELECT `+issueColumns+` FROM issues
			WHERE issue_key = $1 AND resolved_at IS NULL`, iss.Key))
		switch {
		case err == nil:
			got = existing
			return nil
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		where, args := alertFilter(q)
		if err := tx.QueryRow(ctx, `SELECT coalesce(sum(failures), 0)::bigint, coalesce(sum(requests), 0)::bigint
			FROM alert_buckets WHERE `+where, args...).Scan(&iss.Failures, &iss.Requests); err != nil {
			return err
		}
		// OpenIssue does not take the lock: the unique index still decides
		// between it and this insert.
		tag, err := tx.Exec(ctx, `INSERT INTO issues (`+issueColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
			ON CONFLICT (issue_key) WHERE resolved_at IS NULL DO NOTHING`, issueArgs(iss)...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			got, created = iss, true
			return nil
		}
		got, err = scanIssue(tx.QueryRow(ctx, `SELECT `+issueColumns+` FROM issues
			WHERE issue_key = $1 AND resolved_at IS NULL`, iss.Key))
		return err
	})
	if err != nil {
		return store.Issue{}, false, s.fail("open counted issue", err)
	}
	return got, created, nil
}

func (s *Store) DeleteTraffic(ctx context.Context, r store.TrafficRetention) (int64, error) {
	var deleted int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		deleted = 0 // a retried run counts afresh
		for _, d := range []struct {
			table  string
			before time.Time
		}{{"alert_buckets", r.AlertsBefore}, {"traffic_buckets", r.TrafficBefore}} {
			if d.before.IsZero() {
				continue
			}
			tag, err := tx.Exec(ctx, `DELETE FROM `+d.table+` WHERE start < $1`, ts(d.before))
			if err != nil {
				return err
			}
			deleted += tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return 0, s.fail("delete traffic", err)
	}
	return deleted, nil
}
