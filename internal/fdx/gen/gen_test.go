package gen

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/fdx/dataset"
	"github.com/fdxd/fdxd/internal/fdx/fdxtest"
	"github.com/fdxd/fdxd/internal/fdx/model"
	"github.com/fdxd/fdxd/internal/fdx/pdf"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/sqlite"
)

var now = time.Date(2026, 11, 25, 15, 4, 5, 0, time.UTC)

func generate(t *testing.T, opts Options) *dataset.File {
	t.Helper()
	f, err := Generate(opts)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return f
}

func TestGenerateIsDeterministic(t *testing.T) {
	opts := Options{Username: "alice", Seed: 7, Now: now, TransactionsPerAccount: 120}
	a, err := model.Marshal(generate(t, opts))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := model.Marshal(generate(t, opts))
	if !bytes.Equal(a, b) {
		t.Fatal("the same options gave different data")
	}
	opts.Seed = 8
	c, _ := model.Marshal(generate(t, opts))
	if bytes.Equal(a, c) {
		t.Fatal("another seed gave the same data")
	}
	other := generate(t, Options{Username: "bob", Seed: 7, Now: now, TransactionsPerAccount: 120})
	if other.Customers[0].Accounts[0].Account.AccountID == generate(t, opts).Customers[0].Accounts[0].Account.AccountID {
		t.Fatal("two users got the same account ID")
	}
}

func TestGeneratedDataIsRealisticAndConsistent(t *testing.T) {
	f := generate(t, Options{Username: "alice", HolderName: "Alice Liddell", Seed: 1, Now: now, TransactionsPerAccount: 300})
	accounts := f.Customers[0].Accounts
	cats := map[model.AccountCategory]bool{}
	for _, a := range accounts {
		acc := a.Account
		cats[acc.AccountCategory] = true
		if strings.Contains(acc.AccountID, acc.AccountNumberDisplay[3:]) {
			t.Errorf("account ID %q reveals the account number", acc.AccountID)
		}
		for _, p := range a.PaymentNetworks {
			if !model.ValidABA(p.BankID) || !strings.HasSuffix(p.Identifier, acc.AccountNumberDisplay[3:]) {
				t.Errorf("%s: payment network %+v: bad routing number or identifier", acc.AccountType, p)
			}
		}
		if a.Contact == nil || len(a.Contact.Holders) == 0 {
			t.Errorf("%s: no contact", acc.AccountType)
		}
		for _, tx := range a.Transactions {
			if tx.TransactionTimestamp.After(now) || (tx.Status == model.TransactionStatusPosted && tx.PostedTimestamp.After(now)) {
				t.Errorf("%s: transaction %s dated after now", acc.AccountType, tx.TransactionID)
			}
		}
		if !model.HasDetails(acc.AccountCategory) {
			continue
		}
		if len(a.Statements) < 23 {
			t.Errorf("%s: %d statements; want monthly over two years", acc.AccountType, len(a.Statements))
		}
		for _, s := range a.Statements {
			if err := pdf.Verify(s.PDF); err != nil {
				t.Fatalf("%s statement %s: %v", acc.AccountType, s.StatementID, err)
			}
		}
		checkBalances(t, a)
	}
	for _, c := range []model.AccountCategory{model.DepositAccount, model.LoanAccount, model.LocAccount, model.InvestmentAccount,
		model.DigitalWallet, model.AnnuityAccount, model.InsuranceAccount, model.CommercialAccount} {
		if !cats[c] {
			t.Errorf("no %s account", c)
		}
	}
	checking := accounts[0]
	if checking.Account.AccountType != "CHECKING" || len(checking.Transactions) < 250 {
		t.Fatalf("checking: %s with %d transactions; want about 300", checking.Account.AccountType, len(checking.Transactions))
	}
	var pending, mcc int
	for _, tx := range checking.Transactions {
		if tx.Status == model.TransactionStatusPending {
			pending++
		}
		if tx.SubCategory == "MCC" && len(tx.Category) == 4 {
			mcc++
		}
	}
	if pending == 0 || mcc < 100 {
		t.Errorf("checking: %d pending, %d with an MCC; want some of each", pending, mcc)
	}
}

