package model

import "slices"

// The shapes of Core Exchange 6.4 (components.schemas of corex-6.4.yaml).
// Field order follows the spec's examples. Polymorphic shapes (accounts,
// transactions) are one struct each, with the discriminator accountCategory
// and rules per category in CheckFDX, so that the JSON is exactly the
// spec's oneOf member for that category.

// Currency is a Currency entity.
type Currency struct {
	CurrencyCode CurrencyCode `fdx:"currencyCode"`
}

// PageMetadata is the page object of paginated lists. NextOffset is set
// only when another page exists.
type PageMetadata struct {
	NextOffset    string `fdx:"nextOffset,opt"`
	NextPageKey   string `fdx:"nextPageKey,opt"`
	TotalElements *int64 `fdx:"totalElements,opt"`
}

// Customer is the body of /customers/current.
type Customer struct {
	CustomerID string `fdx:"customerId,max=256"`
}

// AccountDescriptor is an account as /accounts lists it (the
// AccountWithDescriptor oneOf, one member per category).
type AccountDescriptor struct {
	AccountCategory      AccountCategory `fdx:"accountCategory"`
	AccountID            string          `fdx:"accountId,max=256"`
	AccountType          string          `fdx:"accountType"`
	AccountNumberDisplay string          `fdx:"accountNumberDisplay,opt"`
	ProductName          string          `fdx:"productName"`
	ProductID            string          `fdx:"productId,opt,max=256"`
	Nickname             string          `fdx:"nickname,opt"`
	Status               AccountStatus   `fdx:"status"`
	Currency             Currency        `fdx:"currency"`
}

// accountTypes lists the accountType values of each category.
var accountTypes = map[AccountCategory]map[string]struct{}{
	DepositAccount:    depositAccountTypes,
	DigitalWallet:     digitalWalletTypes,
	LoanAccount:       loanAccountTypes,
	LocAccount:        lineOfCreditAccountTypes,
	InvestmentAccount: investmentAccountTypes,
	InsuranceAccount:  insuranceAccountTypes,
	AnnuityAccount:    annuityAccountTypes,
	CommercialAccount: commercialAccountTypes,
}

// ValidAccountType reports whether typ is an accountType of category.
func ValidAccountType(category AccountCategory, typ string) bool {
	_, ok := accountTypes[category][typ]
	return ok
}

// CheckFDX checks that accountType belongs to accountCategory.
func (a AccountDescriptor) CheckFDX(r *Report) {
	if a.AccountCategory.Valid() && !ValidAccountType(a.AccountCategory, a.AccountType) {
		r.Errorf("accountType", "%q is not an accountType of %s", a.AccountType, a.AccountCategory)
	}
}

// HasDetails reports whether accounts of category have a details shape
// (AccountWithDetails): deposit, loan, line of credit and investment. The
// others are discoverable only: listed by /accounts, nothing more.
func HasDetails(category AccountCategory) bool {
	switch category {
	case DepositAccount, LoanAccount, LocAccount, InvestmentAccount:
		return true
	}
	return false
}

