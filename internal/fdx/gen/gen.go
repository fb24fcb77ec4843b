// Package gen generates realistic, deterministic FDX data: accounts of
// every category, transactions with real-looking payees and MCC categories,
// balances computed from those transactions, monthly statements with their
// PDFs, contacts, payment networks with valid ABA routing numbers and
// asset-transfer networks. The same options give the same data.
package gen

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/fdxd/fdxd/internal/fdx/dataset"
	"github.com/fdxd/fdxd/internal/fdx/model"
)

// Options says what to generate.
type Options struct {
	// Username owns the data; it also seeds the account IDs, so two users
	// never share one.
	Username string
	// HolderName and Email appear in contacts and statements.
	HolderName string
	Email      string
	// Accounts is how many accounts (default 9: one of every category; at
	// least 4: deposit, line of credit, loan and investment).
	Accounts int
	// TransactionsPerAccount is the number of transactions of each
	// everyday account (checking, credit card, brokerage) over the history
	// (default 400). Savings and loans follow their monthly schedules.
	TransactionsPerAccount int
	// Months of history (default 24).
	Months int
	Seed   uint64
	// Now is the end of the history; nothing is dated after it.
	Now time.Time
	// Institution names the bank on statements and networks.
	Institution string
}

// Defaults for Options.
const (
	DefaultAccounts     = 9
	DefaultTransactions = 400
	DefaultMonths       = 24
	MinAccounts         = 4
	MaxAccounts         = 50
	MaxTransactions     = 200_000
)

type template struct {
	cat      model.AccountCategory
	typ      string
	product  string
	nickname string
}

// templates: the four main types first, so that MinAccounts covers them,
// then every other category, then more of the main ones.
var templates = []template{
	{model.DepositAccount, "CHECKING", "Everyday Checking", "Bills"},
	{model.LocAccount, "CREDITCARD", "Cashback Visa Signature", "Visa"},
	{model.LoanAccount, "MORTGAGE", "30-Year Fixed Mortgage", "Home"},
	{model.InvestmentAccount, "TAXABLE", "Self-Directed Brokerage", "Brokerage"},
	{model.DepositAccount, "SAVINGS", "High Yield Savings", "Rainy day"},
	{model.DigitalWallet, "DIGITALWALLET", "Pay Wallet", ""},
	{model.AnnuityAccount, "FIXEDANNUITY", "Fixed Income Annuity", ""},
	{model.InsuranceAccount, "WHOLELIFE", "Whole Life Policy", ""},
	{model.CommercialAccount, "COMMERCIALDEPOSIT", "Business Checking", "Studio"},
	{model.LoanAccount, "AUTOLOAN", "Auto Loan", "Car"},
	{model.InvestmentAccount, "401K", "401(k) Retirement Plan", "Retirement"},
	{model.LoanAccount, "STUDENTLOAN", "Student Loan", ""},
	{model.DepositAccount, "MONEYMARKET", "Money Market", ""},
	{model.LocAccount, "HOMELINEOFCREDIT", "Home Equity Line of Credit", "HELOC"},
}

// Generate builds a checked import file for opts.Username.
func Generate(opts Options) (*dataset.File, error) {
	if opts.Username == "" {
		return nil, errors.New("gen: no username")
	}
	if opts.Accounts == 0 {
		opts.Accounts = DefaultAccounts
	}
	if opts.TransactionsPerAccount == 0 {
		opts.TransactionsPerAccount = DefaultTransactions
	}
	if opts.Months == 0 {
		opts.Months = DefaultMonths
	}
	switch {
	case opts.Accounts < MinAccounts || opts.Accounts > MaxAccounts:
		return nil, fmt.Errorf("gen: accounts must be between %d (one of each main type) and %d, got %d", MinAccounts, MaxAccounts, opts.Accounts)
	case opts.TransactionsPerAccount < 1 || opts.TransactionsPerAccount > MaxTransactions:
		return nil, fmt.Errorf("gen: transactions per account must be between 1 and %d, got %d", MaxTransactions, opts.TransactionsPerAccount)
	case opts.Months < 1 || opts.Months > 120:
		return nil, fmt.Errorf("gen: months of history must be between 1 and 120, got %d", opts.Months)
	case opts.Now.IsZero():
		return nil, errors.New("gen: no end time")
	}
	if opts.HolderName == "" {
		opts.HolderName = "Alex Morgan"
	}
	if opts.Email == "" {
		opts.Email = opts.Username + "@example.com"
	}
	if opts.Institution == "" {
		opts.Institution = "fdxd Demo Bank"
	}
	h := fnv.New64a()
	h.Write([]byte(opts.Username))
	g := &generator{
		opts:    opts,
		userKey: h.Sum64(),
		now:     opts.Now.UTC().Truncate(time.Second),
	}
	g.start = g.now.AddDate(0, -opts.Months, 0)
	bank := g.rng(0xba4c)
	g.routing = routingNumber(bank)
	g.address = addresses[bank.IntN(len(addresses))]
	g.phone = fmt.Sprintf("%03d555%04d", []int{312, 415, 617, 206, 512, 303}[bank.IntN(6)], bank.IntN(10000))

	c := dataset.Customer{Username: opts.Username}
	for i := range opts.Accounts {
		c.Accounts = append(c.Accounts, g.account(i, templates[i%len(templates)]))
	}
	f := &dataset.File{Customers: []dataset.Customer{c}}
	if err := f.Check(); err != nil {
		return nil, fmt.Errorf("gen: generated data breaks a rule (a bug): %w", err)
	}
	return f, nil
}

