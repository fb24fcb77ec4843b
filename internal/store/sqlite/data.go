package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/fdxd/fdxd/internal/store"
)

func (s *Store) ImportData(ctx context.Context, imp store.DataImport) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var ids []string
		for _, a := range imp.Accounts {
			ids = append(ids, a.Account.ID)
		}
		for _, u := range imp.ReplaceUsers {
			if _, err := tx.ExecContext(ctx, `DELETE FROM accounts WHERE user_id = ?
				AND id NOT IN (SELECT value FROM json_each(?))`, u, list(ids)); err != nil {
				return fmt.Errorf("replace accounts of user %q: %w", u, err)
			}
		}
		w, err := prepareImport(ctx, tx)
		if err != nil {
			return err
		}
		defer w.close()
		for i, a := range imp.Accounts {
			if err := w.account(ctx, a, imp.Now); err != nil {
				return fmt.Errorf("account %d (%q): %w", i, a.Account.ID, err)
			}
		}
		return nil
	})
	return translate("import data", err)
}

// importWriter holds the statements of one import.
type importWriter struct {
	owner, upsert, delTxns, delStmts, delNets, txn, stmt, pdf, net *sql.Stmt
}

func prepareImport(ctx context.Context, tx *sql.Tx) (*importWriter, error) {
	w := &importWriter{}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&w.owner, `SELECT user_id FROM accounts WHERE id = ?`},
		{&w.upsert, `INSERT INTO accounts (id, user_id, category, account_type, product_name, nickname, number_display,
			status, created_at, product_id, currency, details, contact, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET category = excluded.category, account_type = excluded.account_type,
			product_name = excluded.product_name, nickname = excluded.nickname, number_display = excluded.number_display,
			status = excluded.status, product_id = excluded.product_id, currency = excluded.currency,
			details = excluded.details, contact = excluded.contact, updated_at = excluded.updated_at`},
		{&w.delTxns, `DELETE FROM fdx_transactions WHERE account_id = ?`},
		{&w.delStmts, `DELETE FROM fdx_statements WHERE account_id = ?`},
		{&w.delNets, `DELETE FROM fdx_networks WHERE account_id = ?`},
		{&w.txn, `INSERT INTO fdx_transactions (account_id, at, transaction_id, body) VALUES (?, ?, ?, ?)`},
		{&w.stmt, `INSERT INTO fdx_statements (account_id, statement_date, statement_id, description, status)
			VALUES (?, ?, ?, ?, ?)`},
		{&w.pdf, `INSERT INTO fdx_statement_pdfs (statement_id, pdf) VALUES (?, ?)`},
		{&w.net, `INSERT INTO fdx_networks (account_id, kind, position, body) VALUES (?, ?, ?, ?)`},
	} {
		st, err := tx.PrepareContext(ctx, p.sql)
		if err != nil {
			w.close()
			return nil, err
		}
		*p.dst = st
	}
	return w, nil
}

func (w *importWriter) close() {
	for _, st := range []*sql.Stmt{w.owner, w.upsert, w.delTxns, w.delStmts, w.delNets, w.txn, w.stmt, w.pdf, w.net} {
		if st != nil {
			st.Close()
		}
	}
}

func (w *importWriter) account(ctx context.Context, d store.AccountData, now time.Time) error {
	a := d.Account
	var owner string
	err := w.owner.QueryRowContext(ctx, a.ID).Scan(&owner)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	case owner != a.UserID:
		return fmt.Errorf("account ID belongs to another user: %w", store.ErrAlreadyExists)
	}
	_, err = w.upsert.ExecContext(ctx, a.ID, a.UserID, a.Category, a.Type, a.ProductName, a.Nickname, a.NumberDisplay,
		a.Status, micros(a.CreatedAt), a.ProductID, a.Currency, blob(a.Details), blob(a.Contact), micros(now))
	if err != nil {
		if isForeignKey(err) {
			return fmt.Errorf("user %q: %w", a.UserID, store.ErrNotFound)
		}
		return err
	}
	for _, del := range []*sql.Stmt{w.delTxns, w.delStmts, w.delNets} {
		if _, err := del.ExecContext(ctx, a.ID); err != nil {
			return err
		}
	}
	for i, t := range d.Transactions {
		if _, err := w.txn.ExecContext(ctx, a.ID, micros(t.At), t.ID, blob(t.Body)); err != nil {
			return fmt.Errorf("transaction %d (%q): %w", i, t.ID, err)
		}
	}
	for i, st := range d.Statements {
		if _, err := w.stmt.ExecContext(ctx, a.ID, st.Date, st.ID, st.Description, st.Status); err != nil {
			return fmt.Errorf("statement %d (%q): %w", i, st.ID, err)
		}
		if _, err := w.pdf.ExecContext(ctx, st.ID, blob(st.PDF)); err != nil {
			return fmt.Errorf("statement %d (%q) PDF: %w", i, st.ID, err)
		}
	}
	for _, kind := range []struct {
		kind   store.NetworkKind
		bodies [][]byte
	}{{store.PaymentNetwork, d.PaymentNetworks}, {store.AssetTransferNetwork, d.AssetTransferNetworks}} {
		for i, body := range kind.bodies {
			if _, err := w.net.ExecContext(ctx, a.ID, string(kind.kind), i, blob(body)); err != nil {
				return fmt.Errorf("%s network %d: %w", kind.kind, i, err)
			}
		}
	}
	return nil
}

