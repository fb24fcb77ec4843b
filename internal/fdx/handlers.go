package fdx

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fdxd/fdxd/internal/fdx/model"
	"github.com/fdxd/fdxd/internal/oauth"
	"github.com/fdxd/fdxd/internal/store"
)

func (a *API) customer(w http.ResponseWriter, r *http.Request, acc oauth.Access) {
	// The customerId is the OIDC sub: one consistency key whether the
	// aggregator identifies users by ID token or by this endpoint.
	writeJSON(w, r, model.Customer{CustomerID: acc.Subject})
}

func validID(id string) bool {
	return id != "" && len(id) <= 256 && utf8.ValidString(id) && !strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 })
}

// loadAccount finds an account the token may see. Another user's account,
// one outside the grant's selection and one that does not exist all answer
// the same 404.
func (a *API) loadAccount(r *http.Request, acc oauth.Access) (store.Account, *apiError) {
	id := r.PathValue("accountId")
	if !validID(id) || (acc.AccountSelection && !slices.Contains(acc.AccountIDs, id)) {
		return store.Account{}, errAccountNotFound()
	}
	account, err := a.cfg.Store.GetAccount(r.Context(), acc.UserID, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return account, errAccountNotFound()
	case err != nil:
		return account, a.storeError(r.Context(), err)
	}
	return account, nil
}

// openForData refuses a RESTRICTED (locked) account's data.
func openForData(account store.Account) *apiError {
	if account.Status == string(model.AccountStatusRestricted) {
		return errForbidden("Account is restricted")
	}
	return nil
}

// dataAccount loads an account whose data (contact, transactions,
// statements) the token may read.
func (a *API) dataAccount(r *http.Request, acc oauth.Access) (store.Account, *apiError) {
	account, e := a.loadAccount(r, acc)
	if e != nil {
		return account, e
	}
	return account, openForData(account)
}

// accountPage loads the account of a list request with load and reads the
// page asked for, its cursor bound to this user and account.
func (a *API) accountPage(r *http.Request, acc oauth.Access, kind listKind,
	load func(*API, *http.Request, oauth.Access) (store.Account, *apiError)) (store.Account, pageRequest, *apiError) {
	account, e := load(a, r, acc)
	if e != nil {
		return account, pageRequest{}, e
	}
	p, e := a.readPage(r, kind, scopeOf(acc.UserID, account.ID))
	return account, p, e
}

// trimPage cuts a list read with one row more than the page's limit down to
// the page, and reports whether that extra row showed another page.
func trimPage[T any](list []T, limit int) ([]T, bool) {
	return list[:min(len(list), limit)], len(list) > limit
}

func (a *API) accounts(w http.ResponseWriter, r *http.Request, acc oauth.Access) {
	p, e := a.readPage(r, listAccounts, scopeOf(acc.UserID, ""))
	if e != nil {
		writeError(w, r, e)
		return
	}
	q := store.AccountQuery{UserID: acc.UserID, Restrict: acc.AccountSelection, OnlyIDs: acc.AccountIDs, Limit: p.limit + 1}
	if p.cursor != nil {
		q.AfterCreatedAt, q.AfterID = microsTime(p.cursor.at), p.cursor.id
	}
	list, err := a.cfg.Store.ListAccounts(r.Context(), q)
	if err != nil {
		writeError(w, r, a.storeError(r.Context(), err))
		return
	}
	if len(list) == 0 {
		writeError(w, r, errNoData("no accounts are available to this token"))
		return
	}
	list, more := trimPage(list, p.limit)
	out := model.Accounts{Accounts: make([]model.AccountDescriptor, len(list))}
	for i, s := range list {
		out.Accounts[i] = model.AccountDescriptor{
			AccountCategory: model.AccountCategory(s.Category), AccountID: s.ID, AccountType: s.Type,
			AccountNumberDisplay: s.NumberDisplay, ProductName: s.ProductName, ProductID: s.ProductID, Nickname: s.Nickname,
			Status: model.AccountStatus(s.Status), Currency: model.Currency{CurrencyCode: model.CurrencyCode(s.Currency)},
		}
	}
	last := list[len(list)-1]
	out.Page = a.nextPage(cursor{kind: listAccounts, scope: p.scope, at: last.CreatedAt.UnixMicro(), id: last.ID}, more)
	writeJSON(w, r, out)
}

