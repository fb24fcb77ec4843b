package dataset

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/fdx/model"
	"github.com/fdxd/fdxd/internal/fdx/pdf"
	"github.com/fdxd/fdxd/internal/store"
)

const good = `{"customers":[{"username":"demo","accounts":[{
  "account":{"accountCategory":"DEPOSIT_ACCOUNT","accountId":"chk-1","accountType":"CHECKING","accountNumberDisplay":"...1234",
    "productName":"Checking","status":"OPEN","currency":{"currencyCode":"USD"},"currentBalance":100.50,"availableBalance":90.50},
  "transactions":[
    {"accountCategory":"DEPOSIT_ACCOUNT","transactionId":"t1","postedTimestamp":"2026-10-02T06:00:00Z","transactionTimestamp":"2026-10-01T12:00:00Z",
     "description":"Coffee","debitCreditMemo":"DEBIT","status":"POSTED","amount":4.50},
    {"accountCategory":"DEPOSIT_ACCOUNT","transactionId":"p2","transactionTimestamp":"2026-11-24T12:00:00Z",
     "description":"Books","debitCreditMemo":"DEBIT","status":"PENDING","amount":10}],
  "statements":[{"statementId":"st-oct","statementDate":"2026-10-31"}],
  "paymentNetworks":[{"bankId":"011000015","identifier":"9876541234","type":"US_ACH","transferIn":true,"transferOut":true}]
 },{
  "account":{"accountCategory":"INSURANCE_ACCOUNT","accountId":"ins-1","accountType":"WHOLELIFE","productName":"Life","status":"OPEN","currency":{"currencyCode":"USD"}}
}]}]}`

type users map[string]store.User

func (u users) GetUserByUsername(_ context.Context, name string) (store.User, error) {
	if v, ok := u[name]; ok {
		return v, nil
	}
	return store.User{}, store.ErrNotFound
}

var demo = users{"demo": {ID: "u1", Username: "demo", Name: "Demo User"}}

func TestReadAndConvert(t *testing.T) {
	f, err := Read(strings.NewReader(good))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	imp, err := f.Convert(t.Context(), demo, Options{Now: now, Replace: true})
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	if len(imp.Accounts) != 2 || !slices.Equal(imp.ReplaceUsers, []string{"u1"}) {
		t.Fatalf("import = %+v", imp)
	}
	chk, ins := imp.Accounts[0], imp.Accounts[1]
	if chk.Account.UserID != "u1" || chk.Account.NumberDisplay != "...1234" || len(chk.Account.Details) == 0 ||
		!chk.Account.CreatedAt.Before(ins.Account.CreatedAt) {
		t.Fatalf("checking = %+v", chk.Account)
	}
	if ins.Account.Details != nil {
		t.Fatalf("insurance account has details %s; want none (discoverable only)", ins.Account.Details)
	}
	if got := chk.Transactions[1]; got.ID != "p2" || !got.At.Equal(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("pending transaction = %+v; want sorted by its transaction time", got)
	}
	st := chk.Statements[0]
	if err := pdf.Verify(st.PDF); err != nil || st.Status != "AVAILABLE" || st.Date != "2026-10-31" {
		t.Fatalf("statement %+v: rendered PDF: %v", st, err)
	}
	if !strings.Contains(string(st.PDF), "Coffee") || strings.Contains(string(st.PDF), "Books") {
		t.Fatal("the rendered statement must list the October posted transaction only")
	}
}

func TestImportErrorsNameTheJSONPath(t *testing.T) {
	tests := []struct {
		name, from, to, wantPath string
	}{
		{"three decimals", `"amount":4.50`, `"amount":4.505`, "$.customers[0].accounts[0].transactions[0].amount"},
		{"wrong category", `"accountCategory":"DEPOSIT_ACCOUNT","transactionId":"p2"`, `"accountCategory":"LOC_ACCOUNT","transactionId":"p2"`,
			"$.customers[0].accounts[0].transactions[1].accountCategory"},
		{"duplicate transaction", `"transactionId":"p2"`, `"transactionId":"t1"`, "$.customers[0].accounts[0].transactions[1].transactionId"},
		{"duplicate account", `"accountId":"ins-1"`, `"accountId":"chk-1"`, "$.customers[0].accounts[1].account.accountId"},
		{"details on a discoverable account", `"productName":"Life",`, `"productName":"Life","currentBalance":1,`, "$.customers[0].accounts[1].account.currentBalance"},
		{"bad routing number", `"011000015"`, `"011000016"`, "$.customers[0].accounts[0].paymentNetworks[0].bankId"},
		{"unknown field", `"statementId":"st-oct"`, `"statementId":"st-oct","statmentDate":"x"`, "$.customers[0].accounts[0].statements[0].statmentDate"},
		{"not a pdf", `"statementId":"st-oct"`, `"statementId":"st-oct","pdf":"aGVsbG8="`, "$.customers[0].accounts[0].statements[0].pdf"},
		{"null", `"productName":"Checking"`, `"productName":null`, "$.customers[0].accounts[0].account.productName"},
		{"missing balance", `"currentBalance":100.50,`, ``, "$.customers[0].accounts[0].account.currentBalance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Replace(good, tt.from, tt.to, 1)
			if in == good {
				t.Fatalf("test did not change the input")
			}
			_, err := Read(strings.NewReader(in))
			ve, ok := errors.AsType[*model.ValidationError](err)
			if !ok {
				t.Fatalf("Read error = %v; want a ValidationError", err)
			}
			if !slices.ContainsFunc(ve.Problems, func(p model.Problem) bool { return p.Path == tt.wantPath }) {
				t.Fatalf("problems %v; want one at %s", ve.Problems, tt.wantPath)
			}
		})
	}
}

func TestConvertNamesAnUnknownUser(t *testing.T) {
	f, err := Read(strings.NewReader(strings.Replace(good, `"username":"demo"`, `"username":"nobody"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Convert(t.Context(), demo, Options{Now: time.Now()})
	if err == nil || !strings.Contains(err.Error(), "$.customers[0].username") || !strings.Contains(err.Error(), "nobody") {
		t.Fatalf("Convert error = %v; want the username's path", err)
	}
}
