package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/store"
)

// DataBackend is what the FDX data tests need of a store.
type DataBackend interface {
	store.UserStore
	store.AccountStore
	store.DataStore
}

// RunData runs the FDX data conformance tests against stores made by
// newStore.
func RunData(t *testing.T, newStore func(t *testing.T) DataBackend) {
	tests := []struct {
		name string
		run  func(t *testing.T, s DataBackend)
	}{
		{"ImportAndRead", testDataImportAndRead},
		{"AccountsKeyset", testDataAccountsKeyset},
		{"TransactionsKeyset", testDataTransactionsKeyset},
		{"StatementsAndPDFs", testDataStatements},
		{"Networks", testDataNetworks},
		{"ReplaceAccount", testDataReplaceAccount},
		{"ReplaceUsers", testDataReplaceUsers},
		{"ImportIsAllOrNothing", testDataImportAllOrNothing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newStore(t))
		})
	}
}

func seedDataUsers(t *testing.T, s DataBackend, ids ...string) {
	t.Helper()
	for _, id := range ids {
		mustNil(t, s.CreateUser(ctx(t), newUser(id)), "create user "+id)
	}
}

func dataAccount(userID, id string, created time.Time) store.Account {
	return store.Account{
		ID: id, UserID: userID, Category: "DEPOSIT_ACCOUNT", Type: "CHECKING", ProductName: "Everyday Checking",
		ProductID: "chk-1", Nickname: "Bills", NumberDisplay: "...4321", Status: "OPEN", Currency: "USD",
		Details:   []byte(`{"accountId":"` + id + `","currentBalance":10.00}`),
		Contact:   []byte(`{"emails":["` + id + `@example.test"]}`),
		CreatedAt: created, UpdatedAt: base,
	}
}

func txnAt(accountID string, i int, at time.Time) store.Transaction {
	id := fmt.Sprintf("txn-%05d", i)
	return store.Transaction{AccountID: accountID, ID: id, At: at, Body: []byte(`{"transactionId":"` + id + `"}`)}
}

func testDataImportAndRead(t *testing.T, s DataBackend) {
	seedDataUsers(t, s, "u1", "u2")
	a := dataAccount("u1", "acct-1", base)
	wallet := store.Account{ID: "acct-2", UserID: "u1", Category: "DIGITAL_WALLET", Type: "DIGITALWALLET",
		ProductName: "Wallet", Status: "OPEN", Currency: "EUR", CreatedAt: base.Add(time.Microsecond), UpdatedAt: base}
	imp := store.DataImport{Now: base, Accounts: []store.AccountData{
		{Account: a, Transactions: []store.Transaction{txnAt("acct-1", 1, base)},
			Statements:      []store.Statement{{ID: "st-1", Date: "2026-10-31", Description: "October", Status: "AVAILABLE", PDF: []byte("%PDF-1.4 x")}},
			PaymentNetworks: [][]byte{[]byte(`{"bankId":"011000015"}`)}},
		{Account: wallet},
	}}
	mustNil(t, s.ImportData(ctx(t), imp), "import")

	got, err := s.GetAccount(ctx(t), "u1", "acct-1")
	mustNil(t, err, "get account")
	mustEqual(t, got, a, "account")
	got, err = s.GetAccount(ctx(t), "u1", "acct-2")
	mustNil(t, err, "get wallet")
	if got.Details != nil || got.Contact != nil {
		t.Fatalf("wallet Details, Contact = %q, %q; want nil (none imported)", got.Details, got.Contact)
	}
	_, err = s.GetAccount(ctx(t), "u2", "acct-1")
	mustIs(t, err, store.ErrNotFound, "another user's account")
	_, err = s.GetAccount(ctx(t), "u1", "acct-404")
	mustIs(t, err, store.ErrNotFound, "unknown account")

	// The account-selection page reads the same rows.
	sums, err := s.ListAccountSummaries(ctx(t), "u1")
	mustNil(t, err, "summaries")
	mustEqual(t, sums, []store.AccountSummary{
		{ID: "acct-1", UserID: "u1", Category: "DEPOSIT_ACCOUNT", Type: "CHECKING", ProductName: "Everyday Checking",
			Nickname: "Bills", NumberDisplay: "...4321", Status: "OPEN"},
		{ID: "acct-2", UserID: "u1", Category: "DIGITAL_WALLET", Type: "DIGITALWALLET", ProductName: "Wallet", Status: "OPEN"},
	}, "summaries")

	list, err := s.ListAccounts(ctx(t), store.AccountQuery{UserID: "u1", Limit: 10})
	mustNil(t, err, "list accounts")
	if len(list) != 2 || list[0].ID != "acct-1" || list[1].ID != "acct-2" || list[0].Details != nil || list[1].Currency != "EUR" {
		t.Fatalf("ListAccounts = %+v; want acct-1, acct-2 without details", list)
	}
	list, err = s.ListAccounts(ctx(t), store.AccountQuery{UserID: "u1", Restrict: true, OnlyIDs: []string{"acct-2", "other"}, Limit: 10})
	mustNil(t, err, "list selected accounts")
	if len(list) != 1 || list[0].ID != "acct-2" {
		t.Fatalf("ListAccounts(selection acct-2) = %+v", list)
	}
	list, err = s.ListAccounts(ctx(t), store.AccountQuery{UserID: "u1", Restrict: true, Limit: 10})
	mustNil(t, err, "list empty selection")
	if len(list) != 0 {
		t.Fatalf("ListAccounts(empty selection) = %+v; want none", list)
	}
}