// Account is an account with details (/accounts/{accountId}): the
// descriptor and the fields of its category's details shape. Which detail
// fields may and must be set depends on the category (see CheckFDX).
type Account struct {
	AccountDescriptor `fdx:",inline"`

	// DepositAccount
	CurrentBalance            *Amount         `fdx:"currentBalance,opt"`
	AvailableBalance          *Amount         `fdx:"availableBalance,opt"`
	Overdrafted               *bool           `fdx:"overdrafted,opt"`
	OverdraftOptIn            *bool           `fdx:"overdraftOptIn,opt"`
	OverdraftProtectionFunded *bool           `fdx:"overdraftProtectionFunded,opt"`
	OverdraftFundingSources   []FundingSource `fdx:"overdraftFundingSources,opt"`
	EarnedInterest            *InterestRate   `fdx:"earnedInterest,opt"`
	UnderArbitration          *bool           `fdx:"underArbitration,opt"`

	// LoanAccount
	AccountNumber          string           `fdx:"accountNumber,opt"`
	PrincipalBalance       *Amount          `fdx:"principalBalance,opt"`
	EscrowBalance          *Amount          `fdx:"escrowBalance,opt"`
	OriginalPrincipal      *Amount          `fdx:"originalPrincipal,opt"`
	OriginatingDate        Date             `fdx:"originatingDate,opt"`
	LoanTerm               *int64           `fdx:"loanTerm,opt"`
	InterestRate           *Number          `fdx:"interestRate,opt"`
	InterestRateType       InterestRateType `fdx:"interestRateType,opt"`
	AnnualPercentageRate   *Number          `fdx:"annualPercentageRate,opt"`
	InterestPaidYearToDate *Amount          `fdx:"interestPaidYearToDate,opt"`
	MaturityDate           Date             `fdx:"maturityDate,opt"`
	CurrentSchool          string           `fdx:"currentSchool,opt"`
	LoanProviderName       string           `fdx:"loanProviderName,opt"`
	ChargedInterest        *InterestRate    `fdx:"chargedInterest,opt"`

	// LineOfCreditAccount (and shared with LoanAccount)
	CreditLine           *Amount            `fdx:"creditLine,opt"`
	AvailableCredit      *Amount            `fdx:"availableCredit,opt"`
	NextPaymentAmount    *Amount            `fdx:"nextPaymentAmount,opt"`
	NextPaymentDate      Date               `fdx:"nextPaymentDate,opt"`
	MinimumPaymentAmount *Amount            `fdx:"minimumPaymentAmount,opt"`
	LastPaymentAmount    *Amount            `fdx:"lastPaymentAmount,opt"`
	LastPaymentDate      Date               `fdx:"lastPaymentDate,opt"`
	PastDueAmount        *Amount            `fdx:"pastDueAmount,opt"`
	LastStmtBalance      *Amount            `fdx:"lastStmtBalance,opt"`
	LastStmtDate         Date               `fdx:"lastStmtDate,opt"`
	PurchasesApr         *Number            `fdx:"purchasesApr,opt"`
	AdvancesApr          *Number            `fdx:"advancesApr,opt"`
	TransfersApr         *Number            `fdx:"transfersApr,opt"`
	BalanceTransfersApr  *Number            `fdx:"balanceTransfersApr,opt"`
	TargetRateSaleApr    *Number            `fdx:"targetRateSaleApr,opt"`
	CashAdvanceBalance   *Amount            `fdx:"cashAdvanceBalance,opt"`
	TransferBalance      *Amount            `fdx:"transferBalance,opt"`
	PpilBalance          *Amount            `fdx:"ppilBalance,opt"`
	PpilApr              *Number            `fdx:"ppilApr,opt"`
	FeeSchedule          string             `fdx:"feeSchedule,opt"`
	Bills                []Bill             `fdx:"bills,opt"`
	ScheduledPayments    []ScheduledPayment `fdx:"scheduledPayments,opt"`

	// InvestmentAccount
	AvailableCashBalance *Amount   `fdx:"availableCashBalance,opt"`
	CurrentValue         *Amount   `fdx:"currentValue,opt"`
	BalanceAsOf          Timestamp `fdx:"balanceAsOf,opt"`
	Holdings             []Holding `fdx:"holdings,opt"`
}

// detailFields says, per category with details, which detail keys are
// allowed and which of them are required.
var detailFields = map[AccountCategory]struct{ allowed, required []string }{
	DepositAccount: {
		allowed: []string{"currentBalance", "availableBalance", "earnedInterest", "underArbitration", "overdraftOptIn",
			"overdrafted", "overdraftProtectionFunded", "overdraftFundingSources"},
		required: []string{"currentBalance", "availableBalance"},
	},
	LoanAccount: {
		allowed: []string{"accountNumber", "principalBalance", "escrowBalance", "originalPrincipal", "originatingDate",
			"loanTerm", "nextPaymentAmount", "nextPaymentDate", "lastPaymentAmount", "lastPaymentDate", "maturityDate",
			"interestPaidYearToDate", "interestRate", "interestRateType", "currentSchool", "loanProviderName",
			"chargedInterest", "annualPercentageRate"},
		required: []string{"principalBalance", "interestRate", "interestRateType"},
	},
	LocAccount: {
		allowed: []string{"creditLine", "availableCredit", "nextPaymentAmount", "nextPaymentDate", "principalBalance",
			"currentBalance", "minimumPaymentAmount", "lastPaymentAmount", "lastPaymentDate", "pastDueAmount",
			"lastStmtBalance", "lastStmtDate", "purchasesApr", "advancesApr", "transfersApr", "bills", "scheduledPayments",
			"chargedInterest", "cashAdvanceBalance", "transferBalance", "ppilBalance", "underArbitration", "feeSchedule",
			"ppilApr", "balanceTransfersApr", "targetRateSaleApr"},
		required: []string{"currentBalance"},
	},
	InvestmentAccount: {
		allowed:  []string{"availableCashBalance", "earnedInterest", "balanceAsOf", "currentValue", "holdings"},
		required: []string{"availableCashBalance", "currentValue"},
	},
}

