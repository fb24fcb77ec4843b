package model

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/fdx/fdxtest"
)

func ptr[T any](v T) *T { return &v }

func usd() Currency { return Currency{CurrencyCode: "USD"} }

var (
	posted  = TimestampOf(time.Date(2026, 3, 2, 14, 30, 0, 125_000_000, time.FixedZone("", -5*3600)))
	txnTime = TimestampOf(time.Date(2026, 3, 1, 9, 15, 0, 0, time.UTC))
)

func descriptor(cat AccountCategory, typ, id string) AccountDescriptor {
	return AccountDescriptor{AccountCategory: cat, AccountID: id, AccountType: typ, AccountNumberDisplay: "...1234",
		ProductName: "Product " + typ, Nickname: "My " + typ, Status: AccountStatusOpen, Currency: usd()}
}

// sampleAccounts returns one account with details per detail category.
func sampleAccounts() []Account {
	return []Account{
		{
			AccountDescriptor: descriptor(DepositAccount, "CHECKING", "dep-1"),
			CurrentBalance:    ptr(Amount(123456)), AvailableBalance: ptr(Amount(120000)),
			Overdrafted: ptr(false), OverdraftOptIn: ptr(true),
			OverdraftFundingSources: []FundingSource{{AccountID: "dep-2", AccountNumberDisplay: "...9876", AccountType: "SAVINGS"}},
			EarnedInterest:          &InterestRate{Rate: ptr(Number(0.05)), CompoundingPeriod: CompoundingPeriodMonthly, Type: InterestRateTypeVariable},
		},
		{
			AccountDescriptor: descriptor(LoanAccount, "MORTGAGE", "loan-1"),
			AccountNumber:     "8800123456", PrincipalBalance: ptr(Amount(31234567)), InterestRate: ptr(Number(6.125)),
			InterestRateType: InterestRateTypeFixed, LoanTerm: ptr(int64(360)), OriginatingDate: Date{2021, 6, 15},
			NextPaymentDate: Date{2026, 4, 1}, NextPaymentAmount: ptr(Amount(215000)), EscrowBalance: ptr(Amount(0)),
		},
		{
			AccountDescriptor: descriptor(LocAccount, "CREDITCARD", "loc-1"),
			CurrentBalance:    ptr(Amount(172281)), CreditLine: ptr(Amount(1000000)), AvailableCredit: ptr(Amount(827719)),
			PurchasesApr: ptr(Number(24.99)), LastStmtDate: Date{2026, 2, 28},
			Bills:             []Bill{{TotalPaymentDue: ptr(Amount(19032)), DueDate: Date{2026, 3, 25}, AutoPayEnabled: ptr(false)}},
			ScheduledPayments: []ScheduledPayment{{Amount: ptr(Amount(5000)), Date: Date{2026, 3, 20}, Type: ScheduledPaymentTypeOneTime}},
		},
		{
			AccountDescriptor:    descriptor(InvestmentAccount, "401K", "inv-1"),
			AvailableCashBalance: ptr(Amount(320954)), CurrentValue: ptr(Amount(3493820)), BalanceAsOf: posted,
			Holdings: []Holding{
				{SecurityIDs: []SecurityID{{ID: "037833100", IDType: SecurityIDTypeCusip}}, HoldingName: "Apple Inc.",
					HoldingType: HoldingTypeStock, Symbol: "AAPL", Units: ptr(Number(10)), CurrentUnitPrice: ptr(Number(175.125)),
					MarketValue: 175125, CashAccount: false, FiAttributes: []FiAttribute{{Name: "isCashEquivalent", Value: "false"}},
					TaxLots: []TaxLot{{OriginalPurchaseDate: Date{2020, 1, 2}, Quantity: ptr(Number(10)), PositionType: PositionTypeLong}}},
				{HoldingName: "Cash sweep", HoldingType: HoldingTypeOther, HoldingSubType: HoldingSubTypeCash, Symbol: "CASH",
					MarketValue: 320954, CashAccount: true},
			},
		},
	}
}

