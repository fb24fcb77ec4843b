package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/fdxd/fdxd/internal/store"
)

const issueColumns = `id, issue_key, kind, route, client_id, error, summary, first_seen, last_seen, resolved_at,
	failures, requests, rate, peak_rate, healthy_since, updated_at`

func scanIssue(row scanner) (store.Issue, error) {
	var (
		i                                       store.Issue
		kind                                    string
		first, last, resolved, healthy, updated int64
	)
	err := row.Scan(&i.ID, &i.Key, &kind, &i.Route, &i.ClientID, &i.Error, &i.Summary, &first, &last, &resolved,
		&i.Failures, &i.Requests, &i.Rate, &i.PeakRate, &healthy, &updated)
	i.Kind = store.IssueKind(kind)
	i.FirstSeen, i.LastSeen, i.ResolvedAt = fromMicros(first), fromMicros(last), fromMicros(resolved)
	i.HealthySince, i.UpdatedAt = fromMicros(healthy), fromMicros(updated)
	return i, err
}

func issueArgs(i store.Issue) []any {
	return []any{i.ID, i.Key, string(i.Kind), i.Route, i.ClientID, i.Error, i.Summary, micros(i.FirstSeen),
		micros(i.LastSeen), micros(i.ResolvedAt), i.Failures, i.Requests, i.Rate, i.PeakRate, micros(i.HealthySince),
		micros(i.UpdatedAt)}
}

func (s *Store) OpenIssue(ctx context.Context, iss store.Issue) (store.Issue, bool, error) {
	return s.openIssue(ctx, "open issue", iss, nil)
}

// openIssue returns the open issue with iss's key or, when there is none,
// inserts iss, first filling it with count when count is not nil; all in
// one write transaction.
func (s *Store) openIssue(ctx context.Context, op string, iss store.Issue, count func(*sql.Tx, *store.Issue) error) (store.Issue, bool, error) {
	if !iss.ResolvedAt.IsZero() {
		return store.Issue{}, false, errors.New("sqlite: open issue: a new issue cannot be resolved already")
	}
	var (
		got     store.Issue
		created bool
	)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		existing, err := scanIssue(tx.QueryRowContext(ctx, `SELECT `+issueColumns+` FROM issues
			WHERE issue_key = ? AND resolved_at = 0`, iss.Key))
		switch {
		case err == nil:
			got = existing
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if count != nil {
			if err := count(tx, &iss); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO issues (`+issueColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, issueArgs(iss)...); err != nil {
			return err
		}
		got, created = iss, true
		return nil
	})
	if err != nil {
		return store.Issue{}, false, translate(op, err)
	}
	return got, created, nil
}

func (s *Store) GetIssue(ctx context.Context, id string) (store.Issue, error) {
	i, err := scanIssue(s.read.QueryRowContext(ctx, `SELECT `+issueColumns+` FROM issues WHERE id = ?`, id))
	return i, translate("get issue", err)
}

func (s *Store) UpdateIssue(ctx context.Context, id string, update func(store.Issue) (store.Issue, error)) (store.Issue, error) {
	var out store.Issue
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanIssue(tx.QueryRowContext(ctx, `SELECT `+issueColumns+` FROM issues WHERE id = ?`, id))
		if err != nil {
			return err
		}
		i, err := update(old)
		if err != nil {
			return err
		}
		i.ID = old.ID
		_, err = tx.ExecContext(ctx, `UPDATE issues SET issue_key = ?, kind = ?, route = ?, client_id = ?, error = ?,
			summary = ?, first_seen = ?, last_seen = ?, resolved_at = ?, failures = ?, requests = ?, rate = ?,
			peak_rate = ?, healthy_since = ?, updated_at = ? WHERE id = ?`, append(issueArgs(i)[1:], i.ID)...)
		out = i
		return err
	})
	if err != nil {
		return store.Issue{}, translate("update issue", err)
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
		conds = append(conds, "resolved_at = 0")
	case "resolved":
		conds = append(conds, "resolved_at <> 0")
	default:
		return nil, errors.New(`sqlite: list issues: status must be "open", "resolved" or empty`)
	}
	for _, f := range []struct{ col, v string }{{"kind", string(q.Kind)}, {"route", q.Route}, {"client_id", q.ClientID}} {
		if f.v != "" {
			conds = append(conds, f.col+" = ?")
			args = append(args, f.v)
		}
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+issueColumns+` FROM issues`+where+
		` ORDER BY last_seen DESC, id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, translate("list issues", err)
	}
	defer rows.Close()
	var out []store.Issue
	for rows.Next() {
		i, err := scanIssue(rows)
		if err != nil {
			return nil, translate("list issues", err)
		}
		out = append(out, i)
	}
	return out, translate("list issues", rows.Err())
}