func (a *API) account(w http.ResponseWriter, r *http.Request, acc oauth.Access) {
	account, e := a.loadAccount(r, acc)
	if e != nil {
		writeError(w, r, e)
		return
	}
	if !model.HasDetails(model.AccountCategory(account.Category)) || len(account.Details) == 0 {
		writeError(w, r, errNoData(account.Category+" accounts are discoverable only: no details"))
		return
	}
	// Details were encoded by the model encoder when imported.
	writeBody(w, r, http.StatusOK, "application/json", account.Details)
}

func (a *API) contact(w http.ResponseWriter, r *http.Request, acc oauth.Access) {
	account, e := a.dataAccount(r, acc)
	if e == nil && len(account.Contact) == 0 {
		e = errNoData("no contact information for this account")
	}
	if e != nil {
		writeError(w, r, e)
		return
	}
	writeBody(w, r, http.StatusOK, "application/json", account.Contact)
}

func (a *API) transactions(w http.ResponseWriter, r *http.Request, acc oauth.Access) {
	account, p, e := a.accountPage(r, acc, listTransactions, (*API).dataAccount)
	if e != nil {
		writeError(w, r, e)
		return
	}
	win, e := a.readWindow(r, a.cfg.DefaultTransactionDays, p.cursor)
	if e != nil {
		writeError(w, r, e)
		return
	}
	from, to := a.times(win)
	q := store.TransactionQuery{AccountID: account.ID, From: from, To: to, Limit: p.limit + 1}
	if p.cursor != nil {
		q.AfterAt, q.AfterID = microsTime(p.cursor.at), p.cursor.id
	}
	list, err := a.cfg.Store.ListTransactions(r.Context(), q)
	if err != nil {
		writeError(w, r, a.storeError(r.Context(), err))
		return
	}
	list, more := trimPage(list, p.limit)
	out := model.Transactions{Transactions: make([]model.RawJSON, len(list))}
	for i, t := range list {
		out.Transactions[i] = t.Body
	}
	if more {
		last := list[len(list)-1]
		out.Page = a.nextPage(cursor{kind: listTransactions, scope: p.scope, from: dayNumber(win.from), to: dayNumber(win.to),
			at: last.At.UnixMicro(), id: last.ID}, true)
	}
	writeJSON(w, r, out)
}

func (a *API) statements(w http.ResponseWriter, r *http.Request, acc oauth.Access) {
	account, p, e := a.accountPage(r, acc, listStatements, (*API).dataAccount)
	if e != nil {
		writeError(w, r, e)
		return
	}
	// Without dates a statements request covers the whole history.
	win, e := a.readWindow(r, a.historyDays(), p.cursor)
	if e != nil {
		writeError(w, r, e)
		return
	}
	q := store.StatementQuery{AccountID: account.ID, FromDate: win.from.String(), ToDate: win.to.String(), Limit: p.limit + 1}
	if p.cursor != nil {
		q.AfterDate, q.AfterID = dateOfDay(p.cursor.at).String(), p.cursor.id
	}
	list, err := a.cfg.Store.ListStatements(r.Context(), q)
	if err != nil {
		writeError(w, r, a.storeError(r.Context(), err))
		return
	}
	list, more := trimPage(list, p.limit)
	out := model.Statements{Statements: make([]model.Statement, len(list))}
	for i, s := range list {
		date, err := model.ParseDate(s.Date)
		if err != nil {
			writeError(w, r, a.storeError(r.Context(), err))
			return
		}
		out.Statements[i] = model.Statement{AccountID: account.ID, StatementID: s.ID, StatementDate: date,
			Description: s.Description, Status: s.Status, Links: []model.HateoasLink{{
				Href:   a.cfg.PublicURL + BasePath + "/accounts/" + url.PathEscape(account.ID) + "/statements/" + url.PathEscape(s.ID),
				Action: model.HTTPActionGet, Rel: "self", Types: []model.ContentType{model.ContentTypePDF},
			}}}
	}
	if more {
		last := list[len(list)-1]
		d, _ := model.ParseDate(last.Date)
		out.Page = a.nextPage(cursor{kind: listStatements, scope: p.scope, from: dayNumber(win.from), to: dayNumber(win.to),
			at: dayNumber(d), id: last.ID}, true)
	}
	writeJSON(w, r, out)
}