// isForeignKey reports a foreign-key violation (an account of an unknown
// user).
func isForeignKey(err error) bool {
	se, ok := errors.AsType[*sqlite.Error](err)
	return ok && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// blob keeps empty bodies as zero-length BLOBs rather than NULL.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

const accountColumns = `id, user_id, category, account_type, product_name, product_id, nickname, number_display, status,
	currency, created_at, updated_at`

// The page queries: each is one seek of its table's clustered key (or
// index) from the last row of the previous page. A test checks the plans.
const (
	accountPage     = `SELECT ` + accountColumns + ` FROM accounts WHERE user_id = ? AND (created_at, id) > (?, ?)`
	transactionPage = `SELECT at, transaction_id, body FROM fdx_transactions
		WHERE account_id = ? AND (at, transaction_id) > (?, ?) AND at < ?
		ORDER BY at, transaction_id LIMIT ?`
	statementPage = `SELECT statement_date, statement_id, description, status FROM fdx_statements
		WHERE account_id = ? AND (statement_date, statement_id) > (?, ?) AND statement_date <= ?
		ORDER BY statement_date, statement_id LIMIT ?`
)

func scanAccount(row scanner, extra ...any) (store.Account, error) {
	var (
		a                store.Account
		created, updated int64
	)
	dest := append([]any{&a.ID, &a.UserID, &a.Category, &a.Type, &a.ProductName, &a.ProductID, &a.Nickname,
		&a.NumberDisplay, &a.Status, &a.Currency, &created, &updated}, extra...)
	if err := row.Scan(dest...); err != nil {
		return a, err
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, nil
}

func (s *Store) GetAccount(ctx context.Context, userID, accountID string) (store.Account, error) {
	var details, contact []byte
	a, err := scanAccount(s.queryRow(ctx, `SELECT `+accountColumns+`, details, contact
		FROM accounts WHERE id = ? AND user_id = ?`, accountID, userID), &details, &contact)
	if err != nil {
		return store.Account{}, translate("get account", err)
	}
	a.Details, a.Contact = nonEmpty(details), nonEmpty(contact)
	return a, nil
}

func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func (s *Store) ListAccounts(ctx context.Context, q store.AccountQuery) ([]store.Account, error) {
	query := accountPage
	args := []any{q.UserID, micros(q.AfterCreatedAt), q.AfterID}
	if q.Restrict {
		query += ` AND id IN (SELECT value FROM json_each(?))`
		args = append(args, list(q.OnlyIDs))
	}
	query += ` ORDER BY created_at, id LIMIT ?`
	args = append(args, q.Limit)
	rows, err := s.queryRows(ctx, query, args...)
	if err != nil {
		return nil, translate("list accounts", err)
	}
	defer rows.Close()
	var out []store.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, translate("list accounts", err)
		}
		out = append(out, a)
	}
	return out, translate("list accounts", rows.Err())
}

func (s *Store) ListTransactions(ctx context.Context, q store.TransactionQuery) ([]store.Transaction, error) {
	// The lower bound is one row value: after the cursor when there is one,
	// else from q.From on (every ID sorts after "").
	afterAt, afterID := micros(q.From), ""
	if q.AfterID != "" && micros(q.AfterAt) >= afterAt {
		afterAt, afterID = micros(q.AfterAt), q.AfterID
	}
	rows, err := s.queryRows(ctx, transactionPage, q.AccountID, afterAt, afterID, micros(q.To), q.Limit)
	if err != nil {
		return nil, translate("list transactions", err)
	}
	defer rows.Close()
	out := make([]store.Transaction, 0, min(q.Limit, 1000))
	for rows.Next() {
		t := store.Transaction{AccountID: q.AccountID}
		var at int64
		if err := rows.Scan(&at, &t.ID, &t.Body); err != nil {
			return nil, translate("list transactions", err)
		}
		t.At = fromMicros(at)
		out = append(out, t)
	}
	return out, translate("list transactions", rows.Err())
}

func (s *Store) ListStatements(ctx context.Context, q store.StatementQuery) ([]store.Statement, error) {
	afterDate, afterID := q.FromDate, ""
	if q.AfterID != "" && q.AfterDate >= afterDate {
		afterDate, afterID = q.AfterDate, q.AfterID
	}
	rows, err := s.queryRows(ctx, statementPage, q.AccountID, afterDate, afterID, q.ToDate, q.Limit)
	if err != nil {
		return nil, translate("list statements", err)
	}
	defer rows.Close()
	var out []store.Statement
	for rows.Next() {
		st := store.Statement{AccountID: q.AccountID}
		if err := rows.Scan(&st.Date, &st.ID, &st.Description, &st.Status); err != nil {
			return nil, translate("list statements", err)
		}
		out = append(out, st)
	}
	return out, translate("list statements", rows.Err())
}

func (s *Store) GetStatementPDF(ctx context.Context, accountID, statementID string) ([]byte, error) {
	var pdf []byte
	err := s.queryRow(ctx, `SELECT p.pdf FROM fdx_statements s
		JOIN fdx_statement_pdfs p ON p.statement_id = s.statement_id
		WHERE s.statement_id = ? AND s.account_id = ?`, statementID, accountID).Scan(&pdf)
	return pdf, translate("get statement PDF", err)
}

func (s *Store) ListNetworks(ctx context.Context, q store.NetworkQuery) ([]store.Network, error) {
	rows, err := s.queryRows(ctx, `SELECT position, body FROM fdx_networks
		WHERE account_id = ? AND kind = ? AND position > ? ORDER BY position LIMIT ?`,
		q.AccountID, string(q.Kind), q.AfterPosition, q.Limit)
	if err != nil {
		return nil, translate("list networks", err)
	}
	defer rows.Close()
	var out []store.Network
	for rows.Next() {
		n := store.Network{AccountID: q.AccountID, Kind: q.Kind}
		if err := rows.Scan(&n.Position, &n.Body); err != nil {
			return nil, translate("list networks", err)
		}
		out = append(out, n)
	}
	return out, translate("list networks", rows.Err())
}