func testDataAccountsKeyset(t *testing.T, s DataBackend) {
	seedDataUsers(t, s, "u1")
	var imp store.DataImport
	var want []string
	for i := range 7 {
		// Two accounts share a created_at: the id breaks the tie.
		created := base.Add(time.Duration(i/2) * time.Second)
		id := fmt.Sprintf("acct-%d", 7-i)
		imp.Accounts = append(imp.Accounts, store.AccountData{Account: dataAccount("u1", id, created)})
	}
	mustNil(t, s.ImportData(ctx(t), imp), "import")
	all, err := s.ListAccounts(ctx(t), store.AccountQuery{UserID: "u1", Limit: 100})
	mustNil(t, err, "list all")
	for _, a := range all {
		want = append(want, a.ID)
	}
	if !slices.IsSortedFunc(all, func(a, b store.Account) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	}) || len(all) != 7 {
		t.Fatalf("ListAccounts order %v; want by (created_at, id)", want)
	}
	var got []string
	q := store.AccountQuery{UserID: "u1", Limit: 3}
	for range 10 {
		page, err := s.ListAccounts(ctx(t), q)
		mustNil(t, err, "page")
		for _, a := range page {
			got = append(got, a.ID)
		}
		if len(page) < q.Limit {
			break
		}
		last := page[len(page)-1]
		q.AfterCreatedAt, q.AfterID = last.CreatedAt, last.ID
	}
	mustEqual(t, got, want, "paged accounts")
}

