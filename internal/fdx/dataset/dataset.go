// Package dataset is fdxd's data import format: customers → accounts →
// transactions, statements with their PDFs, contacts, payment and
// asset-transfer networks, every part in its FDX shape. Read checks a file
// by the rules the API serves with and names the JSON path of every bad
// value; Convert turns it into one store.DataImport, which the store
// applies all or nothing.
//
//	{"customers": [{"username": "demo", "accounts": [{
//	    "account": {AccountWithDetails, or a descriptor for discoverable-only categories},
//	    "contact": {AccountContact},
//	    "transactions": [Transaction, ...],
//	    "statements": [{"statementId": "...", "statementDate": "YYYY-MM-DD",
//	                    "description": "...", "status": "AVAILABLE", "pdf": "<base64>"}],
//	    "paymentNetworks": [PaymentNetwork, ...],
//	    "assetTransferNetworks": [AssetTransferNetwork, ...]}]}]}
//
// A statement without "pdf" gets one rendered from the account's
// transactions of its period.
package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/fdxd/fdxd/internal/fdx/model"
	"github.com/fdxd/fdxd/internal/fdx/pdf"
	"github.com/fdxd/fdxd/internal/store"
)

// File is an import file.
type File struct {
	Customers []Customer `fdx:"customers,min=1"`
}

// Customer is a user of the provider and their accounts.
type Customer struct {
	// Username names an existing fdxd user.
	Username string        `fdx:"username"`
	Accounts []AccountData `fdx:"accounts"`
}

// AccountData is an account and everything under it.
type AccountData struct {
	Account               model.Account                `fdx:"account"`
	Contact               *model.AccountContact        `fdx:"contact,opt"`
	Transactions          []model.Transaction          `fdx:"transactions,opt"`
	Statements            []Statement                  `fdx:"statements,opt"`
	PaymentNetworks       []model.PaymentNetwork       `fdx:"paymentNetworks,opt"`
	AssetTransferNetworks []model.AssetTransferNetwork `fdx:"assetTransferNetworks,opt"`
}

// Statement is a statement with its document.
type Statement struct {
	StatementID   string     `fdx:"statementId,max=256"`
	StatementDate model.Date `fdx:"statementDate"`
	Description   string     `fdx:"description,opt"`
	Status        string     `fdx:"status,opt"`
	// PDF is the document; when absent one is rendered.
	PDF []byte `fdx:"pdf,opt"`
}

// CheckFDX: a statement has an id.
func (s Statement) CheckFDX(r *model.Report) {
	if s.StatementID == "" {
		r.Errorf("statementId", "must not be empty")
	}
	if len(s.PDF) > 0 && !pdf.LooksLikePDF(s.PDF) {
		r.Errorf("pdf", "not a PDF document (no %%PDF- header or %%%%EOF marker)")
	}
}

// MaxFileSize bounds what Read accepts.
const MaxFileSize = 1 << 30

// Read parses and checks an import file.
func Read(r io.Reader) (*File, error) {
	tree, err := model.Parse(io.LimitReader(r, MaxFileSize))
	if err != nil {
		return nil, err
	}
	var f File
	if err := model.Bind(tree, &f, "$"); err != nil {
		return nil, err
	}
	if err := f.Check(); err != nil {
		return nil, err
	}
	return &f, nil
}

// Check applies the rules across parts: unique account, statement and
// transaction IDs, transactions of the account's category only, and the
// shapes' own rules (as Read applies them; Check repeats them for files
// built in code, such as generated ones).
func (f *File) Check() error {
	if err := model.Validate(f, "$"); err != nil {
		return err
	}
	errs := &problems{}
	accounts := map[string]string{}
	statements := map[string]string{}
	for i, c := range f.Customers {
		cp := fmt.Sprintf("$.customers[%d]", i)
		if c.Username == "" {
			errs.add(cp+".username", "must not be empty")
		}
		for j, a := range c.Accounts {
			ap := fmt.Sprintf("%s.accounts[%d]", cp, j)
			id := a.Account.AccountID
			if id == "" {
				errs.add(ap+".account.accountId", "must not be empty")
			} else if prev, dup := accounts[id]; dup {
				errs.add(ap+".account.accountId", fmt.Sprintf("%q is also the accountId at %s", id, prev))
			} else {
				accounts[id] = ap + ".account.accountId"
			}
			cat := a.Account.AccountCategory
			if len(a.Transactions) > 0 && !model.HasTransactions(cat) {
				errs.add(ap+".transactions", fmt.Sprintf("%s accounts have no transactions", cat))
			}
			txnIDs := map[string]int{}
			for k, t := range a.Transactions {
				tp := fmt.Sprintf("%s.transactions[%d]", ap, k)
				if t.AccountCategory != cat {
					errs.add(tp+".accountCategory", fmt.Sprintf("%s in a %s account", t.AccountCategory, cat))
				}
				if t.TransactionID == "" {
					errs.add(tp+".transactionId", "must not be empty")
				} else if prev, dup := txnIDs[t.TransactionID]; dup {
					errs.add(tp+".transactionId", fmt.Sprintf("%q is also transactions[%d] (pending and posted transactions need distinct IDs)", t.TransactionID, prev))
				} else {
					txnIDs[t.TransactionID] = k
				}
			}
			for k, s := range a.Statements {
				sp := fmt.Sprintf("%s.statements[%d].statementId", ap, k)
				if prev, dup := statements[s.StatementID]; dup {
					errs.add(sp, fmt.Sprintf("%q is also the statementId at %s", s.StatementID, prev))
				} else {
					statements[s.StatementID] = sp
				}
			}
		}
	}
	return errs.err()
}