type generator struct {
	opts       Options
	userKey    uint64
	now, start time.Time
	routing    string
	address    model.DeliveryAddress
	phone      string
}

// rng returns the generator for one stream of choices, so that adding an
// account does not change the others.
func (g *generator) rng(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(g.opts.Seed^g.userKey, stream))
}

func (g *generator) account(i int, t template) dataset.AccountData {
	r := g.rng(uint64(i) + 1)
	id := fmt.Sprintf("acc_%012x", (g.userKey^g.opts.Seed*0x9e3779b97f4a7c15^uint64(i)*0xbf58476d1ce4e5b9)&0xffffffffffff)
	number := digits(r, 10+r.IntN(3))
	a := &accountBuilder{g: g, r: r, id: id, number: number, t: t}
	a.desc = model.AccountDescriptor{
		AccountCategory: t.cat, AccountID: id, AccountType: t.typ, AccountNumberDisplay: "..." + number[len(number)-4:],
		ProductName: t.product, ProductID: strings.ToLower(t.typ) + "-" + fmt.Sprint(1+i/len(templates)),
		Nickname: t.nickname, Status: model.AccountStatusOpen, Currency: model.Currency{CurrencyCode: "USD"},
	}
	d := dataset.AccountData{Contact: g.contact(r, t)}
	switch t.cat {
	case model.DepositAccount:
		if t.typ == "CHECKING" {
			a.checking()
		} else {
			a.savings()
		}
		d.PaymentNetworks = []model.PaymentNetwork{{BankID: g.routing, Identifier: number, Type: model.PaymentNetworkTypeUsAch, TransferIn: true, TransferOut: true}}
		if t.typ == "CHECKING" {
			d.PaymentNetworks = append(d.PaymentNetworks, model.PaymentNetwork{BankID: g.routing, Identifier: number,
				Type: model.PaymentNetworkTypeUsFednow, TransferIn: true, TransferOut: true})
		}
	case model.LocAccount:
		a.creditLine()
	case model.LoanAccount:
		a.loan()
	case model.InvestmentAccount:
		a.investment()
		d.AssetTransferNetworks = []model.AssetTransferNetwork{{Identifier: number, IdentifierType: model.PaymentNetworkIdentifierTypeAccountNumber,
			InstitutionName: g.opts.Institution, InstitutionID: fmt.Sprintf("%04d", 100+r.IntN(9000)), Type: model.AssetTransferTypeUsAcats,
			JointAccount: ptr(false)}}
	case model.CommercialAccount:
		d.PaymentNetworks = []model.PaymentNetwork{{BankID: g.routing, Identifier: number, Type: model.PaymentNetworkTypeUsAch, TransferIn: true, TransferOut: true}}
	}
	d.Account = a.details
	d.Account.AccountDescriptor = a.desc
	d.Transactions = a.txns
	d.Statements = a.statements()
	return d
}

func (g *generator) contact(r *rand.Rand, t template) *model.AccountContact {
	first, last, _ := strings.Cut(g.opts.HolderName, " ")
	if last == "" {
		last = first
	}
	holders := []model.AccountHolder{{Type: model.BusinessOrConsumerConsumer, Relationship: model.AccountHolderRelationshipPrimary,
		Name: &model.CustomerName{First: first, Last: last}}}
	switch {
	case t.cat == model.CommercialAccount:
		holders = []model.AccountHolder{{Type: model.BusinessOrConsumerBusiness, Relationship: model.AccountHolderRelationshipBusiness,
			BusinessCustomer: &model.BusinessCustomer{Name: last + " Design Studio LLC"}},
			{Type: model.BusinessOrConsumerConsumer, Relationship: model.AccountHolderRelationshipAuthorizedSigner,
				Name: &model.CustomerName{First: first, Last: last}}}
	case t.typ == "SAVINGS" || t.typ == "MORTGAGE":
		holders[0].Relationship = model.AccountHolderRelationshipPrimaryJoint
		if t.typ == "MORTGAGE" {
			holders[0].Relationship = model.AccountHolderRelationshipPrimaryBorrower
		}
		joint := jointNames[r.IntN(len(jointNames))]
		rel := model.AccountHolderRelationshipSecondaryJoint
		if t.typ == "MORTGAGE" {
			rel = model.AccountHolderRelationshipSecondaryBorrower
		}
		holders = append(holders, model.AccountHolder{Type: model.BusinessOrConsumerConsumer, Relationship: rel,
			Name: &model.CustomerName{First: joint, Middle: "J", Last: last}})
	}
	addr := g.address
	addr.Primary = ptr(true)
	return &model.AccountContact{
		Holders:   holders,
		Emails:    []string{g.opts.Email},
		Addresses: []model.DeliveryAddress{addr},
		Telephones: []model.TelephoneNumber{{Type: model.TelephoneNumberPurposePersonal, Country: "1", Number: g.phone,
			Network: model.TelephoneNetworkCellular, Primary: ptr(true)}},
	}
}