func testDataTransactionsKeyset(t *testing.T, s DataBackend) {
	seedDataUsers(t, s, "u1")
	var txns []store.Transaction
	// 250 transactions, three per instant, in an order the store must sort.
	for i := 249; i >= 0; i-- {
		txns = append(txns, txnAt("acct-1", i, base.Add(time.Duration(i/3)*time.Minute)))
	}
	mustNil(t, s.ImportData(ctx(t), store.DataImport{Now: base, Accounts: []store.AccountData{
		{Account: dataAccount("u1", "acct-1", base), Transactions: txns},
	}}), "import")

	page := func(q store.TransactionQuery) []store.Transaction {
		t.Helper()
		got, err := s.ListTransactions(ctx(t), q)
		mustNil(t, err, "list transactions")
		return got
	}
	from, to := base.Add(10*time.Minute), base.Add(60*time.Minute) // i in [30, 180)
	var ids []string
	q := store.TransactionQuery{AccountID: "acct-1", From: from, To: to, Limit: 40}
	for range 10 {
		got := page(q)
		for _, tx := range got {
			ids = append(ids, tx.ID)
			if !bytes.Contains(tx.Body, []byte(tx.ID)) || tx.AccountID != "acct-1" {
				t.Fatalf("transaction %+v: body or account wrong", tx)
			}
		}
		if len(got) < q.Limit {
			break
		}
		q.AfterAt, q.AfterID = got[len(got)-1].At, got[len(got)-1].ID
	}
	var want []string
	for i := 30; i < 180; i++ {
		want = append(want, fmt.Sprintf("txn-%05d", i))
	}
	mustEqual(t, ids, want, "paged window")

	first := page(store.TransactionQuery{AccountID: "acct-1", From: base, To: base.Add(time.Hour * 24), Limit: 1})
	if len(first) != 1 || first[0].ID != "txn-00000" || !first[0].At.Equal(base) {
		t.Fatalf("first transaction = %+v", first)
	}
	if got := page(store.TransactionQuery{AccountID: "acct-2", From: base, To: to, Limit: 10}); len(got) != 0 {
		t.Fatalf("other account: %d transactions", len(got))
	}
	// A cursor before the window does not widen it.
	got := page(store.TransactionQuery{AccountID: "acct-1", From: from, To: to, AfterAt: base, AfterID: "txn-00001", Limit: 1})
	if len(got) != 1 || got[0].ID != "txn-00030" {
		t.Fatalf("stale cursor page = %+v; want txn-00030", got)
	}
}

func testDataStatements(t *testing.T, s DataBackend) {
	seedDataUsers(t, s, "u1")
	var sts []store.Statement
	for m := 12; m >= 1; m-- {
		sts = append(sts, store.Statement{ID: fmt.Sprintf("st-%02d", m), Date: fmt.Sprintf("2026-%02d-28", m),
			Description: fmt.Sprintf("Statement %d", m), Status: "AVAILABLE", PDF: []byte(fmt.Sprintf("%%PDF-1.4 %d", m))})
	}
	mustNil(t, s.ImportData(ctx(t), store.DataImport{Now: base, Accounts: []store.AccountData{
		{Account: dataAccount("u1", "acct-1", base), Statements: sts},
		{Account: dataAccount("u1", "acct-2", base)},
	}}), "import")
	var got []string
	q := store.StatementQuery{AccountID: "acct-1", FromDate: "2026-03-01", ToDate: "2026-09-28", Limit: 4}
	for range 5 {
		page, err := s.ListStatements(ctx(t), q)
		mustNil(t, err, "list statements")
		for _, st := range page {
			if st.PDF != nil || st.AccountID != "acct-1" || st.Status != "AVAILABLE" {
				t.Fatalf("listed statement %+v: want no PDF, account acct-1", st)
			}
			got = append(got, st.ID)
		}
		if len(page) < q.Limit {
			break
		}
		q.AfterDate, q.AfterID = page[len(page)-1].Date, page[len(page)-1].ID
	}
	mustEqual(t, got, []string{"st-03", "st-04", "st-05", "st-06", "st-07", "st-08", "st-09"}, "statements in window")

	pdf, err := s.GetStatementPDF(ctx(t), "acct-1", "st-07")
	mustNil(t, err, "get PDF")
	if string(pdf) != "%PDF-1.4 7" {
		t.Fatalf("PDF = %q", pdf)
	}
	_, err = s.GetStatementPDF(ctx(t), "acct-2", "st-07")
	mustIs(t, err, store.ErrNotFound, "PDF through another account")
	_, err = s.GetStatementPDF(ctx(t), "acct-1", "st-99")
	mustIs(t, err, store.ErrNotFound, "unknown statement")
}

