package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/fdxd/fdxd/internal/store"
)

const issueColumns = `id, issue_key, kind, route, client_id, error, summary, first_seen, last_seen, resolved_at,
	failures, requests, rate, peak_rate, healthy_since, updated_at`

func scanIssue(row scanner) (store.Issue, error) {
	var i store.Issue
	err := row.Scan(&i.ID, &i.Key, &i.Kind, &i.Route, &i.ClientID, &i.Error, &i.Summary, scanTime(&i.FirstSeen),
		scanTime(&i.LastSeen), scanTime(&i.ResolvedAt), &i.Failures, &i.Requests, &i.Rate, &i.PeakRate,
		scanTime(&i.HealthySince), scanTime(&i.UpdatedAt))
	return i, err
}

func issueArgs(i store.Issue) []any {
	return []any{i.ID, i.Key, string(i.Kind), i.Route, i.ClientID, i.Error, i.Summary, ts(i.FirstSeen),
		ts(i.LastSeen), ts(i.ResolvedAt), i.Failures, i.Requests, i.Rate, i.PeakRate, ts(i.HealthySince), ts(i.UpdatedAt)}
}

// openIssueAttempts bounds OpenIssue's loop: each lost round means another
// caller both opened and resolved an issue of the key in between.
const openIssueAttempts = 5

func (s *Store) OpenIssue(ctx context.Context, iss store.Issue) (store.Issue, bool, error) {
	if !iss.ResolvedAt.IsZero() {
		return store.Issue{}, false, errors.New("postgres: open issue: a new issue cannot be resolved already")
	}
	for range openIssueAttempts {
		// The partial unique index decides among concurrent callers on
		// every replica: one insert wins, the others do nothing and then
		// read the winner's row (a new statement sees what committed).
		tag, err := s.pool.Exec(ctx, `INSERT INTO issues (`+issueColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
			ON CONFLICT (issue_key) WHERE resolved_at IS NULL DO NOTHING`, issueArgs(iss)...)
		if err != nil {
			return store.Issue{}, false, s.fail("open issue", err)
		}
		if tag.RowsAffected() == 1 {
			return iss, true, nil
		}
		existing, err := scanIssue(s.pool.QueryRow(ctx, `SELECT `+issueColumns+` FROM issues
			WHERE issue_key = $1 AND resolved_at IS NULL`, iss.Key))
		if errors.Is(err, pgx.ErrNoRows) {
			continue // resolved in between: try to open again
		}
		if err != nil {
			return store.Issue{}, false, s.fail("open issue", err)
		}
		return existing, false, nil
	}
	return store.Issue{}, false, fmt.Errorf("postgres: open issue %s: %w", iss.Key, store.ErrConflict)
}

func (s *Store) GetIssue(ctx context.Context, id string) (store.Issue, error) {
	i, err := scanIssue(s.pool.QueryRow(ctx, `SELECT `+issueColumns+` FROM issues WHERE id = $1`, id))
	return i, s.fail("get issue", err)
}

func (s *Store) UpdateIssue(ctx context.Context, id string, update func(store.Issue) (store.Issue, error)) (store.Issue, error) {
	var out store.Issue
	err := s.tx(ctx, func(tx pgx.Tx) error {
		old, err := scanIssue(tx.QueryRow(ctx, `SELECT `+issueColumns+` FROM issues WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		i, err := update(old)
		if err != nil {
			return err
		}
		i.ID = old.ID
		_, err = tx.Exec(ctx, `UPDATE issues SET issue_key = $2, kind = $3, route = $4, client_id = $5, error = $6,
			summary = $7, first_seen = $8, last_seen = $9, resolved_at = $10, failures = $11, requests = $12,
			rate = $13, peak_rate = $14, healthy_since = $15, updated_at = $16 WHERE id = $1`, issueArgs(i)...)
		out = i
		return err
	})
	if err != nil {
		return store.Issue{}, s.fail("update issue", err)
	}
	return out, nil
}

func (s *Store) ListIssues(ctx context.Context, q store.IssueQuery) ([]store.Issue, error) {
	var (
		conds []string
		args  []any
	)
	switch q.Status {
	case "":
	case "open":
		conds = append(conds, "resolved_at IS NULL")
	case "resolved":
		conds = append(conds, "resolved_at IS NOT NULL")
	default:
		return nil, errors.New(`postgres: list issues: status must be "open", "resolved" or empty`)
	}
	for _, f := range []struct{ col, v string }{{"kind", string(q.Kind)}, {"route", q.Route}, {"client_id", q.ClientID}} {
		if f.v != "" {
			args = append(args, f.v)
			conds = append(conds, f.col+" = $"+strconv.Itoa(len(args)))
		}
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	args = append(args, defaultLimit(q.Limit, 100))
	rows, err := s.pool.Query(ctx, `SELECT `+issueColumns+` FROM issues`+where+
		` ORDER BY last_seen DESC NULLS LAST, id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, s.fail("list issues", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Issue, error) { return scanIssue(row) })
	return out, s.fail("list issues", err)
}