func sampleTransactions() []Transaction {
	return []Transaction{
		{AccountCategory: DepositAccount, TransactionID: "t-1", PostedTimestamp: posted, TransactionTimestamp: txnTime,
			Description: "ACME LLC", DebitCreditMemo: DebitCreditMemoDebit, Status: TransactionStatusPosted, Amount: 40000,
			Payee: "ACME LLC", CheckNumber: ptr(int64(1234)), Category: "5411", SubCategory: "MCC"},
		{AccountCategory: DepositAccount, TransactionID: "t-2", TransactionTimestamp: txnTime, Description: "Pending card",
			DebitCreditMemo: DebitCreditMemoDebit, Status: TransactionStatusPending, Amount: 399},
		{AccountCategory: LoanAccount, TransactionID: "t-3", PostedTimestamp: posted, TransactionTimestamp: txnTime,
			Description: "Monthly payment", DebitCreditMemo: DebitCreditMemoCredit, Status: TransactionStatusPosted,
			Amount: 163883, TransactionType: "PAYMENT"},
		{AccountCategory: LocAccount, TransactionID: "t-4", PostedTimestamp: posted, TransactionTimestamp: txnTime,
			Description: "Coffee", DebitCreditMemo: DebitCreditMemoDebit, Status: TransactionStatusPosted, Amount: 450,
			TransactionType: "PURCHASE", ForeignAmount: ptr(Number(4.1)), ForeignCurrency: "EUR"},
		{AccountCategory: InvestmentAccount, TransactionID: "t-5", PostedTimestamp: posted, TransactionTimestamp: txnTime,
			Description: "Buy AAPL", DebitCreditMemo: DebitCreditMemoDebit, Status: TransactionStatusPosted, Amount: 175125,
			TransactionType: "PURCHASED", Symbol: "AAPL", Units: ptr(Number(10)), UnitPrice: ptr(Number(175.125)),
			Fees: ptr(Amount(0)), SecurityType: SecurityTypeStock, UnitType: UnitTypeShares},
	}
}

