package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fdxd/fdxd/internal/store"
)

var _ store.DataStore = (*Store)(nil)

func (s *Store) ImportData(ctx context.Context, imp store.DataImport) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		ids := make([]string, 0, len(imp.Accounts))
		for _, a := range imp.Accounts {
			ids = append(ids, a.Account.ID)
		}
		for _, u := range imp.ReplaceUsers {
			if _, err := tx.Exec(ctx, `DELETE FROM accounts WHERE user_id = $1 AND NOT (id = ANY($2))`, u, ids); err != nil {
				return fmt.Errorf("replace accounts of user %q: %w", u, err)
			}
		}
		for i, a := range imp.Accounts {
			if err := importAccount(ctx, tx, a, imp.Now); err != nil {
				return fmt.Errorf("account %d (%q): %w", i, a.Account.ID, err)
			}
		}
		return nil
	})
	return s.fail("import data", err)
}

// importAccount replaces one account with everything under it. The upsert
// takes the account's row lock, so concurrent imports of one account queue
// behind each other; its WHERE makes an ID owned by another user return no
// row instead of changing that user's account, even when the other user's
// import committed it a moment ago.
func importAccount(ctx context.Context, tx pgx.Tx, d store.AccountData, now time.Time) error {
	a := d.Account
	var owned bool
	err := tx.QueryRow(ctx, `INSERT INTO accounts (id, user_id, category, account_type, product_name, nickname,
			number_display, status, created_at, product_id, currency, details, contact, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (id) DO UPDATE SET category = excluded.category, account_type = excluded.account_type,
			product_name = excluded.product_name, nickname = excluded.nickname, number_display = excluded.number_display,
			status = excluded.status, product_id = excluded.product_id, currency = excluded.currency,
			details = excluded.details, contact = excluded.contact, updated_at = excluded.updated_at
		WHERE accounts.user_id = excluded.user_id
		RETURNING true`,
		a.ID, a.UserID, a.Category, a.Type, a.ProductName, a.Nickname, a.NumberDisplay, a.Status, keyTime(a.CreatedAt),
		a.ProductID, a.Currency, blob(a.Details), blob(a.Contact), ts(now)).Scan(&owned)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("account ID belongs to another user: %w", store.ErrAlreadyExists)
	case isForeignKey(err):
		return fmt.Errorf("user %q: %w", a.UserID, store.ErrNotFound)
	case err != nil:
		return err
	}
	for _, table := range []string{"fdx_transactions", "fdx_statements", "fdx_networks"} {
		// The statements' PDFs go by cascade.
		if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE account_id = $1`, a.ID); err != nil {
			return err
		}
	}

	if len(d.Transactions) > 0 {
		rows := make([][]any, len(d.Transactions))
		for i, t := range d.Transactions {
			rows[i] = []any{a.ID, keyTime(t.At), t.ID, blob(t.Body)}
		}
		if err := copyRows(ctx, tx, "fdx_transactions", []string{"account_id", "at", "transaction_id", "body"}, rows); err != nil {
			return fmt.Errorf("transactions: %w", err)
		}
	}
	if len(d.Statements) > 0 {
		statements := make([][]any, len(d.Statements))
		pdfs := make([][]any, len(d.Statements))
		for i, st := range d.Statements {
			statements[i] = []any{a.ID, st.Date, st.ID, st.Description, st.Status}
			pdfs[i] = []any{st.ID, blob(st.PDF)}
		}
		if err := copyRows(ctx, tx, "fdx_statements",
			[]string{"account_id", "statement_date", "statement_id", "description", "status"}, statements); err != nil {
			return fmt.Errorf("statements: %w", err)
		}
		if err := copyRows(ctx, tx, "fdx_statement_pdfs", []string{"statement_id", "pdf"}, pdfs); err != nil {
			return fmt.Errorf("statement PDFs: %w", err)
		}
	}
	var networks [][]any
	for _, kind := range []struct {
		kind   store.NetworkKind
		bodies [][]byte
	}{{store.PaymentNetwork, d.PaymentNetworks}, {store.AssetTransferNetwork, d.AssetTransferNetworks}} {
		for i, body := range kind.bodies {
			networks = append(networks, []any{a.ID, string(kind.kind), int32(i), blob(body)})
		}
	}
	if len(networks) > 0 {
		if err := copyRows(ctx, tx, "fdx_networks", []string{"account_id", "kind", "position", "body"}, networks); err != nil {
			return fmt.Errorf("networks: %w", err)
		}
	}
	return nil
}

// copyRows writes rows with COPY: one round trip for any number of rows.
func copyRows(ctx context.Context, tx pgx.Tx, table string, columns []string, rows [][]any) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
	return err
}

// isForeignKey reports a foreign-key violation (an account of an unknown
// user).
func isForeignKey(err error) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && pgErr.Code == "23503"
}

// blob keeps empty bodies as zero-length bytea rather than NULL.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nonEmpty reads a zero-length bytea back as nil.
func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// limit passes a page size to LIMIT; a negative one means no limit, as in
// SQLite (LIMIT NULL).
func limit(n int) any {
	if n < 0 {
		return nil
	}
	return n
}

const accountColumns = `id, user_id, category, account_type, product_name, product_id, nickname, number_display, status,
	currency, created_at, updated_at`

// The page queries: each is one range scan of its table's primary key (or
// index) from the last row of the previous page, in index order, so no
// sort. A test checks the plans.
const (
	accountPage     = `SELECT ` + accountColumns + ` FROM accounts WHERE user_id = $1 AND (created_at, id) > ($2, $3)`
	transactionPage = `SELECT at, transaction_id, body FROM fdx_transactions
		WHERE account_id = $1 AND (at, transaction_id) > ($2, $3) AND at < $4
		ORDER BY at, transaction_id LIMIT $5`
	statementPage = `SELECT statement_date, statement_id, description, status FROM fdx_statements
		WHERE account_id = $1 AND (statement_date, statement_id) > ($2, $3) AND statement_date <= $4
		ORDER BY statement_date, statement_id LIMIT $5`
	networkPage = `SELECT position, body FROM fdx_networks
		WHERE account_id = $1 AND kind = $2 AND position > $3 ORDER BY position LIMIT $4`
)

func scanAccount(row scanner, extra ...any) (store.Account, error) {
	var a store.Account
	dest := append([]any{&a.ID, &a.UserID, &a.Category, &a.Type, &a.ProductName, &a.ProductID, &a.Nickname,
		&a.NumberDisplay, &a.Status, &a.Currency, scanTime(&a.CreatedAt), scanTime(&a.UpdatedAt)}, extra...)
	err := row.Scan(dest...)
	return a, err
}

func (s *Store) GetAccount(ctx context.Context, userID, accountID string) (store.Account, error) {
	var details, contact []byte
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountColumns+`, details, contact
		FROM accounts WHERE id = $1 AND user_id = $2`, accountID, userID), &details, &contact)
	if err != nil {
		return store.Account{}, s.fail("get account", err)
	}
	a.Details, a.Contact = nonEmpty(details), nonEmpty(contact)
	return a, nil
}

func (s *Store) ListAccounts(ctx context.Context, q store.AccountQuery) ([]store.Account, error) {
	query := accountPage
	args := []any{q.UserID, keyTime(q.AfterCreatedAt), q.AfterID}
	if q.Restrict {
		query += ` AND id = ANY($4)`
		args = append(args, list(q.OnlyIDs))
	}
	args = append(args, limit(q.Limit))
	query += fmt.Sprintf(` ORDER BY created_at, id LIMIT $%d`, len(args))
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, s.fail("list accounts", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Account, error) { return scanAccount(row) })
	return out, s.fail("list accounts", err)
}

func (s *Store) ListTransactions(ctx context.Context, q store.TransactionQuery) ([]store.Transaction, error) {
	// The lower bound is one row value: after the cursor when there is one,
	// else from q.From on (every ID sorts after "").
	afterAt, afterID := q.From, ""
	if q.AfterID != "" && q.AfterAt.Truncate(time.Microsecond).Compare(q.From.Truncate(time.Microsecond)) >= 0 {
		afterAt, afterID = q.AfterAt, q.AfterID
	}
	rows, err := s.pool.Query(ctx, transactionPage, q.AccountID, keyTime(afterAt), afterID, keyTime(q.To), limit(q.Limit))
	if err != nil {
		return nil, s.fail("list transactions", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Transaction, error) {
		t := store.Transaction{AccountID: q.AccountID}
		err := row.Scan(scanTime(&t.At), &t.ID, &t.Body)
		return t, err
	})
	return out, s.fail("list transactions", err)
}

func (s *Store) ListStatements(ctx context.Context, q store.StatementQuery) ([]store.Statement, error) {
	afterDate, afterID := q.FromDate, ""
	if q.AfterID != "" && q.AfterDate >= afterDate {
		afterDate, afterID = q.AfterDate, q.AfterID
	}
	rows, err := s.pool.Query(ctx, statementPage, q.AccountID, afterDate, afterID, q.ToDate, limit(q.Limit))
	if err != nil {
		return nil, s.fail("list statements", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Statement, error) {
		st := store.Statement{AccountID: q.AccountID}
		err := row.Scan(&st.Date, &st.ID, &st.Description, &st.Status)
		return st, err
	})
	return out, s.fail("list statements", err)
}

func (s *Store) GetStatementPDF(ctx context.Context, accountID, statementID string) ([]byte, error) {
	var pdf []byte
	err := s.pool.QueryRow(ctx, `SELECT p.pdf FROM fdx_statements s
		JOIN fdx_statement_pdfs p ON p.statement_id = s.statement_id
		WHERE s.statement_id = $1 AND s.account_id = $2`, statementID, accountID).Scan(&pdf)
	return pdf, s.fail("get statement PDF", err)
}

func (s *Store) ListNetworks(ctx context.Context, q store.NetworkQuery) ([]store.Network, error) {
	rows, err := s.pool.Query(ctx, networkPage, q.AccountID, string(q.Kind), q.AfterPosition, limit(q.Limit))
	if err != nil {
		return nil, s.fail("list networks", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Network, error) {
		n := store.Network{AccountID: q.AccountID, Kind: q.Kind}
		err := row.Scan(&n.Position, &n.Body)
		return n, err
	})
	return out, s.fail("list networks", err)
}