// checkBalances recomputes each account's balance from its transactions.
func checkBalances(t *testing.T, a dataset.AccountData) {
	t.Helper()
	var credits, debits, pendingNet model.Amount
	for _, tx := range a.Transactions {
		signed := tx.Amount
		if tx.DebitCreditMemo != model.DebitCreditMemoCredit {
			signed = -signed
		}
		if tx.Status == model.TransactionStatusPosted {
			if signed > 0 {
				credits += signed
			} else {
				debits -= signed
			}
		} else {
			pendingNet += signed
		}
	}
	acc := a.Account
	switch acc.AccountCategory {
	case model.DepositAccount:
		if *acc.AvailableBalance != *acc.CurrentBalance+pendingNet {
			t.Errorf("%s: available %s != current %s + pending %s", acc.AccountType, acc.AvailableBalance, acc.CurrentBalance, pendingNet)
		}
	case model.InvestmentAccount:
		var holdings model.Amount
		for _, h := range acc.Holdings {
			if !h.CashAccount {
				holdings += h.MarketValue
			}
		}
		if *acc.CurrentValue != holdings+*acc.AvailableCashBalance {
			t.Errorf("investment: current value %s != holdings %s + cash %s", acc.CurrentValue, holdings, acc.AvailableCashBalance)
		}
	case model.LocAccount:
		if *acc.AvailableCredit > *acc.CreditLine-*acc.CurrentBalance {
			t.Errorf("credit card: available credit %s exceeds line %s minus balance %s", acc.AvailableCredit, acc.CreditLine, acc.CurrentBalance)
		}
	}
	if credits == 0 && debits == 0 {
		t.Errorf("%s: no posted transactions", acc.AccountType)
	}
}

func TestGeneratedFileRoundTripsThroughTheImportFormat(t *testing.T) {
	f := generate(t, Options{Username: "alice", Seed: 3, Now: now, TransactionsPerAccount: 50, Months: 3})
	b, err := model.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	fdxtest.CheckNoNull(t, b)
	back, err := dataset.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Read(Marshal(generated)): %v", err)
	}
	b2, _ := model.Marshal(back)
	if !bytes.Equal(b, b2) {
		t.Fatal("the import format does not round-trip")
	}
}

func TestGenerateRefusesBadOptions(t *testing.T) {
	for _, o := range []Options{
		{Username: "a", Now: now, Accounts: 3},
		{Username: "a", Now: now, TransactionsPerAccount: -1},
		{Username: "", Now: now},
		{Username: "a"},
	} {
		if _, err := Generate(o); err == nil {
			t.Errorf("Generate(%+v) succeeded", o)
		}
	}
}

func TestDemoIsIdempotent(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "fdxd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u := store.User{ID: "u1", Subject: "usr_demo_0001", Username: "demo", Name: "Demo User", Email: "demo@example.com", CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	count := func() (accounts, txns int) {
		sums, err := st.ListAccountSummaries(t.Context(), "u1")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sums {
			got, err := st.ListTransactions(t.Context(), store.TransactionQuery{AccountID: s.ID, From: now.AddDate(-3, 0, 0), To: now.AddDate(1, 0, 0), Limit: 100000})
			if err != nil {
				t.Fatal(err)
			}
			txns += len(got)
		}
		return len(sums), txns
	}
	if err := Demo(t.Context(), st, "u1", now); err != nil {
		t.Fatalf("Demo: %v", err)
	}
	a1, t1 := count()
	if a1 != DefaultAccounts || t1 < 2000 {
		t.Fatalf("demo: %d accounts, %d transactions; want %d accounts and two years of history", a1, t1, DefaultAccounts)
	}
	for _, later := range []time.Time{now.Add(time.Hour), now.AddDate(0, 0, 3)} {
		if err := Demo(t.Context(), st, "u1", later); err != nil {
			t.Fatalf("Demo again: %v", err)
		}
		a2, t2 := count()
		if a2 != a1 || t2 < t1*9/10 || t2 > t1*11/10 {
			t.Fatalf("Demo again at %v: %d accounts, %d transactions; want %d and about %d (no duplicates)", later, a2, t2, a1, t1)
		}
	}
}