func sampleContact() AccountContact {
	return AccountContact{
		Holders: []AccountHolder{{Type: BusinessOrConsumerConsumer, Relationship: AccountHolderRelationshipPrimary,
			Name: &CustomerName{First: "Ada", Last: "Lovelace"}}},
		Emails:    []string{"ada@example.com"},
		Addresses: []DeliveryAddress{{Line1: "12 Main St", City: "Springfield", Region: "IL", PostalCode: "62701", Country: "US", Type: DeliveryAddressTypeHome, Primary: ptr(true)}},
		Telephones: []TelephoneNumber{{Type: TelephoneNumberPurposeHome, Country: "1", Number: "2175550123",
			Network: TelephoneNetworkLandline, Primary: ptr(true)}},
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := Marshal(v)
	if err != nil {
		t.Fatalf("Marshal(%T): %v", v, err)
	}
	fdxtest.CheckNoNull(t, b)
	return b
}

func TestEveryShapeIsValidAgainstTheSpec(t *testing.T) {
	fdxtest.Spec(t)
	var descs []AccountDescriptor
	for _, c := range []struct {
		cat AccountCategory
		typ string
	}{{DepositAccount, "SAVINGS"}, {LoanAccount, "AUTOLOAN"}, {LocAccount, "CHARGE"}, {InvestmentAccount, "529"},
		{DigitalWallet, "DIGITALWALLET"}, {AnnuityAccount, "FIXEDANNUITY"}, {CommercialAccount, "COMMERCIALDEPOSIT"},
		{InsuranceAccount, "WHOLELIFE"}} {
		descs = append(descs, descriptor(c.cat, c.typ, "id-"+c.typ))
	}
	// A descriptor with only the required fields: optional ones left out.
	descs = append(descs, AccountDescriptor{AccountCategory: DepositAccount, AccountID: "min", AccountType: "CD",
		ProductName: "", Status: AccountStatusClosed, Currency: usd()})
	fdxtest.ValidateSchema(t, "Accounts", mustMarshal(t, Accounts{Page: &PageMetadata{NextOffset: "abc", NextPageKey: "abc"}, Accounts: descs}))

	for _, a := range sampleAccounts() {
		t.Run(string(a.AccountCategory), func(t *testing.T) {
			fdxtest.ValidateSchema(t, "AccountWithDetails", mustMarshal(t, a))
		})
	}
	var raws []RawJSON
	for _, tx := range sampleTransactions() {
		raws = append(raws, mustMarshal(t, tx))
	}
	fdxtest.ValidateSchema(t, "Transactions", mustMarshal(t, Transactions{Transactions: raws}))
	fdxtest.ValidateSchema(t, "Transactions", mustMarshal(t, Transactions{}))
	fdxtest.ValidateSchema(t, "AccountContact", mustMarshal(t, sampleContact()))
	fdxtest.ValidateSchema(t, "AccountPaymentNetworkList", mustMarshal(t, AccountPaymentNetworkList{
		PaymentNetworks: []PaymentNetwork{{BankID: "011000015", Identifier: "1111222233335820", Type: PaymentNetworkTypeUsAch, TransferIn: true, TransferOut: true}}}))
	fdxtest.ValidateSchema(t, "AssetTransferNetworkList", mustMarshal(t, AssetTransferNetworkList{
		AssetTransferNetworks: []AssetTransferNetwork{{Identifier: "23348817826", IdentifierType: PaymentNetworkIdentifierTypeAccountNumber,
			InstitutionName: "First Bank", InstitutionID: "0123", Type: AssetTransferTypeUsAcats, JointAccount: ptr(false)}}}))
	fdxtest.ValidateSchema(t, "Statements", mustMarshal(t, Statements{Statements: []Statement{{AccountID: "dep-1", StatementID: "st-1",
		StatementDate: Date{2026, 2, 28}, Description: "February 2026", Status: "AVAILABLE",
		Links: []HateoasLink{{Href: "/fdx/v6/accounts/dep-1/statements/st-1", Action: HTTPActionGet, Rel: "self", Types: []ContentType{ContentTypePDF}}}}}}))
	fdxtest.ValidateSchema(t, "Customer", mustMarshal(t, Customer{CustomerID: "sub_0123456789"}))
}

func TestMarshalWritesTheSerializationRule(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"required string without value is empty", Customer{}, `{"customerId":""}`},
		{"required array without items is []", Transactions{}, `{"transactions":[]}`},
		{"optional fields without value are left out", Statement{}, `{}`},
		{"zero amount is written with two places", Holding{Symbol: "X", MarketValue: 0, CashAccount: false},
			`{"symbol":"X","marketValue":0.00,"cashAccount":false}`},
		{"amounts, dates and timestamps", Bill{TotalPaymentDue: ptr(Amount(-5)), DueDate: Date{2026, 1, 2}},
			`{"totalPaymentDue":-0.05,"dueDate":"2026-01-02"}`},
		{"timestamps keep their offset and milliseconds", Transaction{AccountCategory: DepositAccount, TransactionID: "x",
			PostedTimestamp: posted, TransactionTimestamp: txnTime, DebitCreditMemo: DebitCreditMemoMemo,
			Status: TransactionStatusPosted, Amount: 1},
			`{"accountCategory":"DEPOSIT_ACCOUNT","transactionId":"x","postedTimestamp":"2026-03-02T14:30:00.125-05:00",` +
				`"transactionTimestamp":"2026-03-01T09:15:00.000Z","description":"","debitCreditMemo":"MEMO","status":"POSTED","amount":0.01}`},
		{"strings are escaped, never HTML", ErrorBody{Code: 500, Message: "a<b> & \"c\"\n\x01"},
			`{"code":500,"message":"a\u003cb\u003e \u0026 \"c\"\n\u0001"}`},
		{"pointers to false and zero are values, not absence", ScheduledPayment{Amount: ptr(Amount(0)), PayToPrincipal: ptr(false)},
			`{"amount":0.00,"payToPrincipal":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.v)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("Marshal =\n %s\nwant\n %s", got, tt.want)
			}
		})
	}
}

func TestMarshalRefusesInvalidValues(t *testing.T) {
	okDesc := descriptor(DepositAccount, "CHECKING", "a")
	tests := []struct {
		name     string
		v        any
		wantPath string
	}{
		{"enum outside the list", Accounts{Accounts: []AccountDescriptor{func() AccountDescriptor {
			d := okDesc
			d.Status = "ACTIVE"
			return d
		}()}}, "$.accounts[0].status"},
		{"required enum empty", AccountDescriptor{AccountCategory: DepositAccount, AccountType: "CHECKING", Status: AccountStatusOpen}, "$.currency.currencyCode"},
		{"account type of another category", func() AccountDescriptor { d := okDesc; d.AccountType = "MORTGAGE"; return d }(), "$.accountType"},
		{"minItems", Accounts{}, "$.accounts"},
		{"currency code", func() AccountDescriptor { d := okDesc; d.Currency.CurrencyCode = "XYZ"; return d }(), "$.currency.currencyCode"},
		{"maxLength", func() AccountDescriptor { d := okDesc; d.AccountID = strings.Repeat("x", 257); return d }(), "$.accountId"},
		{"posted without postedTimestamp", Transaction{AccountCategory: DepositAccount, TransactionID: "x", TransactionTimestamp: txnTime,
			DebitCreditMemo: DebitCreditMemoDebit, Status: TransactionStatusPosted, Amount: 1}, "$.postedTimestamp"},
		{"pending with postedTimestamp", Transaction{AccountCategory: DepositAccount, TransactionID: "x", TransactionTimestamp: txnTime,
			PostedTimestamp: posted, DebitCreditMemo: DebitCreditMemoDebit, Status: TransactionStatusPending, Amount: 1}, "$.postedTimestamp"},
		{"negative amount", Transaction{AccountCategory: DepositAccount, TransactionID: "x", TransactionTimestamp: txnTime,
			PostedTimestamp: posted, DebitCreditMemo: DebitCreditMemoDebit, Status: TransactionStatusPosted, Amount: -1}, "$.amount"},
		{"required timestamp missing", Transaction{AccountCategory: DepositAccount, TransactionID: "x",
			DebitCreditMemo: DebitCreditMemoDebit, Status: TransactionStatusPending, Amount: 1}, "$.transactionTimestamp"},
		{"investment field on a deposit transaction", Transaction{AccountCategory: DepositAccount, TransactionID: "x", TransactionTimestamp: txnTime,
			DebitCreditMemo: DebitCreditMemoDebit, Status: TransactionStatusPending, Amount: 1, Symbol: "AAPL"}, "$.symbol"},
		{"investment transaction without fees", Transaction{AccountCategory: InvestmentAccount, TransactionID: "x", TransactionTimestamp: txnTime,
			DebitCreditMemo: DebitCreditMemoDebit, Status: TransactionStatusPending, Amount: 1, TransactionType: "FEE"}, "$.fees"},
		{"transaction of a discoverable-only category", Transaction{AccountCategory: AnnuityAccount, TransactionID: "x", TransactionTimestamp: txnTime,
			DebitCreditMemo: DebitCreditMemoDebit, Status: TransactionStatusPending, Amount: 1}, "$.accountCategory"},
		{"deposit details missing availableBalance", Account{AccountDescriptor: okDesc, CurrentBalance: ptr(Amount(1))}, "$.availableBalance"},
		{"loan field on a deposit account", Account{AccountDescriptor: okDesc, CurrentBalance: ptr(Amount(1)), AvailableBalance: ptr(Amount(1)),
			LoanTerm: ptr(int64(12))}, "$.loanTerm"},
		{"mortgage without account number", Account{AccountDescriptor: descriptor(LoanAccount, "MORTGAGE", "m"),
			PrincipalBalance: ptr(Amount(1)), InterestRate: ptr(Number(3)), InterestRateType: InterestRateTypeFixed}, "$.accountNumber"},
		{"details on a digital wallet", Account{AccountDescriptor: descriptor(DigitalWallet, "DIGITALWALLET", "w"), CurrentBalance: ptr(Amount(1))}, "$.currentBalance"},
		{"routing number checksum", PaymentNetwork{BankID: "011000016", Identifier: "123", Type: PaymentNetworkTypeUsAch}, "$.bankId"},
		{"FEDWIRE is not supported", PaymentNetwork{BankID: "011000015", Identifier: "123", Type: PaymentNetworkTypeUsFedwire}, "$.type"},
		{"contact needs one of each", AccountContact{}, "$.holders"},
		{"telephone digits", TelephoneNumber{Type: TelephoneNumberPurposeHome, Number: "555-0123"}, "$.number"},
		{"two statement links", Statement{Links: []HateoasLink{{Href: "/a"}, {Href: "/b"}}}, "$.links"},
		{"not a calendar date", Bill{DueDate: Date{2026, 2, 30}}, "$.dueDate"},
		{"holding without symbol or typed id", Holding{MarketValue: 1}, "$.symbol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Marshal(tt.v)
			if err == nil {
				t.Fatalf("Marshal = %s; want an error at %s", b, tt.wantPath)
			}
			ve, ok := errors.AsType[*ValidationError](err)
			if !ok {
				t.Fatalf("error %T %v; want *ValidationError", err, err)
			}
			if !slices.ContainsFunc(ve.Problems, func(p Problem) bool { return p.Path == tt.wantPath }) {
				t.Fatalf("problems %v; want one at %s", ve.Problems, tt.wantPath)
			}
			if b != nil {
				t.Fatalf("Marshal wrote %q despite the error", b)
			}
		})
	}
}

func TestUnmarshalNamesThePathOfTheBadValue(t *testing.T) {
	tests := []struct {
		name, json, wantPath, wantMsg string
	}{
		{"wrong type", `{"accounts":[{"accountCategory":"DEPOSIT_ACCOUNT","accountId":"a","accountType":"CHECKING","productName":"p","status":"OPEN","currency":{"currencyCode":7}}]}`,
			"$.accounts[0].currency.currencyCode", "must be a string"},
		{"missing required", `{"accounts":[{"accountCategory":"DEPOSIT_ACCOUNT","accountType":"CHECKING","productName":"p","status":"OPEN","currency":{"currencyCode":"USD"}}]}`,
			"$.accounts[0].accountId", "required field missing"},
		{"null required", `{"accounts":[{"accountCategory":"DEPOSIT_ACCOUNT","accountId":null,"accountType":"CHECKING","productName":"p","status":"OPEN","currency":{"currencyCode":"USD"}}]}`,
			"$.accounts[0].accountId", "must not be null"},
		{"unknown field", `{"accounts":[],"acounts":[]}`, "$.acounts", "unknown field"},
		{"enum", `{"accounts":[{"accountCategory":"DEPOSIT_ACCOUNT","accountId":"a","accountType":"CHECKING","productName":"p","status":"open","currency":{"currencyCode":"USD"}}]}`,
			"$.accounts[0].status", "not one of the allowed values"},
		{"minItems after decoding", `{"accounts":[]}`, "$.accounts", "at least 1"},
		{"syntax", `{"accounts":[`, "$", "invalid JSON"},
		{"trailing data", `{"accounts":[]} {}`, "$", "after the JSON document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v Accounts
			err := Unmarshal([]byte(tt.json), &v)
			ve, ok := errors.AsType[*ValidationError](err)
			if !ok {
				t.Fatalf("Unmarshal error = %v; want *ValidationError", err)
			}
			if !slices.ContainsFunc(ve.Problems, func(p Problem) bool {
				return p.Path == tt.wantPath && strings.Contains(p.Message, tt.wantMsg)
			}) {
				t.Fatalf("problems %v; want %q at %s", ve.Problems, tt.wantMsg, tt.wantPath)
			}
		})
	}
}

func TestUnmarshalReadsNullOptionalAsAbsent(t *testing.T) {
	var s Statement
	if err := Unmarshal([]byte(`{"statementId":"s","description":null}`), &s); err != nil {
		t.Fatal(err)
	}
	if s.StatementID != "s" || s.Description != "" {
		t.Fatalf("got %+v", s)
	}
}

func TestRoundTrip(t *testing.T) {
	values := []any{sampleContact()}
	for _, a := range sampleAccounts() {
		values = append(values, a)
	}
	for _, tx := range sampleTransactions() {
		values = append(values, tx)
	}
	for _, v := range values {
		t.Run(fmt.Sprintf("%T", v), func(t *testing.T) {
			b := mustMarshal(t, v)
			p := reflect.New(reflect.TypeOf(v))
			if err := Unmarshal(b, p.Interface()); err != nil {
				t.Fatalf("Unmarshal(%s): %v", b, err)
			}
			b2 := mustMarshal(t, p.Elem().Interface())
			if string(b) != string(b2) {
				t.Fatalf("round trip changed the JSON:\n %s\n %s", b, b2)
			}
		})
	}
}

func TestAmount(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Amount
		out  string
	}{
		{"0", 0, "0.00"}, {"12", 1200, "12.00"}, {"-3.5", -350, "-3.50"}, {"192.00", 19200, "192.00"},
		{"0.01", 1, "0.01"}, {"1.230", 123, "1.23"}, {"-0.05", -5, "-0.05"},
	} {
		got, err := ParseAmount(tt.in)
		if err != nil || got != tt.want || got.String() != tt.out {
			t.Errorf("ParseAmount(%q) = %d (%s), %v; want %d (%s)", tt.in, got, got, err, tt.want, tt.out)
		}
	}
	for _, bad := range []string{"", "1.234", "1e3", "abc", ".5", "5.", "--1", "12345678901234567"} {
		if _, err := ParseAmount(bad); err == nil {
			t.Errorf("ParseAmount(%q) succeeded; want an error", bad)
		}
	}
}

func TestDatesAndTimestamps(t *testing.T) {
	for _, bad := range []string{"2026-2-01", "2026-02-30", "20260201", "2026-02-01T00:00:00Z", ""} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) succeeded", bad)
		}
	}
	d, err := ParseDate("2024-02-29")
	if err != nil || d.String() != "2024-02-29" || d.AddDays(1).String() != "2024-03-01" {
		t.Fatalf("ParseDate(2024-02-29) = %v, %v", d, err)
	}
	if _, err := ParseTimestamp("2026-03-01T10:00:00"); err == nil {
		t.Error("a timestamp without offset was accepted")
	}
	ts, err := ParseTimestamp("2024-07-15T14:46:41.375+02:00")
	if err != nil || ts.String() != "2024-07-15T14:46:41.375+02:00" {
		t.Fatalf("ParseTimestamp = %v, %v", ts, err)
	}
}

func TestValidABA(t *testing.T) {
	for _, ok := range []string{"011000015", "021000021", "122105155", "026009593"} {
		if !ValidABA(ok) {
			t.Errorf("ValidABA(%s) = false", ok)
		}
	}
	for _, bad := range []string{"011000016", "12345678", "0110000150", "01100001a", "000000000"} {
		if ValidABA(bad) {
			t.Errorf("ValidABA(%s) = true", bad)
		}
	}
}

// TestEnumsMatchTheSpec keeps the enumerations and code lists identical to
// the spec's.
func TestEnumsMatchTheSpec(t *testing.T) {
	doc := fdxtest.Spec(t)
	ours := map[string][]string{
		"AccountCategory": keys(accountCategoryValues), "AccountStatus": keys(accountStatusValues),
		"AccountHolderRelationship": keys(accountHolderRelationshipValues), "AssetTransferType": keys(assetTransferTypeValues),
		"BusinessOrConsumer": keys(businessOrConsumerValues), "CompoundingPeriod": keys(compoundingPeriodValues),
		"ContentTypes": keys(contentTypeValues), "DebitCreditMemo": keys(debitCreditMemoValues),
		"DeliveryAddressType": keys(deliveryAddressTypeValues), "HoldingSubType": keys(holdingSubTypeValues),
		"HoldingType": keys(holdingTypeValues), "HttpAction": keys(hTTPActionValues),
		"InterestRateType": keys(interestRateTypeValues), "PaymentNetworkIdentifierType": keys(paymentNetworkIdentifierTypeValues),
		"PaymentNetworkType": keys(paymentNetworkTypeValues), "PositionType": keys(positionTypeValues),
		"ScheduledPaymentType": keys(scheduledPaymentTypeValues), "SecurityIdType": keys(securityIDTypeValues),
		"SecurityType": keys(securityTypeValues), "TelephoneNetwork": keys(telephoneNetworkValues),
		"TelephoneNumberPurpose": keys(telephoneNumberPurposeValues), "TransactionStatus": keys(transactionStatusValues),
		"UnitType":           keys(unitTypeValues),
		"DepositAccountType": keys(depositAccountTypes), "DigitalWalletType": keys(digitalWalletTypes),
		"LoanAccountType": keys(loanAccountTypes), "LineOfCreditAccountType": keys(lineOfCreditAccountTypes),
		"InvestmentAccountType": keys(investmentAccountTypes), "InsuranceAccountType": keys(insuranceAccountTypes),
		"AnnuityAccountType": keys(annuityAccountTypes), "CommercialAccountType": keys(commercialAccountTypes),
		"InvestmentTransactionType": keys(investmentTransactionTypes), "LoanTransactionType": keys(loanTransactionTypes),
		"LineOfCreditTransactionType": keys(lineOfCreditTransactionTypes),
		"Iso4217Code":                 keys(currencyCodes), "Iso3166CountryCode": keys(countryCodes),
	}
	for name, s := range doc.Components.Schemas {
		if len(s.Value.Enum) > 0 && ours[name] == nil {
			t.Errorf("spec enumeration %s has no counterpart here", name)
		}
	}
	for name, got := range ours {
		s := doc.Components.Schemas[name]
		if s == nil {
			t.Errorf("%s is not a schema of the spec", name)
			continue
		}
		var want []string
		for _, v := range s.Value.Enum {
			want = append(want, fmt.Sprint(v))
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n ours %v\n spec %v", name, got, want)
		}
	}
}

func keys[K ~string](m map[K]struct{}) []string {
	var out []string
	for k := range m {
		out = append(out, string(k))
	}
	slices.Sort(out)
	return out
}