type problems struct{ model.ValidationError }

func (p *problems) add(path, msg string) {
	if len(p.Problems) < 20 {
		p.Problems = append(p.Problems, model.Problem{Path: path, Message: msg})
	}
}

func (p *problems) err() error {
	if len(p.Problems) == 0 {
		return nil
	}
	return &p.ValidationError
}

// UserLookup finds users by username.
type UserLookup interface {
	GetUserByUsername(ctx context.Context, username string) (store.User, error)
}

// Options tunes Convert.
type Options struct {
	// Replace deletes the customers' accounts that the file does not list.
	Replace bool
	// Institution names the provider on rendered statements.
	Institution string
	// Now is the time of the import.
	Now time.Time
}

// Convert turns a checked file into a store import: it resolves usernames,
// encodes every FDX part with the one encoder and renders missing PDFs.
func (f *File) Convert(ctx context.Context, users UserLookup, opts Options) (store.DataImport, error) {
	imp := store.DataImport{Now: opts.Now}
	errs := &problems{}
	n := 0
	for i, c := range f.Customers {
		u, err := users.GetUserByUsername(ctx, c.Username)
		if errors.Is(err, store.ErrNotFound) {
			errs.add(fmt.Sprintf("$.customers[%d].username", i), fmt.Sprintf("no user %q (create it with fdxd users add)", c.Username))
			continue
		}
		if err != nil {
			return imp, fmt.Errorf("look up user %q: %w", c.Username, err)
		}
		if opts.Replace {
			imp.ReplaceUsers = append(imp.ReplaceUsers, u.ID)
		}
		for j, a := range c.Accounts {
			// Accounts keep the file's order in /accounts.
			d, err := convertAccount(u, a, opts, opts.Now.Add(time.Duration(n)*time.Microsecond))
			if err != nil {
				return imp, fmt.Errorf("$.customers[%d].accounts[%d]: %w", i, j, err)
			}
			n++
			imp.Accounts = append(imp.Accounts, d)
		}
	}
	return imp, errs.err()
}

func convertAccount(u store.User, a AccountData, opts Options, created time.Time) (store.AccountData, error) {
	acc := a.Account
	d := store.AccountData{Account: store.Account{
		ID: acc.AccountID, UserID: u.ID, Category: string(acc.AccountCategory), Type: acc.AccountType,
		ProductName: acc.ProductName, ProductID: acc.ProductID, Nickname: acc.Nickname,
		NumberDisplay: acc.AccountNumberDisplay, Status: string(acc.Status), Currency: string(acc.Currency.CurrencyCode),
		CreatedAt: created, UpdatedAt: opts.Now,
	}}
	var err error
	if model.HasDetails(acc.AccountCategory) {
		if d.Account.Details, err = model.Marshal(acc); err != nil {
			return d, err
		}
	}
	if a.Contact != nil {
		if d.Account.Contact, err = model.Marshal(a.Contact); err != nil {
			return d, err
		}
	}
	for _, t := range a.Transactions {
		body, err := model.Marshal(t)
		if err != nil {
			return d, err
		}
		d.Transactions = append(d.Transactions, store.Transaction{AccountID: acc.AccountID, ID: t.TransactionID, At: TransactionTime(t), Body: body})
	}
	for _, s := range a.Statements {
		doc := s.PDF
		if len(doc) == 0 {
			// The period runs from the day after the previous statement (or
			// a month back for the first one) to the statement date.
			from := s.StatementDate.AddMonths(-1).AddDays(1)
			for _, o := range a.Statements {
				if o.StatementDate.Before(s.StatementDate) && !o.StatementDate.AddDays(1).Before(from) {
					from = o.StatementDate.AddDays(1)
				}
			}
			doc = RenderStatement(StatementInput{Institution: opts.Institution, Account: acc.AccountDescriptor,
				Holder: u.Name, From: from, To: s.StatementDate, Transactions: a.Transactions, Issued: opts.Now})
		}
		status := s.Status
		if status == "" {
			status = "AVAILABLE"
		}
		d.Statements = append(d.Statements, store.Statement{AccountID: acc.AccountID, ID: s.StatementID, Date: s.StatementDate.String(),
			Description: s.Description, Status: status, PDF: doc})
	}
	for _, p := range a.PaymentNetworks {
		body, err := model.Marshal(p)
		if err != nil {
			return d, err
		}
		d.PaymentNetworks = append(d.PaymentNetworks, body)
	}
	for _, n := range a.AssetTransferNetworks {
		body, err := model.Marshal(n)
		if err != nil {
			return d, err
		}
		d.AssetTransferNetworks = append(d.AssetTransferNetworks, body)
	}
	return d, nil
}

// TransactionTime is when a transaction sorts and filters: its posted
// time, or while it is pending its transaction time.
func TransactionTime(t model.Transaction) time.Time {
	if !t.PostedTimestamp.IsZero() {
		return t.PostedTimestamp.Time
	}
	return t.TransactionTimestamp.Time
}
