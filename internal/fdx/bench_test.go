package fdx

import (
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/fdxd/fdxd/internal/fdx/model"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/store"
)

// quiet replaces the fixture's API by one that logs nowhere, so that the
// benchmarks measure the API and not the test's log buffer.
func quiet(b *testing.B, f *fixture) {
	b.Helper()
	api, err := New(Config{Store: f.st, Tokens: f.tokens, Observer: observe.New(slog.New(slog.DiscardHandler), f.clock.Now),
		Maintenance: f.api.cfg.Maintenance, CursorKey: f.api.cfg.CursorKey, Now: f.clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	f.h = api.Handler()
}

func benchGet(b *testing.B, h http.Handler, target, token string) {
	b.Helper()
	req := httptest.NewRequest("GET", target, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("GET %s = %d %s", target, rec.Code, rec.Body)
		}
		io.Copy(io.Discard, rec.Body)
	}
}

// BenchmarkAccounts is GET /accounts of the demo-sized data set: token
// verification (a grant read), the maintenance switch, one keyset page.
func BenchmarkAccounts(b *testing.B) {
	f := newFixture(b, 720)
	quiet(b, f)
	benchGet(b, f.h, "/fdx/v6/accounts", f.aliceToken())
}

// BenchmarkTransactionsPage100 is a 100-row page of the checking account.
func BenchmarkTransactionsPage100(b *testing.B) {
	f := newFixture(b, 720)
	quiet(b, f)
	acct := f.file.Customers[0].Accounts[0].Account.AccountID
	benchGet(b, f.h, "/fdx/v6/accounts/"+acct+"/transactions?limit=100&startTime=2024-11-25&endTime=2026-11-25", f.aliceToken())
}

// BenchmarkMillionTransactions compares pages 1, 1,000 and 9,000 (limit
// 100) of an account with one million transactions: keyset pages cost the
// same wherever they are.
func BenchmarkMillionTransactions(b *testing.B) {
	f := newFixture(b, 20)
	quiet(b, f)
	const n = 1_000_000
	start := t0.Add(-n*time.Minute - time.Hour)
	big := store.Account{ID: "big", UserID: "u-alice", Category: "DEPOSIT_ACCOUNT", Type: "CHECKING", ProductName: "Checking",
		Status: "OPEN", Currency: "USD", Details: []byte(`{}`), CreatedAt: t0, UpdatedAt: t0}
	if err := f.st.ImportData(b.Context(), store.DataImport{Now: t0, Accounts: []store.AccountData{{Account: big}}}); err != nil {
		b.Fatal(err)
	}
	// The fixture: one INSERT ... SELECT of a million FDX transactions, one
	// a minute, straight into the table on a second connection.
	db, err := sql.Open("sqlite", "file:"+f.path+"?_pragma=busy_timeout(60000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	began := time.Now()
	_, err = db.ExecContext(b.Context(), `WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < ? - 1)
		INSERT INTO fdx_transactions (account_id, at, transaction_id, body)
		SELECT 'big', ? + i * 60000000, printf('t%07d', i),
			CAST(printf('{"accountCategory":"DEPOSIT_ACCOUNT","transactionId":"t%07d","postedTimestamp":"%s","transactionTimestamp":"%s","description":"Card purchase %d","debitCreditMemo":"DEBIT","status":"POSTED","amount":%d.%02d}',
				i, strftime('%Y-%m-%dT%H:%M:%fZ', ? + i * 60, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%fZ', ? + i * 60, 'unixepoch'),
				i, 1 + i % 500, i % 100) AS BLOB)
		FROM seq`, n, start.UnixMicro(), start.Unix(), start.Unix())
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("inserted %d transactions in %v", n, time.Since(began).Round(time.Millisecond))
	tok := f.aliceToken()
	win := window{from: dateOfDay(dayNumber(mustDate(b, "2024-11-25"))), to: mustDate(b, "2026-11-25")}
	base := "/fdx/v6/accounts/big/transactions?limit=100&startTime=2024-11-25&endTime=2026-11-25"
	for _, page := range []int{1, 1000, 9000} {
		target := base
		if page > 1 {
			last := page*100 - 100 - 1 // the last row of the previous page
			c := cursor{kind: listTransactions, scope: scopeOf("u-alice", "big"), from: dayNumber(win.from), to: dayNumber(win.to),
				at: start.Add(time.Duration(last) * time.Minute).UnixMicro(), id: fmt.Sprintf("t%07d", last)}
			target += "&offset=" + url.QueryEscape(c.encode(f.api.cfg.CursorKey))
		}
		b.Run(fmt.Sprintf("page%d", page), func(b *testing.B) { benchGet(b, f.h, target, tok) })
	}
}

func mustDate(b *testing.B, s string) model.Date {
	b.Helper()
	v, err := model.ParseDate(s)
	if err != nil {
		b.Fatal(err)
	}
	return v
}