// accountBuilder accumulates one account's transactions and balances.
type accountBuilder struct {
	g       *generator
	r       *rand.Rand
	id      string
	number  string
	t       template
	desc    model.AccountDescriptor
	details model.Account
	txns    []model.Transaction
	seq     int
	// opening is the balance at g.start: what the customer has, or for
	// loans and lines of credit what they owe. balanceSign is +1 when
	// credits raise the balance, -1 when debits do (what is owed).
	opening     model.Amount
	balanceSign model.Amount
	hasStmts    bool
}

// event is a transaction before it gets its final ID and status.
type event struct {
	at      time.Time
	amount  model.Amount
	credit  bool
	desc    string
	mcc     string
	payee   string
	check   int64
	txnType string
	inv     *investmentDetail
}

type investmentDetail struct {
	symbol, cusip string
	units, price  float64
	secType       model.SecurityType
}

// add turns events into transactions: those of the last three days are
// still pending (transaction time only, IDs of their own), the rest posted
// the next business day.
func (a *accountBuilder) add(evs []event) {
	slices.SortStableFunc(evs, func(x, y event) int { return x.at.Compare(y.at) })
	pendingFrom := a.g.now.Add(-72 * time.Hour)
	for _, e := range evs {
		if e.at.After(a.g.now) || e.at.Before(a.g.start) || e.amount <= 0 {
			continue
		}
		a.seq++
		t := model.Transaction{
			AccountCategory: a.t.cat, TransactionTimestamp: model.TimestampOf(e.at), Description: e.desc,
			Amount: e.amount, DebitCreditMemo: model.DebitCreditMemoDebit, Status: model.TransactionStatusPosted,
		}
		if e.credit {
			t.DebitCreditMemo = model.DebitCreditMemoCredit
		}
		posted := postingTime(e.at)
		if e.at.After(pendingFrom) || posted.After(a.g.now) {
			t.Status = model.TransactionStatusPending
			t.TransactionID = fmt.Sprintf("p%07d", a.seq)
		} else {
			t.PostedTimestamp = model.TimestampOf(posted)
			t.TransactionID = fmt.Sprintf("t%07d", a.seq)
		}
		if e.mcc != "" {
			t.Category, t.SubCategory = e.mcc, "MCC"
		}
		switch a.t.cat {
		case model.DepositAccount:
			t.Payee = e.payee
			if e.check > 0 {
				t.CheckNumber = ptr(e.check)
			}
		case model.LocAccount:
			t.TransactionType = e.txnType
			if e.mcc != "" {
				t.CardNumberDisplay = "..." + a.number[len(a.number)-4:]
			}
		case model.LoanAccount:
			t.TransactionType = e.txnType
		case model.InvestmentAccount:
			t.TransactionType = e.txnType
			t.Fees = ptr(model.Amount(0))
			if e.inv != nil {
				t.Symbol, t.SecurityID, t.SecurityIDType = e.inv.symbol, e.inv.cusip, model.SecurityIDTypeCusip
				t.SecurityType, t.UnitType = e.inv.secType, model.UnitTypeShares
				t.Units, t.UnitPrice = ptr(model.Number(e.inv.units)), ptr(model.Number(e.inv.price))
			}
			if e.txnType == "FEE" {
				t.Fees = ptr(e.amount)
			}
		}
		a.txns = append(a.txns, t)
	}
}