var descriptorKeys = map[string]bool{
	"accountCategory": true, "accountId": true, "accountType": true, "accountNumberDisplay": true,
	"productName": true, "productId": true, "nickname": true, "status": true, "currency": true,
}

// CheckFDX checks the detail fields against the category: only the keys of
// its details shape, all of its required ones, and the rules Plaid states
// in prose (a MORTGAGE has its accountNumber, availableCredit except on
// CHARGE accounts). Discoverable-only categories carry no details at all.
func (a Account) CheckFDX(r *Report) {
	if !a.AccountCategory.Valid() {
		return
	}
	spec, ok := detailFields[a.AccountCategory]
	for _, k := range r.Present() {
		if descriptorKeys[k] {
			continue
		}
		if !ok {
			r.Errorf(k, "%s accounts are discoverable only and have no details", a.AccountCategory)
			continue
		}
		if !slices.Contains(spec.allowed, k) {
			r.Errorf(k, "not a field of %s details", a.AccountCategory)
		}
	}
	for _, k := range spec.required {
		if !r.Has(k) {
			r.Errorf(k, "required for %s accounts", a.AccountCategory)
		}
	}
	switch {
	case a.AccountCategory == LoanAccount && a.AccountType == "MORTGAGE" && a.AccountNumber == "":
		r.Errorf("accountNumber", "required for MORTGAGE accounts")
	case a.AccountCategory == LocAccount && a.AccountType != "CHARGE" && a.AvailableCredit == nil:
		r.Errorf("availableCredit", "required for %s accounts (all but CHARGE)", a.AccountType)
	}
	if a.InterestRate != nil && (*a.InterestRate < 0 || *a.InterestRate > 100) {
		r.Errorf("interestRate", "a percentage between 0 and 100")
	}
}

// InterestRate is an InterestRate entity.
type InterestRate struct {
	Rate              *Number           `fdx:"rate,opt"`
	RateAsOf          Date              `fdx:"rateAsOf,opt"`
	CompoundingPeriod CompoundingPeriod `fdx:"compoundingPeriod,opt"`
	PriorRate         *Number           `fdx:"priorRate,opt"`
	Type              InterestRateType  `fdx:"type,opt"`
	Index             string            `fdx:"index,opt"`
}

// FundingSource is an overdraft funding source.
type FundingSource struct {
	AccountID            string `fdx:"accountId,opt,max=256"`
	AccountNumberDisplay string `fdx:"accountNumberDisplay,opt"`
	AccountType          string `fdx:"accountType,opt"`
	InstitutionName      string `fdx:"institutionName,opt"`
}

// Bill is a Bills entity: a statement of a payment due.
type Bill struct {
	TotalPaymentDue   *Amount `fdx:"totalPaymentDue,opt"`
	MinimumPaymentDue *Amount `fdx:"minimumPaymentDue,opt"`
	DueDate           Date    `fdx:"dueDate,opt"`
	AutoPayEnabled    *bool   `fdx:"autoPayEnabled,opt"`
	AutoPayAmount     *Amount `fdx:"autoPayAmount,opt"`
	AutoPayDate       Date    `fdx:"autoPayDate,opt"`
	PastDueAmount     *Amount `fdx:"pastDueAmount,opt"`
	LastPaymentAmount *Amount `fdx:"lastPaymentAmount,opt"`
	LastPaymentDate   Date    `fdx:"lastPaymentDate,opt"`
	StatementBalance  *Amount `fdx:"statementBalance,opt"`
	StatementDate     Date    `fdx:"statementDate,opt"`
}

// ScheduledPayment is a ScheduledPayments entity.
type ScheduledPayment struct {
	Amount         *Amount              `fdx:"amount,opt"`
	Date           Date                 `fdx:"date,opt"`
	Type           ScheduledPaymentType `fdx:"type,opt"`
	PayToPrincipal *bool                `fdx:"payToPrincipal,opt"`
}