func testDataNetworks(t *testing.T, s DataBackend) {
	seedDataUsers(t, s, "u1")
	var pay [][]byte
	for i := range 5 {
		pay = append(pay, []byte(fmt.Sprintf(`{"n":%d}`, i)))
	}
	mustNil(t, s.ImportData(ctx(t), store.DataImport{Now: base, Accounts: []store.AccountData{
		{Account: dataAccount("u1", "acct-1", base), PaymentNetworks: pay, AssetTransferNetworks: [][]byte{[]byte(`{"a":1}`)}},
	}}), "import")
	got, err := s.ListNetworks(ctx(t), store.NetworkQuery{AccountID: "acct-1", Kind: store.PaymentNetwork, AfterPosition: -1, Limit: 3})
	mustNil(t, err, "payment networks")
	if len(got) != 3 || got[0].Position != 0 || string(got[2].Body) != `{"n":2}` || got[2].Kind != store.PaymentNetwork {
		t.Fatalf("first page = %+v", got)
	}
	got, err = s.ListNetworks(ctx(t), store.NetworkQuery{AccountID: "acct-1", Kind: store.PaymentNetwork, AfterPosition: 2, Limit: 3})
	mustNil(t, err, "payment networks page 2")
	if len(got) != 2 || got[0].Position != 3 || string(got[1].Body) != `{"n":4}` {
		t.Fatalf("second page = %+v", got)
	}
	got, err = s.ListNetworks(ctx(t), store.NetworkQuery{AccountID: "acct-1", Kind: store.AssetTransferNetwork, AfterPosition: -1, Limit: 3})
	mustNil(t, err, "asset transfer networks")
	if len(got) != 1 || string(got[0].Body) != `{"a":1}` {
		t.Fatalf("asset transfer networks = %+v", got)
	}
}

func testDataReplaceAccount(t *testing.T, s DataBackend) {
	seedDataUsers(t, s, "u1")
	first := store.DataImport{Now: base, Accounts: []store.AccountData{
		{Account: dataAccount("u1", "acct-1", base), Transactions: []store.Transaction{txnAt("acct-1", 1, base), txnAt("acct-1", 2, base)},
			Statements:      []store.Statement{{ID: "st-1", Date: "2026-01-31", PDF: []byte("%PDF-old")}},
			PaymentNetworks: [][]byte{[]byte(`{"old":1}`), []byte(`{"old":2}`)}},
		{Account: dataAccount("u1", "acct-2", base.Add(time.Second))},
	}}
	mustNil(t, s.ImportData(ctx(t), first), "first import")

	later := base.Add(time.Hour)
	changed := dataAccount("u1", "acct-1", later) // a later CreatedAt is ignored: the account keeps its place
	changed.Status, changed.Nickname, changed.Details, changed.Contact = "CLOSED", "Old bills", []byte(`{"v":2}`), nil
	mustNil(t, s.ImportData(ctx(t), store.DataImport{Now: later, Accounts: []store.AccountData{
		{Account: changed, Transactions: []store.Transaction{txnAt("acct-1", 3, later)},
			Statements:      []store.Statement{{ID: "st-1", Date: "2026-02-28", PDF: []byte("%PDF-new")}},
			PaymentNetworks: [][]byte{[]byte(`{"new":1}`)}},
	}}), "replace")

	got, err := s.GetAccount(ctx(t), "u1", "acct-1")
	mustNil(t, err, "get")
	if got.Status != "CLOSED" || got.Nickname != "Old bills" || string(got.Details) != `{"v":2}` || got.Contact != nil ||
		!got.CreatedAt.Equal(base) || !got.UpdatedAt.Equal(later) {
		t.Fatalf("replaced account = %+v", got)
	}
	list, err := s.ListAccounts(ctx(t), store.AccountQuery{UserID: "u1", Limit: 10})
	mustNil(t, err, "list")
	if len(list) != 2 || list[0].ID != "acct-1" {
		t.Fatalf("accounts after replace = %+v; want acct-1 first still, acct-2 kept", list)
	}
	txns, err := s.ListTransactions(ctx(t), store.TransactionQuery{AccountID: "acct-1", From: base, To: later.Add(time.Hour), Limit: 10})
	mustNil(t, err, "transactions")
	if len(txns) != 1 || txns[0].ID != "txn-00003" {
		t.Fatalf("transactions after replace = %+v; want only txn-00003", txns)
	}
	pdf, err := s.GetStatementPDF(ctx(t), "acct-1", "st-1")
	mustNil(t, err, "pdf")
	if string(pdf) != "%PDF-new" {
		t.Fatalf("PDF after replace = %q", pdf)
	}
	nets, err := s.ListNetworks(ctx(t), store.NetworkQuery{AccountID: "acct-1", Kind: store.PaymentNetwork, AfterPosition: -1, Limit: 10})
	mustNil(t, err, "networks")
	if len(nets) != 1 || string(nets[0].Body) != `{"new":1}` {
		t.Fatalf("networks after replace = %+v", nets)
	}
}

