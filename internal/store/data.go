package store

import (
	"context"
	"time"
)

// DataStore keeps the FDX data the resource API serves: each user's
// accounts with their details and contact, transactions, statements (with
// their PDFs) and payment and asset-transfer networks.
//
// FDX bodies (Account.Details, Account.Contact, Transaction.Body,
// Network.Body) are opaque bytes to the store: JSON written by the FDX
// encoder when the data was imported, served later as it is. Backends keep
// them byte for byte (BLOB, bytea), never re-encoded (a jsonb column would
// reorder keys). The columns beside them exist to find, filter and order
// rows.
//
// Lists are keyset-paginated: each query names the last row of the previous
// page (its sort key), never an offset, so that any page costs what the
// first one costs.
type DataStore interface {
	// ImportData writes imp in one transaction: all of it or nothing.
	// An account whose ID exists for the same user is replaced whole, with
	// everything under it, and keeps its place in ListAccounts; an account
	// ID that belongs to another user is ErrAlreadyExists; an unknown user
	// is ErrNotFound; two transactions (or statements) with one ID in an
	// account are ErrAlreadyExists.
	ImportData(ctx context.Context, imp DataImport) error

	// GetAccount returns the account with its Details and Contact.
	// ErrNotFound when it does not exist or belongs to another user: the
	// two cases look the same.
	GetAccount(ctx context.Context, userID, accountID string) (Account, error)
	// ListAccounts returns a page of a user's accounts in their stable
	// order (created_at, id), without Details and Contact.
	ListAccounts(ctx context.Context, q AccountQuery) ([]Account, error)

	// ListTransactions returns a page of an account's transactions in the
	// window [q.From, q.To) ordered by (At, ID).
	ListTransactions(ctx context.Context, q TransactionQuery) ([]Transaction, error)

	// ListStatements returns a page of an account's statements dated in
	// [q.FromDate, q.ToDate] ordered by (Date, ID), without PDFs.
	ListStatements(ctx context.Context, q StatementQuery) ([]Statement, error)
	// GetStatementPDF returns the PDF of a statement of the account;
	// ErrNotFound when the account has no such statement.
	GetStatementPDF(ctx context.Context, accountID, statementID string) ([]byte, error)

	// ListNetworks returns a page of an account's payment or asset-transfer
	// networks in their import order.
	ListNetworks(ctx context.Context, q NetworkQuery) ([]Network, error)
}

// Account is an FDX account. The descriptor fields are columns (the
// account-selection page reads some of them through AccountStore); Details
// and Contact are encoded FDX JSON.
type Account struct {
	ID     string
	UserID string
	// Category is the FDX accountCategory, Type its accountType.
	Category      string
	Type          string
	ProductName   string
	ProductID     string
	Nickname      string
	NumberDisplay string
	Status        string
	// Currency is the ISO 4217 code of the account's currency.
	Currency string
	// Details is the encoded AccountWithDetails; empty for the categories
	// without a details shape (discoverable-only accounts).
	Details []byte
	// Contact is the encoded AccountContact; empty when there is none.
	Contact []byte
	// CreatedAt orders a user's accounts; a replaced account keeps it.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AccountQuery selects a page of a user's accounts.
type AccountQuery struct {
	UserID string
	// Restrict limits the result to OnlyIDs (an account selection, which
	// may be empty).
	Restrict bool
	OnlyIDs  []string
	// AfterCreatedAt and AfterID are the last account of the previous page;
	// zero and "" for the first page.
	AfterCreatedAt time.Time
	AfterID        string
	Limit          int
}

// Transaction is an FDX transaction of an account.
type Transaction struct {
	AccountID string
	// ID is the FDX transactionId, unique within the account.
	ID string
	// At orders and filters transactions: the posted time, or, while the
	// transaction is pending, its transaction time.
	At time.Time
	// Body is the encoded FDX transaction.
	Body []byte
}

// TransactionQuery selects a page of an account's transactions.
type TransactionQuery struct {
	AccountID string
	// From and To bound At: From <= At < To.
	From, To time.Time
	// AfterAt and AfterID are the last transaction of the previous page;
	// AfterID is "" for the first page.
	AfterAt time.Time
	AfterID string
	Limit   int
}

// Statement is an account statement.
type Statement struct {
	AccountID string
	// ID is the FDX statementId, unique across the provider.
	ID string
	// Date is the statementDate, "YYYY-MM-DD".
	Date        string
	Description string
	Status      string
	// PDF is the statement document. ImportData requires it;
	// ListStatements leaves it nil.
	PDF []byte
}

// StatementQuery selects a page of an account's statements.
type StatementQuery struct {
	AccountID string
	// FromDate and ToDate ("YYYY-MM-DD") bound Date, both inclusive.
	FromDate, ToDate string
	// AfterDate and AfterID are the last statement of the previous page;
	// AfterID is "" for the first page.
	AfterDate string
	AfterID   string
	Limit     int
}

// NetworkKind says which list a Network belongs to.
type NetworkKind string

const (
	// PaymentNetwork: /accounts/{id}/payment-networks (ACH and the like).
	PaymentNetwork NetworkKind = "payment"
	// AssetTransferNetwork: /accounts/{id}/asset-transfer-networks (ACATS).
	AssetTransferNetwork NetworkKind = "asset_transfer"
)

// Network is a payment or asset-transfer network of an account.
type Network struct {
	AccountID string
	Kind      NetworkKind
	// Position is its place in the account's list of that kind, from 0.
	Position int
	// Body is the encoded FDX PaymentNetwork or AssetTransferNetwork.
	Body []byte
}

// NetworkQuery selects a page of an account's networks of one kind.
type NetworkQuery struct {
	AccountID string
	Kind      NetworkKind
	// AfterPosition is the last position of the previous page; -1 for the
	// first page.
	AfterPosition int
	Limit         int
}

// DataImport is what ImportData writes.
type DataImport struct {
	Accounts []AccountData
	// ReplaceUsers lists users whose accounts not in Accounts are deleted
	// (with everything under them) by the same transaction.
	ReplaceUsers []string
	// Now is the time of the import (UpdatedAt).
	Now time.Time
}

// AccountData is an account with everything under it. Network positions
// and AccountID fields of the parts are set from their place and the
// account by ImportData.
type AccountData struct {
	Account               Account
	Transactions          []Transaction
	Statements            []Statement
	PaymentNetworks       [][]byte
	AssetTransferNetworks [][]byte
}