// Holding is a holding of an investment account.
type Holding struct {
	SecurityIDs          []SecurityID   `fdx:"securityIds,opt"`
	HoldingName          string         `fdx:"holdingName,opt"`
	HoldingType          HoldingType    `fdx:"holdingType,opt"`
	HoldingSubType       HoldingSubType `fdx:"holdingSubType,opt"`
	Symbol               string         `fdx:"symbol,opt"`
	PurchasedPrice       *Number        `fdx:"purchasedPrice,opt"`
	CurrentUnitPrice     *Number        `fdx:"currentUnitPrice,opt"`
	CurrentUnitPriceDate Date           `fdx:"currentUnitPriceDate,opt"`
	Units                *Number        `fdx:"units,opt"`
	MarketValue          Amount         `fdx:"marketValue"`
	FaceValue            *Number        `fdx:"faceValue,opt"`
	CashAccount          bool           `fdx:"cashAccount"`
	Currency             *Currency      `fdx:"currency,opt"`
	FiAttributes         []FiAttribute  `fdx:"fiAttributes,opt"`
	TaxLots              []TaxLot       `fdx:"taxLots,opt"`
}

// CheckFDX applies Plaid's holding rules: a symbol unless a typed security
// id is given; cash holdings are OTHER with a cash subtype.
func (h Holding) CheckFDX(r *Report) {
	typedID := false
	for _, id := range h.SecurityIDs {
		if id.ID != "" && id.IDType != "" {
			typedID = true
		}
	}
	if h.Symbol == "" && !typedID {
		r.Errorf("symbol", "required unless a securityIds entry has both id and idType")
	}
	if h.HoldingSubType != "" && h.HoldingType != "" && h.HoldingType != HoldingTypeOther {
		r.Errorf("holdingSubType", "cash subtypes go with holdingType OTHER")
	}
}

// SecurityID identifies a security.
type SecurityID struct {
	ID     string         `fdx:"id,opt,max=256"`
	IDType SecurityIDType `fdx:"idType,opt"`
}

// CheckFDX: an idType needs an id and the other way round.
func (s SecurityID) CheckFDX(r *Report) {
	if (s.ID == "") != (s.IDType == "") {
		r.Errorf("", "id and idType go together")
	}
}

// FiAttribute is an institution-specific name/value pair.
type FiAttribute struct {
	Name  string `fdx:"name,opt"`
	Value string `fdx:"value,opt"`
}

// TaxLot is a block of securities with one tax treatment.
type TaxLot struct {
	OriginalPurchaseDate Date         `fdx:"originalPurchaseDate,opt"`
	Quantity             *Number      `fdx:"quantity,opt"`
	PurchasedPrice       *Number      `fdx:"purchasedPrice,opt"`
	CostBasis            *Amount      `fdx:"costBasis,opt"`
	CurrentValue         *Amount      `fdx:"currentValue,opt"`
	PositionType         PositionType `fdx:"positionType,opt"`
}

// AccountContact is the body of /accounts/{accountId}/contact.
type AccountContact struct {
	Holders    []AccountHolder   `fdx:"holders,min=1"`
	Emails     []string          `fdx:"emails,min=1"`
	Addresses  []DeliveryAddress `fdx:"addresses,min=1"`
	Telephones []TelephoneNumber `fdx:"telephones,min=1"`
}

// AccountHolder is an owner of an account.
type AccountHolder struct {
	Type             BusinessOrConsumer        `fdx:"type,opt"`
	Name             *CustomerName             `fdx:"name,opt"`
	BusinessCustomer *BusinessCustomer         `fdx:"businessCustomer,opt"`
	Relationship     AccountHolderRelationship `fdx:"relationship,opt"`
}

// CheckFDX: Plaid expects a name for every holder.
func (h AccountHolder) CheckFDX(r *Report) {
	if h.Name == nil && (h.BusinessCustomer == nil || h.BusinessCustomer.Name == "") {
		r.Errorf("name", "a holder needs a name (or a businessCustomer name)")
	}
}

// CustomerName is a holder's name. First and last are required: written
// as "" when unknown, as Plaid asks.
type CustomerName struct {
	First  string `fdx:"first"`
	Middle string `fdx:"middle,opt"`
	Last   string `fdx:"last"`
	Suffix string `fdx:"suffix,opt"`
	Prefix string `fdx:"prefix,opt"`
}