func testDataReplaceUsers(t *testing.T, s DataBackend) {
	seedDataUsers(t, s, "u1", "u2")
	mustNil(t, s.ImportData(ctx(t), store.DataImport{Now: base, Accounts: []store.AccountData{
		{Account: dataAccount("u1", "acct-1", base), Transactions: []store.Transaction{txnAt("acct-1", 1, base)}},
		{Account: dataAccount("u1", "acct-2", base)},
		{Account: dataAccount("u2", "acct-3", base)},
	}}), "import")
	mustNil(t, s.ImportData(ctx(t), store.DataImport{Now: base, ReplaceUsers: []string{"u1"}, Accounts: []store.AccountData{
		{Account: dataAccount("u1", "acct-2", base)},
	}}), "replace u1")
	sums, err := s.ListAccountSummaries(ctx(t), "u1")
	mustNil(t, err, "u1 accounts")
	if len(sums) != 1 || sums[0].ID != "acct-2" {
		t.Fatalf("u1 accounts = %+v; want acct-2 only", sums)
	}
	txns, err := s.ListTransactions(ctx(t), store.TransactionQuery{AccountID: "acct-1", From: base, To: base.Add(time.Hour), Limit: 10})
	mustNil(t, err, "deleted account's transactions")
	if len(txns) != 0 {
		t.Fatalf("a deleted account kept %d transactions", len(txns))
	}
	if sums, _ := s.ListAccountSummaries(ctx(t), "u2"); len(sums) != 1 {
		t.Fatalf("u2 accounts = %+v; want untouched", sums)
	}
}

func testDataImportAllOrNothing(t *testing.T, s DataBackend) {
	seedDataUsers(t, s, "u1", "u2")
	mustNil(t, s.ImportData(ctx(t), store.DataImport{Now: base, Accounts: []store.AccountData{
		{Account: dataAccount("u2", "owned-by-u2", base)},
	}}), "seed u2")

	good := store.AccountData{Account: dataAccount("u1", "acct-1", base), Transactions: []store.Transaction{txnAt("acct-1", 1, base)}}
	tests := []struct {
		name string
		imp  store.DataImport
		want error
	}{
		{"unknown user", store.DataImport{Accounts: []store.AccountData{good, {Account: dataAccount("nobody", "acct-9", base)}}}, store.ErrNotFound},
		{"another user's account id", store.DataImport{Accounts: []store.AccountData{good, {Account: dataAccount("u1", "owned-by-u2", base)}}}, store.ErrAlreadyExists},
		{"duplicate transaction id", store.DataImport{Accounts: []store.AccountData{good, {Account: dataAccount("u1", "acct-2", base),
			Transactions: []store.Transaction{txnAt("acct-2", 1, base), txnAt("acct-2", 1, base.Add(time.Minute))}}}}, store.ErrAlreadyExists},
		{"duplicate statement id", store.DataImport{Accounts: []store.AccountData{good, {Account: dataAccount("u1", "acct-2", base),
			Statements: []store.Statement{{ID: "s", Date: "2026-01-31", PDF: []byte("%PDF")}, {ID: "s", Date: "2026-02-28", PDF: []byte("%PDF")}}}}}, store.ErrAlreadyExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustIs(t, s.ImportData(ctx(t), tt.imp), tt.want, "import")
			_, err := s.GetAccount(ctx(t), "u1", "acct-1")
			mustIs(t, err, store.ErrNotFound, "the good account of a failed import")
			if sums, _ := s.ListAccountSummaries(ctx(t), "u1"); len(sums) != 0 {
				t.Fatalf("a failed import left accounts: %+v", sums)
			}
		})
	}
}