// postingTime is the next business day, 06:00 UTC.
func postingTime(at time.Time) time.Time {
	d := time.Date(at.Year(), at.Month(), at.Day()+1, 6, 0, 0, 0, time.UTC)
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// balances returns the posted balance (current) and the one including
// pending transactions (available) after all transactions.
func (a *accountBuilder) balances() (current, available model.Amount) {
	current = a.opening
	available = a.opening
	for _, t := range a.txns {
		delta := t.Amount
		if t.DebitCreditMemo != model.DebitCreditMemoCredit {
			delta = -delta
		}
		delta *= a.balanceSign
		if t.Status == model.TransactionStatusPosted {
			current += delta
		}
		available += delta
	}
	return current, available
}

// months calls fn for the first day of every month of the history.
func (a *accountBuilder) months(fn func(month time.Time)) {
	m := time.Date(a.g.start.Year(), a.g.start.Month(), 1, 0, 0, 0, 0, time.UTC)
	for ; !m.After(a.g.now); m = m.AddDate(0, 1, 0) {
		fn(m)
	}
}

// randomTimes spreads n instants over the history, in business hours.
func (a *accountBuilder) randomTimes(n int) []time.Time {
	span := a.g.now.Sub(a.g.start)
	out := make([]time.Time, n)
	for i := range out {
		t := a.g.start.Add(time.Duration(a.r.Int64N(int64(span))))
		out[i] = time.Date(t.Year(), t.Month(), t.Day(), 8+a.r.IntN(13), a.r.IntN(60), a.r.IntN(60), 0, time.UTC)
	}
	return out
}

func (a *accountBuilder) amount(lo, hi float64) model.Amount {
	return model.Amount(math.Round((lo + a.r.Float64()*(hi-lo)) * 100))
}

func (a *accountBuilder) checking() {
	a.balanceSign = 1
	a.opening = a.amount(1800, 4200)
	var evs []event
	recurring := 0
	a.months(func(m time.Time) {
		evs = append(evs,
			event{at: m.AddDate(0, 0, 2).Add(9 * time.Hour), amount: a.amount(1650, 1650), desc: "Rent - Lakeview Properties", payee: "Lakeview Properties"},
			event{at: m.AddDate(0, 0, 11).Add(10 * time.Hour), amount: a.amount(60, 140), desc: "ComEd Electric Bill Payment", payee: "ComEd", mcc: "4900"},
			event{at: m.AddDate(0, 0, 17).Add(10 * time.Hour), amount: a.amount(65, 65), desc: "Verizon Wireless AutoPay", payee: "Verizon Wireless", mcc: "4814"},
			event{at: m.AddDate(0, 0, 21).Add(8 * time.Hour), amount: a.amount(250, 400), desc: "Transfer to Savings", payee: "Internal transfer"},
		)
		recurring += 4
	})
	n := max(0, a.g.opts.TransactionsPerAccount-recurring-2*a.g.opts.Months)
	check := int64(1000 + a.r.IntN(500))
	var spend model.Amount
	for _, e := range evs {
		spend += e.amount
	}
	for _, at := range a.randomTimes(n) {
		var e event
		switch p := a.r.IntN(100); {
		case p < 4:
			check++
			e = event{amount: a.amount(40, 400), desc: fmt.Sprintf("CHECK %d", check), check: check}
		case p < 10:
			e = event{amount: model.Amount(2000 * (1 + a.r.IntN(10))), desc: "ATM Withdrawal - 1st & Main", mcc: "6011"}
		default:
			m := merchants[a.r.IntN(len(merchants))]
			e = event{amount: a.amount(m.lo, m.hi), desc: "Debit Card Purchase - " + m.name + " " + m.city, payee: m.name, mcc: m.mcc}
		}
		e.at = at
		spend += e.amount
		evs = append(evs, e)
	}
	// Pay twice a month, enough to cover the spending with a margin.
	paydays := 2 * a.g.opts.Months
	pay := spend * 104 / 100 / model.Amount(paydays)
	a.months(func(m time.Time) {
		for _, d := range []int{0, 14} {
			evs = append(evs, event{at: m.AddDate(0, 0, d).Add(7 * time.Hour), amount: pay + a.amount(0, 20), credit: true,
				desc: "ACH Deposit - Northwind Traders Payroll", payee: "Northwind Traders"})
		}
	})
	a.add(evs)
	cur, avail := a.balances()
	a.details.CurrentBalance, a.details.AvailableBalance = ptr(cur), ptr(avail)
	a.details.Overdrafted = ptr(cur < 0)
	a.details.OverdraftOptIn = ptr(false)
	a.details.EarnedInterest = &model.InterestRate{Rate: ptr(model.Number(0.01)), CompoundingPeriod: model.CompoundingPeriodMonthly, Type: model.InterestRateTypeVariable}
	a.hasStmts = true
}

func (a *accountBuilder) savings() {
	a.balanceSign = 1
	a.opening = a.amount(8000, 15000)
	var evs []event
	rate := 4.25
	bal := float64(a.opening) / 100
	a.months(func(m time.Time) {
		dep := a.amount(250, 400)
		evs = append(evs, event{at: m.AddDate(0, 0, 21).Add(8 * time.Hour), amount: dep, credit: true, desc: "Transfer from Checking", payee: "Internal transfer"})
		interest := model.Amount(math.Round(bal * rate / 12))
		bal += float64(dep)/100 + float64(interest)/100
		evs = append(evs, event{at: m.AddDate(0, 1, -1).Add(23 * time.Hour), amount: interest, credit: true, desc: "Interest Paid", payee: "Interest"})
		if a.r.IntN(6) == 0 {
			w := a.amount(200, 1500)
			bal -= float64(w) / 100
			evs = append(evs, event{at: m.AddDate(0, 0, 5+a.r.IntN(20)).Add(12 * time.Hour), amount: w, desc: "Transfer to Checking", payee: "Internal transfer"})
		}
	})
	a.add(evs)
	cur, avail := a.balances()
	a.details.CurrentBalance, a.details.AvailableBalance = ptr(cur), ptr(avail)
	a.details.EarnedInterest = &model.InterestRate{Rate: ptr(model.Number(rate)), CompoundingPeriod: model.CompoundingPeriodMonthly,
		Type: model.InterestRateTypeVariable, RateAsOf: model.DateOf(a.g.start)}
	a.hasStmts = true
}

func (a *accountBuilder) creditLine() {
	a.balanceSign = -1 // debits raise what is owed
	a.opening = 0
	limit := model.Amount(1500000)
	if a.t.typ == "HOMELINEOFCREDIT" {
		limit = 5000000
	}
	apr := 21.99
	var evs []event
	n := a.g.opts.TransactionsPerAccount - 2*a.g.opts.Months
	for _, at := range a.randomTimes(max(0, n)) {
		m := merchants[a.r.IntN(len(merchants))]
		e := event{at: at, amount: a.amount(m.lo, m.hi), desc: m.name + " " + m.city, mcc: m.mcc, txnType: "PURCHASE"}
		evs = append(evs, e)
	}
	slices.SortFunc(evs, func(x, y event) int { return x.at.Compare(y.at) })
	// Each month the card is paid in full for the previous month's
	// purchases, a few months only partly, which costs interest.
	owed := model.Amount(0)
	a.months(func(m time.Time) {
		var spent model.Amount
		for _, e := range evs {
			if e.txnType == "PURCHASE" && e.at.Before(m) && !e.at.Before(m.AddDate(0, -1, 0)) {
				spent += e.amount
			}
		}
		owed += spent
		if owed <= 0 {
			return
		}
		pay := owed
		if a.r.IntN(5) == 0 {
			pay = owed / 2
			interest := model.Amount(math.Round(float64(owed-pay) * apr / 1200))
			evs = append(evs, event{at: m.AddDate(0, 0, 27).Add(23 * time.Hour), amount: interest, desc: "Interest Charge on Purchases", txnType: "INTEREST"})
			owed += interest
		}
		evs = append(evs, event{at: m.AddDate(0, 0, 24).Add(9 * time.Hour), amount: pay, credit: true, desc: "Payment - Thank You", txnType: "PAYMENT"})
		owed -= pay
	})
	a.add(evs)
	owedNow, owedWithPending := a.balances()
	a.details.CurrentBalance = ptr(owedNow)
	a.details.CreditLine = ptr(limit)
	a.details.AvailableCredit = ptr(max(0, limit-max(owedNow, owedWithPending)))
	a.details.PurchasesApr, a.details.AdvancesApr = ptr(model.Number(apr)), ptr(model.Number(29.99))
	var lastPay *model.Transaction
	for i := range a.txns {
		if a.txns[i].TransactionType == "PAYMENT" && a.txns[i].Status == model.TransactionStatusPosted {
			lastPay = &a.txns[i]
		}
	}
	if lastPay != nil {
		a.details.LastPaymentAmount = ptr(lastPay.Amount)
		a.details.LastPaymentDate = model.DateOf(lastPay.PostedTimestamp.Time)
	}
	stmtEnd := lastMonthEnd(a.g.now)
	stmtBal := a.balanceAt(stmtEnd.AddDate(0, 0, 1))
	a.details.LastStmtDate = model.DateOf(stmtEnd)
	a.details.LastStmtBalance = ptr(stmtBal)
	minPay := model.Amount(math.Min(float64(stmtBal), math.Max(2500, math.Round(float64(stmtBal)*0.02))))
	a.details.MinimumPaymentAmount = ptr(max(0, minPay))
	due := model.DateOf(stmtEnd).AddDays(25)
	a.details.NextPaymentDate = due
	a.details.PastDueAmount = ptr(model.Amount(0))
	a.details.Bills = []model.Bill{{TotalPaymentDue: ptr(max(0, stmtBal)), MinimumPaymentDue: ptr(max(0, minPay)), DueDate: due,
		StatementBalance: ptr(stmtBal), StatementDate: model.DateOf(stmtEnd), AutoPayEnabled: ptr(false)}}
	a.hasStmts = true
}

// balanceAt is the posted balance (owed, for credit) just before t.
func (a *accountBuilder) balanceAt(t time.Time) model.Amount {
	bal := a.opening
	for _, x := range a.txns {
		if x.Status != model.TransactionStatusPosted || !x.PostedTimestamp.Before(t) {
			continue
		}
		delta := x.Amount
		if x.DebitCreditMemo != model.DebitCreditMemoCredit {
			delta = -delta
		}
		bal += delta * a.balanceSign
	}
	return bal
}

func lastMonthEnd(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
}

func (a *accountBuilder) loan() {
	a.balanceSign = -1
	var original model.Amount
	var rate float64
	var term int
	switch a.t.typ {
	case "MORTGAGE":
		original, rate, term = a.amount(280000, 520000), 6.125, 360
	case "STUDENTLOAN":
		original, rate, term = a.amount(18000, 42000), 5.5, 120
	default:
		original, rate, term = a.amount(22000, 38000), 7.49, 72
	}
	// The loan started a while before the history; its balance then is
	// what the amortization schedule leaves.
	elapsed := 12 + a.r.IntN(24)
	originated := time.Date(a.g.start.Year(), a.g.start.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -elapsed, 0)
	mr := rate / 1200
	payment := float64(original) * mr / (1 - math.Pow(1+mr, -float64(term)))
	bal := float64(original)
	for range elapsed {
		bal -= payment - bal*mr
	}
	a.opening = model.Amount(math.Round(bal)) // owed
	escrow := model.Amount(0)
	if a.t.typ == "MORTGAGE" {
		escrow = a.amount(450, 700)
	}
	var evs []event
	var lastPaid time.Time
	paid := 0
	a.months(func(m time.Time) {
		interest := model.Amount(math.Round(bal * mr))
		due := m.AddDate(0, 0, 0).Add(8 * time.Hour)
		evs = append(evs,
			event{at: due.Add(-time.Hour), amount: interest, desc: "Interest charged", txnType: "INTEREST"},
			event{at: due, amount: model.Amount(math.Round(payment)), credit: true, desc: "Scheduled payment - thank you", txnType: "PAYMENT"})
		if due.Before(a.g.now) {
			bal -= math.Round(payment) - float64(interest)
			lastPaid = due
			paid++
		}
	})
	if a.r.IntN(2) == 0 {
		evs = append(evs, event{at: a.g.start.AddDate(0, 7, 12).Add(10 * time.Hour), amount: a.amount(1000, 3000), credit: true,
			desc: "Additional principal payment", txnType: "DOUBLE_UP_PAYMENT"})
	}
	a.add(evs)
	owed, _ := a.balances()
	a.details.PrincipalBalance = ptr(owed)
	a.details.InterestRate = ptr(model.Number(rate))
	a.details.InterestRateType = model.InterestRateTypeFixed
	a.details.AnnualPercentageRate = ptr(model.Number(rate + 0.12))
	a.details.OriginalPrincipal = ptr(original)
	a.details.OriginatingDate = model.DateOf(originated)
	a.details.LoanTerm = ptr(int64(term))
	a.details.MaturityDate = model.DateOf(originated.AddDate(0, term, 0))
	a.details.NextPaymentAmount = ptr(model.Amount(math.Round(payment)))
	next := time.Date(a.g.now.Year(), a.g.now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
	a.details.NextPaymentDate = model.DateOf(next)
	if !lastPaid.IsZero() {
		a.details.LastPaymentDate = model.DateOf(postingTime(lastPaid))
		a.details.LastPaymentAmount = ptr(model.Amount(math.Round(payment)))
	}
	var ytd model.Amount
	for _, t := range a.txns {
		if t.TransactionType == "INTEREST" && t.Status == model.TransactionStatusPosted && t.PostedTimestamp.Year() == a.g.now.Year() {
			ytd += t.Amount
		}
	}
	a.details.InterestPaidYearToDate = ptr(ytd)
	a.details.LoanProviderName = a.g.opts.Institution
	switch a.t.typ {
	case "MORTGAGE":
		a.details.AccountNumber = a.number
		a.details.EscrowBalance = ptr(escrow * 6)
	case "STUDENTLOAN":
		a.details.CurrentSchool = "University of Illinois"
	}
	a.hasStmts = true
}

type security struct {
	symbol, cusip, name string
	price               float64
	typ                 model.HoldingType
	secType             model.SecurityType
	divYield            float64
}

var securities = []security{
	{"AAPL", "037833100", "Apple Inc.", 170, model.HoldingTypeStock, model.SecurityTypeStock, 0.005},
	{"MSFT", "594918104", "Microsoft Corporation", 380, model.HoldingTypeStock, model.SecurityTypeStock, 0.008},
	{"VTI", "922908769", "Vanguard Total Stock Market ETF", 230, model.HoldingTypeMutualFund, model.SecurityTypeMutualFund, 0.014},
	{"VXUS", "921909768", "Vanguard Total International Stock ETF", 58, model.HoldingTypeMutualFund, model.SecurityTypeMutualFund, 0.03},
	{"BND", "921937835", "Vanguard Total Bond Market ETF", 72, model.HoldingTypeMutualFund, model.SecurityTypeMutualFund, 0.033},
}

func (a *accountBuilder) investment() {
	a.balanceSign = 1
	a.opening = a.amount(500, 2000)
	cash := float64(a.opening)
	prices := make([]float64, len(securities))
	units := make([]float64, len(securities))
	for i, s := range securities {
		prices[i] = s.price * (0.8 + 0.2*a.r.Float64())
	}
	var evs []event
	n := a.g.opts.TransactionsPerAccount
	perMonth := max(2, n/a.g.opts.Months)
	a.months(func(m time.Time) {
		for i := range prices {
			prices[i] = math.Round(prices[i]*(1+0.012+0.05*a.r.NormFloat64())*100) / 100
			prices[i] = math.Max(prices[i], 1)
		}
		contrib := a.amount(500, 1500)
		cash += float64(contrib)
		evs = append(evs, event{at: m.AddDate(0, 0, 1).Add(9 * time.Hour), amount: contrib, credit: true, desc: "Contribution - ACH from Checking", txnType: "CONTRIBUTION"})
		for k := 0; k < perMonth-1; k++ {
			i := a.r.IntN(len(securities))
			s := securities[i]
			at := m.AddDate(0, 0, 2+a.r.IntN(25)).Add(time.Duration(14+a.r.IntN(6)) * time.Hour)
			if units[i] > 1 && a.r.IntN(5) == 0 {
				u := math.Round(units[i]*0.3*10000) / 10000
				amt := model.Amount(math.Round(u * prices[i] * 100))
				units[i] -= u
				cash += float64(amt)
				evs = append(evs, event{at: at, amount: amt, credit: true, desc: "Sold " + s.symbol, txnType: "SOLD",
					inv: &investmentDetail{s.symbol, s.cusip, u, prices[i], s.secType}})
				continue
			}
			spend := math.Min(cash/100*0.6, 200+a.r.Float64()*800)
			if spend < 20 {
				continue
			}
			u := math.Floor(spend/prices[i]*10000) / 10000
			amt := model.Amount(math.Round(u * prices[i] * 100))
			units[i] += u
			cash -= float64(amt)
			evs = append(evs, event{at: at, amount: amt, desc: "Bought " + s.symbol, txnType: "PURCHASED",
				inv: &investmentDetail{s.symbol, s.cusip, u, prices[i], s.secType}})
		}
		if m.Month()%3 == 0 {
			for i, s := range securities {
				div := model.Amount(math.Round(units[i] * prices[i] * s.divYield / 4 * 100))
				if div > 0 {
					cash += float64(div)
					evs = append(evs, event{at: m.AddDate(0, 0, 15).Add(12 * time.Hour), amount: div, credit: true,
						desc: "Dividend - " + s.name, txnType: "DIVIDEND", inv: nil})
				}
			}
		}
	})
	a.add(evs)
	cur, _ := a.balances()
	// Holdings follow the posted trades only.
	held := make([]float64, len(securities))
	for _, t := range a.txns {
		if t.Status != model.TransactionStatusPosted || t.Units == nil {
			continue
		}
		i := slices.IndexFunc(securities, func(s security) bool { return s.symbol == t.Symbol })
		if t.TransactionType == "SOLD" {
			held[i] -= float64(*t.Units)
		} else {
			held[i] += float64(*t.Units)
		}
	}
	value := cur
	asOf := model.DateOf(a.g.now)
	for i, s := range securities {
		u := math.Round(held[i]*10000) / 10000
		if u <= 0 {
			continue
		}
		mv := model.Amount(math.Round(u * prices[i] * 100))
		value += mv
		a.details.Holdings = append(a.details.Holdings, model.Holding{
			SecurityIDs: []model.SecurityID{{ID: s.cusip, IDType: model.SecurityIDTypeCusip}}, HoldingName: s.name,
			HoldingType: s.typ, Symbol: s.symbol, Units: ptr(model.Number(u)), CurrentUnitPrice: ptr(model.Number(prices[i])),
			CurrentUnitPriceDate: asOf, MarketValue: mv, CashAccount: false, Currency: &model.Currency{CurrencyCode: "USD"},
			FiAttributes: []model.FiAttribute{{Name: "isCashEquivalent", Value: "false"}},
		})
	}
	a.details.Holdings = append(a.details.Holdings, model.Holding{HoldingName: "Cash sweep", HoldingType: model.HoldingTypeOther,
		HoldingSubType: model.HoldingSubTypeCash, Symbol: "CASH", MarketValue: cur, CashAccount: true,
		FiAttributes: []model.FiAttribute{{Name: "isCashEquivalent", Value: "true"}}})
	a.details.AvailableCashBalance = ptr(cur)
	a.details.CurrentValue = ptr(value)
	a.details.BalanceAsOf = model.TimestampOf(a.g.now)
	a.hasStmts = true
}

// statements are monthly, for every month of the history that has ended,
// each with a PDF showing the opening and closing balances.
func (a *accountBuilder) statements() []dataset.Statement {
	if !a.hasStmts {
		return nil
	}
	var out []dataset.Statement
	m := time.Date(a.g.start.Year(), a.g.start.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
	for ; ; m = m.AddDate(0, 1, 0) {
		end := m.AddDate(0, 1, -1)
		if !end.Before(time.Date(a.g.now.Year(), a.g.now.Month(), a.g.now.Day(), 0, 0, 0, 0, time.UTC)) {
			break
		}
		opening := a.balanceAt(m)
		doc := dataset.RenderStatement(dataset.StatementInput{Institution: a.g.opts.Institution, Account: a.desc,
			Holder: a.g.opts.HolderName, From: model.DateOf(m), To: model.DateOf(end), Transactions: a.txns,
			Opening: &opening, Issued: end.AddDate(0, 0, 1)})
		out = append(out, dataset.Statement{StatementID: fmt.Sprintf("st_%s_%s", a.id[4:], end.Format("200601")),
			StatementDate: model.DateOf(end), Description: end.Format("January 2006") + " statement", Status: "AVAILABLE", PDF: doc})
	}
	return out
}

// routingNumber returns a 9-digit ABA routing number with a valid check
// digit, in a Federal Reserve district prefix (01–12).
func routingNumber(r *rand.Rand) string {
	d := []byte(fmt.Sprintf("%02d%06d", 1+r.IntN(12), r.IntN(1_000_000)))
	w := [8]int{3, 7, 1, 3, 7, 1, 3, 7}
	sum := 0
	for i := range 8 {
		sum += w[i] * int(d[i]-'0')
	}
	return string(d) + fmt.Sprint((10-sum%10)%10)
}

func digits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	b[0] = byte('1' + r.IntN(9))
	for i := 1; i < n; i++ {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

func ptr[T any](v T) *T { return &v }

type merchant struct {
	name, city, mcc string
	lo, hi          float64
}

// merchants are everyday payees with their merchant category codes.
var merchants = []merchant{
	{"Whole Foods Market", "Chicago IL", "5411", 18, 160},
	{"Trader Joe's", "Chicago IL", "5411", 15, 95},
	{"Jewel-Osco", "Chicago IL", "5411", 12, 140},
	{"Shell Oil", "Evanston IL", "5541", 25, 70},
	{"BP Gas Station", "Chicago IL", "5541", 20, 65},
	{"Starbucks", "Chicago IL", "5814", 4, 14},
	{"Chipotle Mexican Grill", "Chicago IL", "5814", 9, 28},
	{"The Purple Pig", "Chicago IL", "5812", 45, 160},
	{"Amazon.com", "Seattle WA", "5942", 8, 220},
	{"Target", "Chicago IL", "5310", 12, 180},
	{"Walgreens", "Chicago IL", "5912", 6, 60},
	{"CVS Pharmacy", "Oak Park IL", "5912", 5, 55},
	{"Netflix.com", "Los Gatos CA", "4899", 15.49, 15.49},
	{"Spotify USA", "New York NY", "5815", 10.99, 10.99},
	{"Uber Trip", "San Francisco CA", "4121", 9, 45},
	{"CTA Ventra", "Chicago IL", "4111", 5, 75},
	{"Home Depot", "Chicago IL", "5200", 15, 300},
	{"REI", "Chicago IL", "5941", 25, 260},
	{"Delta Air Lines", "Atlanta GA", "3058", 180, 620},
	{"Marriott Hotels", "Bethesda MD", "3509", 160, 480},
	{"Planet Fitness", "Hampton NH", "7997", 24.99, 24.99},
	{"AMC Theatres", "Chicago IL", "7832", 14, 48},
	{"Apple.com/bill", "Cupertino CA", "5818", 0.99, 12.99},
	{"Lyft Ride", "San Francisco CA", "4121", 8, 40},
	{"Costco Wholesale", "Niles IL", "5300", 60, 320},
}

var jointNames = []string{"Jordan", "Taylor", "Casey", "Riley", "Morgan", "Avery"}

var addresses = []model.DeliveryAddress{
	{Line1: "1850 N Clark St", Line2: "Apt 1103", City: "Chicago", Region: "IL", PostalCode: "60614", Country: "US", Type: model.DeliveryAddressTypeHome},
	{Line1: "742 Evergreen Terrace", City: "Springfield", Region: "IL", PostalCode: "62704", Country: "US", Type: model.DeliveryAddressTypeHome},
	{Line1: "2014 N Main St", City: "Austin", Region: "TX", PostalCode: "78705", Country: "US", Type: model.DeliveryAddressTypeHome},
	{Line1: "88 Beacon St", Line2: "Unit 4", City: "Boston", Region: "MA", PostalCode: "02108", Country: "US", Type: model.DeliveryAddressTypeMailing},
}