// CheckFDX: at least one populated name field.
func (n CustomerName) CheckFDX(r *Report) {
	if n.First == "" && n.Middle == "" && n.Last == "" {
		r.Errorf("", "at least one of first, middle and last must be filled")
	}
}

// BusinessCustomer names a business holder.
type BusinessCustomer struct {
	Name string `fdx:"name,opt"`
}

// DeliveryAddress is a postal address and its type.
type DeliveryAddress struct {
	Line1      string              `fdx:"line1,max=64"`
	Line2      string              `fdx:"line2,opt,max=64"`
	Line3      string              `fdx:"line3,opt,max=64"`
	City       string              `fdx:"city,max=64"`
	Region     string              `fdx:"region,opt,max=64"`
	PostalCode string              `fdx:"postalCode,opt,max=10"`
	Country    CountryCode         `fdx:"country"`
	Type       DeliveryAddressType `fdx:"type,opt"`
	Primary    *bool               `fdx:"primary,opt"`
}

// TelephoneNumber is a telephone number.
type TelephoneNumber struct {
	Type    TelephoneNumberPurpose `fdx:"type"`
	Country string                 `fdx:"country,opt,max=4"`
	Number  string                 `fdx:"number,max=15"`
	Network TelephoneNetwork       `fdx:"network,opt"`
	Primary *bool                  `fdx:"primary,opt"`
}

// CheckFDX checks the spec's patterns: number is digits only, country a
// calling code ("1", "+44").
func (t TelephoneNumber) CheckFDX(r *Report) {
	if !allDigits(t.Number) {
		r.Errorf("number", "digits only")
	}
	if t.Country != "" {
		c := t.Country
		if c[0] == '+' {
			c = c[1:]
		}
		if len(c) < 1 || len(c) > 3 || !allDigits(c) || c[0] == '0' {
			r.Errorf("country", "a calling code such as \"1\" or \"+44\"")
		}
	}
}

// AccountPaymentNetworkList is the body of
// /accounts/{accountId}/payment-networks.
type AccountPaymentNetworkList struct {
	Page            *PageMetadata    `fdx:"page,opt"`
	PaymentNetworks []PaymentNetwork `fdx:"paymentNetworks,min=1"`
}

// PaymentNetwork says how money moves in and out of an account.
type PaymentNetwork struct {
	BankID      string             `fdx:"bankId"`
	Identifier  string             `fdx:"identifier"`
	Type        PaymentNetworkType `fdx:"type"`
	TransferIn  bool               `fdx:"transferIn"`
	TransferOut bool               `fdx:"transferOut"`
}

// CheckFDX: US networks carry a routing number with a valid ABA checksum,
// Canadian ones an institution and transit number; Core Exchange does not
// support US_FEDWIRE and US_RTP.
func (p PaymentNetwork) CheckFDX(r *Report) {
	switch p.Type {
	case PaymentNetworkTypeUsFedwire, PaymentNetworkTypeUsRtp:
		r.Errorf("type", "%s is not a supported payment network type in Core Exchange", p.Type)
	case PaymentNetworkTypeUsAch, PaymentNetworkTypeUsChips, PaymentNetworkTypeUsFednow:
		if !ValidABA(p.BankID) {
			r.Errorf("bankId", "%q is not a 9-digit routing number with a valid checksum", p.BankID)
		}
	case PaymentNetworkTypeCaAcss, PaymentNetworkTypeCaLvts:
		if !allDigits(p.BankID) || (len(p.BankID) != 8 && len(p.BankID) != 9) {
			r.Errorf("bankId", "a Canadian institution (3 digits) and transit (5 digits) number")
		}
	}
	if p.Identifier == "" || len(p.Identifier) > 17 || !allDigits(p.Identifier) {
		r.Errorf("identifier", "an account number of 1 to 17 digits")
	}
}

// ValidABA reports whether s is a 9-digit ABA routing transit number whose
// check digit is right: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 mod 10.
func ValidABA(s string) bool {
	if len(s) != 9 || !allDigits(s) {
		return false
	}
	weights := [3]int{3, 7, 1}
	sum := 0
	for i := range 9 {
		sum += weights[i%3] * int(s[i]-'0')
	}
	return sum%10 == 0 && s != "000000000"
}