// historyDays is the default window of statements: the supported history.
func (a *API) historyDays() int {
	today := a.cfg.Now().In(a.cfg.Location)
	return int(today.Sub(today.AddDate(0, -a.cfg.HistoryMonths, 0)).Hours()/24) + 1
}

func (a *API) statementPDF(w http.ResponseWriter, r *http.Request, acc oauth.Access) {
	account, e := a.dataAccount(r, acc)
	if e != nil {
		writeError(w, r, e)
		return
	}
	id := r.PathValue("statementId")
	if !validID(id) {
		writeError(w, r, errNoData("no such statement for this account"))
		return
	}
	doc, err := a.cfg.Store.GetStatementPDF(r.Context(), account.ID, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, r, errNoData("no such statement for this account"))
		return
	case err != nil:
		writeError(w, r, a.storeError(r.Context(), err))
		return
	}
	name := strings.Map(func(r rune) rune {
		if r < 0x80 && (r == '-' || r == '_' || r == '.' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, id)
	w.Header().Set("Content-Disposition", `inline; filename="statement-`+name+`.pdf"`)
	writeBody(w, r, http.StatusOK, "application/pdf", doc)
}

func (a *API) paymentNetworks(w http.ResponseWriter, r *http.Request, acc oauth.Access) {
	account, p, e := a.accountPage(r, acc, listPaymentNetworks, (*API).networksAccount)
	if e != nil {
		writeError(w, r, e)
		return
	}
	q := store.NetworkQuery{AccountID: account.ID, Kind: store.PaymentNetwork, AfterPosition: -1, Limit: p.limit + 1}
	if p.cursor != nil {
		q.AfterPosition = int(p.cursor.at)
	}
	list, err := a.cfg.Store.ListNetworks(r.Context(), q)
	if err != nil {
		writeError(w, r, a.storeError(r.Context(), err))
		return
	}
	if len(list) == 0 {
		writeError(w, r, errNoData("no payment networks for this account"))
		return
	}
	list, more := trimPage(list, p.limit)
	out := model.AccountPaymentNetworkList{PaymentNetworks: make([]model.PaymentNetwork, len(list))}
	for i, n := range list {
		if err := model.Unmarshal(n.Body, &out.PaymentNetworks[i]); err != nil {
			writeError(w, r, a.storeError(r.Context(), err))
			return
		}
	}
	last := list[len(list)-1]
	out.Page = a.nextPage(cursor{kind: listPaymentNetworks, scope: p.scope, at: int64(last.Position)}, more)
	writeJSON(w, r, out)
}

// assetTransferNetworks lists them all, whatever offset and limit say: the
// spec's AssetTransferNetworkList has no page object, so a next page could
// never be offered.
func (a *API) assetTransferNetworks(w http.ResponseWriter, r *http.Request, acc oauth.Access) {
	account, e := a.networksAccount(r, acc)
	if e != nil {
		writeError(w, r, e)
		return
	}
	list, err := a.cfg.Store.ListNetworks(r.Context(), store.NetworkQuery{AccountID: account.ID, Kind: store.AssetTransferNetwork,
		AfterPosition: -1, Limit: 10_000})
	if err != nil {
		writeError(w, r, a.storeError(r.Context(), err))
		return
	}
	out := model.AssetTransferNetworkList{AssetTransferNetworks: make([]model.AssetTransferNetwork, len(list))}
	for i, n := range list {
		if err := model.Unmarshal(n.Body, &out.AssetTransferNetworks[i]); err != nil {
			writeError(w, r, a.storeError(r.Context(), err))
			return
		}
	}
	writeJSON(w, r, out)
}

// networksAccount loads an account for moving money or assets: a CLOSED
// account supports neither (705), a RESTRICTED one is locked (706).
func (a *API) networksAccount(r *http.Request, acc oauth.Access) (store.Account, *apiError) {
	account, e := a.loadAccount(r, acc)
	if e != nil {
		return account, e
	}
	if account.Status == string(model.AccountStatusClosed) {
		return account, errClosed()
	}
	return account, openForData(account)
}

func microsTime(us int64) time.Time { return time.UnixMicro(us).UTC() }