// AssetTransferNetworkList is the body of
// /accounts/{accountId}/asset-transfer-networks (not paginated in the spec).
type AssetTransferNetworkList struct {
	AssetTransferNetworks []AssetTransferNetwork `fdx:"assetTransferNetworks"`
}

// AssetTransferNetwork says how securities move out of an account.
type AssetTransferNetwork struct {
	Identifier      string                       `fdx:"identifier"`
	IdentifierType  PaymentNetworkIdentifierType `fdx:"identifierType,opt"`
	InstitutionName string                       `fdx:"institutionName,opt"`
	InstitutionID   string                       `fdx:"institutionId"`
	Type            AssetTransferType            `fdx:"type"`
	JointAccount    *bool                        `fdx:"jointAccount,opt"`
}

// CheckFDX: identifier and institutionId are required with a value.
func (a AssetTransferNetwork) CheckFDX(r *Report) {
	if a.Identifier == "" {
		r.Errorf("identifier", "must not be empty")
	}
	if a.InstitutionID == "" {
		r.Errorf("institutionId", "must not be empty")
	}
}

// Accounts is the body of /accounts.
type Accounts struct {
	Page     *PageMetadata       `fdx:"page,opt"`
	Accounts []AccountDescriptor `fdx:"accounts,min=1"`
}

// Transaction is a transaction of a deposit, loan, line-of-credit or
// investment account (the Transactions oneOf, by accountCategory).
type Transaction struct {
	AccountCategory        AccountCategory   `fdx:"accountCategory"`
	TransactionID          string            `fdx:"transactionId,max=256"`
	ReferenceTransactionID string            `fdx:"referenceTransactionId,opt,max=256"`
	PostedTimestamp        Timestamp         `fdx:"postedTimestamp,opt"`
	TransactionTimestamp   Timestamp         `fdx:"transactionTimestamp"`
	CardNumberDisplay      string            `fdx:"cardNumberDisplay,opt"`
	Description            string            `fdx:"description"`
	DebitCreditMemo        DebitCreditMemo   `fdx:"debitCreditMemo"`
	Category               string            `fdx:"category,opt"`
	SubCategory            string            `fdx:"subCategory,opt"`
	Status                 TransactionStatus `fdx:"status"`
	Amount                 Amount            `fdx:"amount"`
	ForeignAmount          *Number           `fdx:"foreignAmount,opt"`
	ForeignCurrency        CurrencyCode      `fdx:"foreignCurrency,opt"`

	// DepositTransaction
	Payee string `fdx:"payee,opt,max=255"`
	// DepositTransaction and LineOfCreditTransaction
	CheckNumber *int64 `fdx:"checkNumber,opt"`
	// LoanTransaction, LineOfCreditTransaction, InvestmentTransaction
	TransactionType string `fdx:"transactionType,opt"`

	// InvestmentTransaction
	SecurityID     string         `fdx:"securityId,opt"`
	SecurityIDType SecurityIDType `fdx:"securityIdType,opt"`
	SecurityType   SecurityType   `fdx:"securityType,opt"`
	Symbol         string         `fdx:"symbol,opt"`
	Commission     *Amount        `fdx:"commission,opt"`
	Fees           *Amount        `fdx:"fees,opt"`
	UnitPrice      *Number        `fdx:"unitPrice,opt"`
	Units          *Number        `fdx:"units,opt"`
	UnitType       UnitType       `fdx:"unitType,opt"`
	FiAttributes   []FiAttribute  `fdx:"fiAttributes,opt"`
}

var transactionTypes = map[AccountCategory]map[string]struct{}{
	LoanAccount:       loanTransactionTypes,
	LocAccount:        lineOfCreditTransactionTypes,
	InvestmentAccount: investmentTransactionTypes,
}

// HasTransactions reports whether accounts of category have transactions
// in the spec's sense (deposit, loan, line of credit, investment).
func HasTransactions(category AccountCategory) bool { return HasDetails(category) }

// CheckFDX applies the per-category shape and Plaid's rules: a POSTED
// transaction has a postedTimestamp and a pending one (PENDING, MEMO,
// AUTHORIZATION) has none; amounts are absolute; a foreign amount names its
// currency; an investment transaction has fees and a transactionType, and
// one involving a security has units, a unit price and a symbol or typed
// security id.
func (t Transaction) CheckFDX(r *Report) {
	if t.AccountCategory.Valid() && !HasTransactions(t.AccountCategory) {
		r.Errorf("accountCategory", "%s accounts have no transactions", t.AccountCategory)
		return
	}
	switch t.Status {
	case TransactionStatusPosted:
		if t.PostedTimestamp.IsZero() {
			r.Errorf("postedTimestamp", "required when status is POSTED")
		}
	case TransactionStatusPending, TransactionStatusMemo, TransactionStatusAuthorization:
		if !t.PostedTimestamp.IsZero() {
			r.Errorf("postedTimestamp", "must be omitted while status is %s", t.Status)
		}
	}
	if t.Amount < 0 {
		r.Errorf("amount", "an absolute value; debitCreditMemo gives the direction")
	}
	if t.ForeignAmount != nil && t.ForeignCurrency == "" {
		r.Errorf("foreignCurrency", "required with foreignAmount")
	}
	cat := t.AccountCategory
	only := func(key string, cats ...AccountCategory) {
		if r.Has(key) && !slices.Contains(cats, cat) {
			r.Errorf(key, "not a field of %s transactions", cat)
		}
	}
	only("payee", DepositAccount)
	only("checkNumber", DepositAccount, LocAccount)
	only("transactionType", LoanAccount, LocAccount, InvestmentAccount)
	for _, k := range []string{"securityId", "securityIdType", "securityType", "symbol", "commission", "fees",
		"unitPrice", "units", "unitType", "fiAttributes"} {
		only(k, InvestmentAccount)
	}
	if types, ok := transactionTypes[cat]; ok && t.TransactionType != "" {
		if _, ok := types[t.TransactionType]; !ok {
			r.Errorf("transactionType", "%q is not a transactionType of %s", t.TransactionType, cat)
		}
	}
	if cat == InvestmentAccount {
		if t.Fees == nil {
			r.Errorf("fees", "required for investment transactions")
		}
		if t.TransactionType == "" {
			r.Errorf("transactionType", "required for investment transactions")
		}
		if (t.SecurityID == "") != (t.SecurityIDType == "") {
			r.Errorf("securityIdType", "securityId and securityIdType go together")
		}
		if t.SecurityID != "" || t.Symbol != "" {
			if t.Units == nil {
				r.Errorf("units", "required when a security is involved")
			}
			if t.UnitPrice == nil {
				r.Errorf("unitPrice", "required when a security is involved")
			}
		}
	}
}

// Transactions is the body of /accounts/{accountId}/transactions. The
// transactions are pre-encoded (Marshal of a Transaction, done when they
// were imported) and copied in verbatim.
type Transactions struct {
	Page         *PageMetadata `fdx:"page,opt"`
	Transactions []RawJSON     `fdx:"transactions"`
}

// Statements is the body of /accounts/{accountId}/statements.
type Statements struct {
	Page       *PageMetadata `fdx:"page,opt"`
	Statements []Statement   `fdx:"statements"`
}

// Statement is an account statement's metadata; the PDF is fetched through
// its one link.
type Statement struct {
	AccountID     string        `fdx:"accountId,opt,max=256"`
	StatementID   string        `fdx:"statementId,opt,max=256"`
	StatementDate Date          `fdx:"statementDate,opt"`
	Description   string        `fdx:"description,opt"`
	Links         []HateoasLink `fdx:"links,opt"`
	Status        string        `fdx:"status,opt"`
}

// CheckFDX: Plaid accepts one link only.
func (s Statement) CheckFDX(r *Report) {
	if len(s.Links) > 1 {
		r.Errorf("links", "Plaid accepts one link per statement, not %d", len(s.Links))
	}
}

// HateoasLink is a link to a resource.
type HateoasLink struct {
	Href   string        `fdx:"href"`
	Action HTTPAction    `fdx:"action,opt"`
	Rel    string        `fdx:"rel,opt"`
	Types  []ContentType `fdx:"types,opt"`
}

// CheckFDX: href is a URI reference, never empty.
func (l HateoasLink) CheckFDX(r *Report) {
	if l.Href == "" {
		r.Errorf("href", "must not be empty")
	}
}

// ErrorBody is an FDX error: code is the FDX error code (which may differ
// from the HTTP status), message is for the end user, debugMessage for the
// aggregator's engineers.
type ErrorBody struct {
	Code         int64  `fdx:"code"`
	Message      string `fdx:"message"`
	DebugMessage string `fdx:"debugMessage,opt"`
}
