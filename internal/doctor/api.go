package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

const (
	accountsPageLimit = "2"  // small, so that pagination is exercised
	subListPageLimit  = "25" // transactions, statements, payment networks
	maxAccounts       = 20   // accounts whose sub-resources are fetched
	maxPages          = 60   // pages walked per list before stopping
)

// detailCategories are the account categories Plaid fetches details,
// transactions and balances for; the others are discoverable-only.
var detailCategories = []string{"DEPOSIT_ACCOUNT", "LOAN_ACCOUNT", "LOC_ACCOUNT", "INVESTMENT_ACCOUNT"}

// apiRun is the state of the api stage.
type apiRun struct {
	r     *run
	base  string
	token string

	nulls       []string // "GET /accounts: $.accounts[0].productName"
	schema      []string
	validated   int
	errorBodies []string // error responses that are not FDX error entities
	errorNotes  []string // FDX bodies with a string code
	errorsSeen  int
	nextOffset  []string // pagination problems at the end of a list
	loops       []string
	stopped     []string // lists not walked to the end (too long)
	walks       int

	tallies map[string]*tally
}

// tally aggregates one per-account check over every account.
type tally struct {
	status Status
	counts map[string]int
	lines  []string
}

func (a *apiRun) note(id string, st Status, outcome, line string) {
	t := a.tallies[id]
	if t == nil {
		t = &tally{status: Pass, counts: map[string]int{}}
		a.tallies[id] = t
	}
	t.status = worse(t.status, st)
	if outcome != "" {
		t.counts[outcome]++
	}
	if line != "" {
		t.lines = append(t.lines, line)
	}
}

func (a *apiRun) flush(id, unit string) {
	t := a.tallies[id]
	if t == nil {
		return
	}
	var parts []string
	keys := make([]string, 0, len(t.counts))
	for k := range t.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d × %s", t.counts[k], k))
	}
	evidence := fmt.Sprintf("%s: %s", unit, strings.Join(parts, ", "))
	if len(t.lines) > 0 {
		evidence += "\n" + joinLines(t.lines, 8)
	}
	a.r.rec.add(id, t.status, evidence, "")
}

// apiResult is one API response with its decoded JSON body.
type apiResult struct {
	label string // "GET /accounts/acc-1", for evidence
	resp  *response
	body  any
	json  bool
}

func (r *run) checkAPI(ctx context.Context) {
	var apiIDs []string
	for _, c := range catalogue {
		if c.stage == StageAPI {
			apiIDs = append(apiIDs, c.id)
		}
	}
	skipAll := func(why string) {
		for _, id := range apiIDs {
			if !r.rec.has(id) {
				r.rec.skip(id, "%s", why)
			}
		}
	}
	switch {
	case r.cfg.APIBase == "":
		skipAll("no --api-base")
		return
	case r.main == nil:
		skipAll("no access token (see token.exchange_basic)")
		return
	}
	a := &apiRun{r: r, base: strings.TrimSuffix(r.cfg.APIBase, "/"), token: r.main.tokens.accessToken, tallies: map[string]*tally{}}

	a.checkBearer(ctx)
	a.checkCustomer(ctx)
	accounts, ok := a.checkAccounts(ctx)
	if ok {
		a.checkEachAccount(ctx, accounts)
	} else {
		for _, id := range []string{"api.account_details", "api.account_contact", "api.payment_networks", "api.transactions", "api.statements", "api.statement_pdf", "api.asset_transfer_networks", "api.date_range"} {
			r.rec.skip(id, "no accounts (see api.accounts)")
		}
	}
	a.checkUnknownAccount(ctx)
	a.report(ctx)
	skipAll("not reached" + deadlineNote(ctx))
}

// get calls the API at path (below the base URL). Bodies are validated later,
// by accept, so that a page can be left out.
func (a *apiRun) get(ctx context.Context, path string, query url.Values, auth string, accept string) (*apiResult, error) {
	u := a.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	header := http.Header{"Accept": {accept}}
	if auth != "" {
		header.Set("Authorization", auth)
	}
	resp, err := a.r.client.get(ctx, u, header)
	if err != nil {
		return nil, err
	}
	res := &apiResult{label: "GET " + path, resp: resp}
	if strings.Contains(resp.contentType(), "json") || bytes.HasPrefix(bytes.TrimSpace(resp.body), []byte("{")) {
		res.json = json.Unmarshal(resp.body, &res.body) == nil
	}
	if resp.status >= 400 {
		a.checkErrorBody(res)
	}
	return res, nil
}

func (a *apiRun) bearer() string { return "Bearer " + a.token }

// accept scans a 200 body for nulls and validates it against the spec.
func (a *apiRun) accept(res *apiResult, template string) {
	if !res.json {
		return
	}
	nulls := nullPaths(res.body)
	for _, p := range nulls {
		// A null cursor is the pagination check's finding.
		if p == "$.page.nextOffset" || p == "$.page.nextPageKey" {
			continue
		}
		a.nulls = append(a.nulls, fmt.Sprintf("%s: %s", res.label, p))
	}
	spec := a.r.cfg.Spec
	if spec == nil {
		return
	}
	issues, ok := spec.validate(template, res.body)
	if !ok {
		return
	}
	a.validated++
	for _, is := range issues {
		// A null is reported once, as a null, not again as a type error.
		if slices.Contains(nulls, is.path) {
			continue
		}
		a.schema = append(a.schema, fmt.Sprintf("%s: %s: %s", res.label, is.path, is.reason))
	}
}

// fdxError reads an FDX error entity: {"code": 602, "message": "..."}.
func fdxError(res *apiResult) (code string, ok bool, problem string) {
	m, isObj := res.body.(map[string]any)
	if !res.json || !isObj {
		return "", false, "not a JSON object: " + snippet(res.resp.body, 80)
	}
	switch c := m["code"].(type) {
	case float64:
		code = fmt.Sprintf("%.0f", c)
	case string:
		code = c
	default:
		return "", false, fmt.Sprintf("no numeric code: %s", snippet(res.resp.body, 80))
	}
	if msg, _ := m["message"].(string); msg == "" {
		return code, false, fmt.Sprintf("no message: %s", snippet(res.resp.body, 80))
	}
	return code, true, ""
}

func (a *apiRun) checkErrorBody(res *apiResult) {
	a.errorsSeen++
	_, ok, problem := fdxError(res)
	if !ok {
		a.errorBodies = append(a.errorBodies, fmt.Sprintf("%s → %d: %s", res.label, res.resp.status, problem))
		return
	}
	if m, _ := res.body.(map[string]any); m != nil {
		if _, isString := m["code"].(string); isString {
			a.errorNotes = append(a.errorNotes, fmt.Sprintf("%s → %d: code is the string %q; FDX v6 uses a number", res.label, res.resp.status, m["code"]))
		}
	}
}

func errorCode(res *apiResult) string {
	code, _, _ := fdxError(res)
	return code
}

func (a *apiRun) checkBearer(ctx context.Context) {
	probe := func(id, what, auth string) {
		res, err := a.get(ctx, "/accounts", nil, auth, "application/json")
		if err != nil {
			a.r.rec.fail(id, "%s: %v", what, err)
			return
		}
		code := errorCode(res)
		switch s := res.resp.status; {
		case s == http.StatusUnauthorized && (code == "602" || code == ""):
			a.r.rec.pass(id, "%s: %s%s", what, res.resp.summary(), codeNote(code))
		case s == http.StatusUnauthorized:
			a.r.rec.warn(id, "%s: %s with code %s; FDX uses 602 for a missing, invalid or expired token", what, res.resp.summary(), code)
		case s == http.StatusForbidden:
			a.r.rec.warn(id, "%s: %s%s; expected 401 (with 602), which tells the aggregator to refresh", what, res.resp.summary(), codeNote(code))
		case s < 300:
			a.r.rec.fail(id, "%s: %s: the API served data without a valid access token", what, res.resp.summary())
		default:
			a.r.rec.fail(id, "%s: %s%s; expected 401 with code 602", what, res.resp.summary(), codeNote(code))
		}
	}
	probe("api.bearer_none", "no Authorization header", "")
	probe("api.bearer_garbage", "an invalid bearer token", "Bearer doctor-invalid-"+randomValue())
	if id := a.r.main.tokens.idToken; id != "" && id != a.token {
		probe("api.bearer_id_token", "the ID token as bearer token", "Bearer "+id)
	} else {
		a.r.rec.skip("api.bearer_id_token", "no ID token distinct from the access token")
	}
}

func codeNote(code string) string {
	if code == "" {
		return ""
	}
	return " code " + code
}

func (a *apiRun) checkCustomer(ctx context.Context) {
	const id = "api.customers_current"
	res, err := a.get(ctx, "/customers/current", nil, a.bearer(), "application/json")
	if err != nil {
		a.r.rec.fail(id, "%v", err)
		return
	}
	if res.resp.status != http.StatusOK {
		st := Warn
		if res.resp.status >= 500 {
			st = Fail
		}
		a.r.rec.add(id, st, fmt.Sprintf("%s%s (Plaid reads it only without OIDC)", res.resp.summary(), codeNote(errorCode(res))), "")
		return
	}
	a.accept(res, "/customers/current")
	m, _ := res.body.(map[string]any)
	cid, _ := m["customerId"].(string)
	switch n := len([]rune(cid)); {
	case !res.json:
		a.r.rec.fail(id, "%s but the body is not JSON: %s", res.resp.summary(), snippet(res.resp.body, 80))
	case n == 0:
		a.r.rec.fail(id, "%s without customerId", res.resp.summary())
	case n < 7:
		a.r.rec.fail(id, "customerId %q has %d characters: fewer than seven, so the consistency key is rejected", cid, n)
	default:
		a.r.rec.pass(id, "%s, customerId %q", res.resp.summary(), cid)
	}
}

// listPage is one page of a paginated list.
type listPage struct {
	res   *apiResult
	items []any
}

// walkList follows nextOffset (or nextPageKey) to the end of a list and
// records the pagination findings. The first page's failure is returned as
// first (nil pages).
func (a *apiRun) walkList(ctx context.Context, template, path, itemsKey string, query url.Values, limit string) (pages []listPage, first *apiResult, err error) {
	a.walks++
	seenCursor := map[string]bool{}
	var prevIDs string
	cursorParam, cursor := "", ""
	for n := 1; ; n++ {
		q := cloneValues(query)
		q.Set("limit", limit)
		if cursor != "" {
			q.Set(cursorParam, cursor)
		}
		res, err := a.get(ctx, path, q, a.bearer(), "application/json")
		if err != nil {
			return pages, nil, err
		}
		where := fmt.Sprintf("GET %s page %d", template, n)
		if res.resp.status != http.StatusOK || !res.json {
			if n == 1 {
				return nil, res, nil
			}
			a.nextOffset = append(a.nextOffset, fmt.Sprintf("%s: %s %q led to %s: %s", where, cursorParam, cursor, res.resp.summary(), snippet(res.resp.body, 80)))
			return pages, nil, nil
		}
		m, _ := res.body.(map[string]any)
		items, _ := m[itemsKey].([]any)
		if n > 1 && len(items) == 0 {
			// The page before promised more: Plaid keeps calling until it
			// hits its iteration limit. This page is the symptom, so it is
			// not validated against the spec (it would break minItems).
			a.nextOffset = append(a.nextOffset, fmt.Sprintf("GET %s page %d: %s %q was sent on page %d, but the next page is empty: nextOffset on the last page", template, n-1, cursorParam, cursor, n-1))
			return pages, nil, nil
		}
		a.accept(res, template)
		pages = append(pages, listPage{res: res, items: items})

		ids := itemIDs(items)
		if n > 1 && ids != "" && ids == prevIDs {
			a.loops = append(a.loops, fmt.Sprintf("%s repeats page %d's items", where, n-1))
			return pages, nil, nil
		}
		prevIDs = ids

		page, _ := m["page"].(map[string]any)
		next, param, problem := nextCursor(page)
		if problem != "" {
			a.nextOffset = append(a.nextOffset, fmt.Sprintf("%s (last page, %d items): %s", where, len(items), problem))
			return pages, nil, nil
		}
		if next == "" {
			return pages, nil, nil
		}
		if seenCursor[param+"="+next] {
			a.loops = append(a.loops, fmt.Sprintf("%s: %s %q was already followed: the walk would never end", where, param, next))
			return pages, nil, nil
		}
		seenCursor[param+"="+next] = true
		if n >= maxPages {
			a.stopped = append(a.stopped, fmt.Sprintf("GET %s: stopped after %d pages with more to come (limit %s)", template, n, limit))
			return pages, nil, nil
		}
		cursorParam, cursor = param, next
	}
}

// nextCursor reads page.nextOffset (or nextPageKey): the cursor to follow,
// or a problem when the field is present without a usable value.
func nextCursor(page map[string]any) (cursor, param, problem string) {
	for _, f := range []struct{ field, param string }{{"nextOffset", "offset"}, {"nextPageKey", "pageKey"}} {
		v, present := page[f.field]
		if !present {
			continue
		}
		switch x := v.(type) {
		case nil:
			return "", "", fmt.Sprintf("%s is null; omit it on the last page", f.field)
		case string:
			if x == "" || x == "0" {
				return "", "", fmt.Sprintf("%s is %q; omit it on the last page", f.field, x)
			}
			return x, f.param, ""
		case float64:
			if x == 0 {
				return "", "", fmt.Sprintf("%s is 0; omit it on the last page", f.field)
			}
			return fmt.Sprintf("%.0f", x), f.param, ""
		default:
			return "", "", fmt.Sprintf("%s is %v, not a string", f.field, v)
		}
	}
	return "", "", ""
}

// itemIDs identifies a page's items for loop detection.
func itemIDs(items []any) string {
	var ids []string
	for _, it := range items {
		m, _ := it.(map[string]any)
		id := firstNonEmpty(str(m, "accountId"), str(m, "transactionId"), str(m, "statementId"), str(m, "identifier"))
		if id == "" {
			b, _ := json.Marshal(it)
			id = string(b)
		}
		ids = append(ids, id)
	}
	return strings.Join(ids, "\x00")
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

type account struct {
	id, category, typ string
}

func (a *apiRun) checkAccounts(ctx context.Context) ([]account, bool) {
	const id = "api.accounts"
	pages, first, err := a.walkList(ctx, "/accounts", "/accounts", "accounts", nil, accountsPageLimit)
	switch {
	case err != nil:
		a.r.rec.fail(id, "%v", err)
		return nil, false
	case first != nil:
		a.r.rec.fail(id, "%s%s: %s", first.resp.summary(), codeNote(errorCode(first)), snippet(first.resp.body, 120))
		return nil, false
	}
	if m, _ := pages[0].res.body.(map[string]any); m["accounts"] == nil {
		a.r.rec.fail(id, "%s: the body has no \"accounts\" array: %s", pages[0].res.resp.summary(), snippet(pages[0].res.resp.body, 120))
		return nil, false
	}
	var accounts []account
	for _, p := range pages {
		for _, it := range p.items {
			m, _ := it.(map[string]any)
			acc := account{id: str(m, "accountId"), category: str(m, "accountCategory"), typ: str(m, "accountType")}
			if acc.id != "" {
				accounts = append(accounts, acc)
			}
		}
	}
	if len(accounts) == 0 {
		a.r.rec.fail(id, "GET /accounts (limit %s): no accounts for the test user; Plaid needs at least one", accountsPageLimit)
		return nil, false
	}
	var kinds []string
	for _, acc := range accounts {
		kinds = append(kinds, acc.category+"/"+acc.typ)
	}
	a.r.rec.pass(id, "%d accounts over %d pages of limit %s: %s", len(accounts), len(pages), accountsPageLimit, truncate(strings.Join(kinds, ", "), 200))
	return accounts, true
}

func (a *apiRun) checkEachAccount(ctx context.Context, accounts []account) {
	if len(accounts) > maxAccounts {
		accounts = accounts[:maxAccounts]
	}
	now := a.r.now().UTC()
	window := url.Values{
		// Plaid asks for two years on the first connection.
		"startTime": {now.AddDate(-2, 0, 0).Format(time.DateOnly)},
		"endTime":   {now.Format(time.DateOnly)},
	}
	type statementRef struct{ account, statement string }
	var statements []statementRef
	var rangeAccount string
	discoverable := 0
	for _, acc := range accounts {
		if ctx.Err() != nil {
			return
		}
		p := "/accounts/" + url.PathEscape(acc.id)
		detailed := slices.Contains(detailCategories, acc.category)
		if detailed && rangeAccount == "" {
			rangeAccount = acc.id
		}
		if !detailed {
			discoverable++
		}

		if detailed {
			res, err := a.get(ctx, p, nil, a.bearer(), "application/json")
			a.single("api.account_details", acc, res, err, "/accounts/{accountId}", Fail)
		}
		res, err := a.get(ctx, p+"/contact", nil, a.bearer(), "application/json")
		a.single("api.account_contact", acc, res, err, "/accounts/{accountId}/contact", Warn)

		networksMiss := Pass
		if acc.category == "DEPOSIT_ACCOUNT" {
			networksMiss = Warn
		}
		a.list(ctx, "api.payment_networks", acc, "/accounts/{accountId}/payment-networks", p+"/payment-networks", "paymentNetworks", nil, networksMiss)

		txMiss := Pass
		if detailed {
			txMiss = Warn
		}
		a.list(ctx, "api.transactions", acc, "/accounts/{accountId}/transactions", p+"/transactions", "transactions", window, txMiss)

		pages := a.list(ctx, "api.statements", acc, "/accounts/{accountId}/statements", p+"/statements", "statements", window, Pass)
		for _, pg := range pages {
			for _, it := range pg.items {
				m, _ := it.(map[string]any)
				if sid := str(m, "statementId"); sid != "" {
					statements = append(statements, statementRef{acc.id, sid})
				}
			}
		}

		res, err = a.get(ctx, p+"/asset-transfer-networks", nil, a.bearer(), "application/json")
		a.single("api.asset_transfer_networks", acc, res, err, "/accounts/{accountId}/asset-transfer-networks", Pass)
	}
	for _, id := range []string{"api.account_details", "api.account_contact", "api.payment_networks", "api.transactions", "api.statements", "api.asset_transfer_networks"} {
		if a.tallies[id] == nil {
			a.r.rec.skip(id, "none of the accounts is of a category Plaid fetches this for")
			continue
		}
		unit := plural(len(accounts), "account")
		if id == "api.account_details" && discoverable > 0 {
			unit += fmt.Sprintf(" (%d discoverable-only, not fetched, as Plaid does not)", discoverable)
		}
		a.flush(id, unit)
	}

	if len(statements) == 0 {
		a.r.rec.skip("api.statement_pdf", "no statements listed")
	} else {
		a.checkStatementPDF(ctx, statements[0].account, statements[0].statement)
	}
	if rangeAccount == "" {
		a.r.rec.skip("api.date_range", "no deposit, loan, line-of-credit or investment account")
	} else {
		a.checkDateRange(ctx, rangeAccount)
	}
}

// single tallies one per-account call; miss is the status for a 4xx answer.
func (a *apiRun) single(id string, acc account, res *apiResult, err error, template string, miss Status) {
	switch {
	case err != nil:
		a.note(id, Fail, "error", fmt.Sprintf("%s: %v", acc.id, err))
	case res.resp.status == http.StatusOK && !res.json:
		a.note(id, Fail, "200 not JSON", fmt.Sprintf("%s: 200 but the body is not JSON: %s", acc.id, snippet(res.resp.body, 80)))
	case res.resp.status == http.StatusOK:
		a.accept(res, template)
		a.note(id, Pass, "200", "")
	case res.resp.status >= 500:
		a.note(id, Fail, fmt.Sprint(res.resp.status), fmt.Sprintf("%s (%s): %s%s", acc.id, acc.category, res.resp.summary(), codeNote(errorCode(res))))
	default:
		line := ""
		if miss != Pass {
			line = fmt.Sprintf("%s (%s): %s%s", acc.id, acc.category, res.resp.summary(), codeNote(errorCode(res)))
		}
		a.note(id, miss, fmt.Sprintf("%d%s", res.resp.status, codeNote(errorCode(res))), line)
	}
}

// list walks a per-account list and tallies it; miss is the status for a 4xx
// answer.
func (a *apiRun) list(ctx context.Context, id string, acc account, template, path, itemsKey string, query url.Values, miss Status) []listPage {
	pages, first, err := a.walkList(ctx, template, path, itemsKey, query, subListPageLimit)
	if first != nil && first.resp.status == http.StatusBadRequest && query.Has("startTime") {
		// The window may be longer than the provider keeps: try its default.
		if again, firstAgain, errAgain := a.walkList(ctx, template, path, itemsKey, nil, subListPageLimit); firstAgain == nil && errAgain == nil {
			a.note(id, worse(miss, Info), "400 for two years, 200 without dates", fmt.Sprintf("%s: %s%s for startTime %s (Plaid asks for two years on the first connection); 200 without dates",
				acc.id, first.resp.summary(), codeNote(errorCode(first)), query.Get("startTime")))
			return again
		}
	}
	if first != nil {
		a.single(id, acc, first, nil, template, miss)
		return nil
	}
	if err != nil {
		a.single(id, acc, nil, err, template, miss)
		return pages
	}
	a.note(id, Pass, "200", "")
	return pages
}

func (a *apiRun) checkStatementPDF(ctx context.Context, accountID, statementID string) {
	const id = "api.statement_pdf"
	p := "/accounts/" + url.PathEscape(accountID) + "/statements/" + url.PathEscape(statementID)
	res, err := a.get(ctx, p, nil, a.bearer(), "application/pdf")
	switch {
	case err != nil:
		a.r.rec.fail(id, "%v", err)
	case res.resp.status != http.StatusOK:
		a.r.rec.fail(id, "statement %q of account %q: %s%s", statementID, accountID, res.resp.summary(), codeNote(errorCode(res)))
	case res.resp.contentType() != "application/pdf":
		a.r.rec.fail(id, "statement %q: Content-Type %q, not application/pdf", statementID, res.resp.header.Get("Content-Type"))
	case !bytes.HasPrefix(res.resp.body, []byte("%PDF-")):
		a.r.rec.fail(id, "statement %q: the body does not start with %%PDF-: %s", statementID, snippet(res.resp.body, 40))
	default:
		a.r.rec.pass(id, "statement %q: %s, application/pdf, %d bytes", statementID, res.resp.summary(), len(res.resp.body))
	}
}

func (a *apiRun) checkUnknownAccount(ctx context.Context) {
	const id = "api.unknown_account"
	unknown := "doctor-unknown-" + randomValue()[:16]
	res, err := a.get(ctx, "/accounts/"+unknown, nil, a.bearer(), "application/json")
	if err != nil {
		a.r.rec.fail(id, "%v", err)
		return
	}
	code := errorCode(res)
	switch s := res.resp.status; {
	case s == http.StatusNotFound && (code == "701" || code == ""):
		a.r.rec.pass(id, "%s%s", res.resp.summary(), codeNote(code))
	case s == http.StatusNotFound:
		a.r.rec.warn(id, "%s with code %s; FDX uses 701 for an unknown account", res.resp.summary(), code)
	case s < 300:
		a.r.rec.fail(id, "%s: an account that does not exist was served", res.resp.summary())
	case s >= 500:
		a.r.rec.fail(id, "%s%s; expected 404 with code 701", res.resp.summary(), codeNote(code))
	default:
		a.r.rec.warn(id, "%s%s; expected 404 with code 701", res.resp.summary(), codeNote(code))
	}
}

func (a *apiRun) checkDateRange(ctx context.Context, accountID string) {
	const id = "api.date_range"
	now := a.r.now().UTC()
	q := url.Values{"startTime": {now.Format(time.DateOnly)}, "endTime": {now.AddDate(0, 0, -30).Format(time.DateOnly)}}
	res, err := a.get(ctx, "/accounts/"+url.PathEscape(accountID)+"/transactions", q, a.bearer(), "application/json")
	if err != nil {
		a.r.rec.fail(id, "%v", err)
		return
	}
	code := errorCode(res)
	what := fmt.Sprintf("startTime %s after endTime %s", q.Get("startTime"), q.Get("endTime"))
	switch s := res.resp.status; {
	case s == http.StatusBadRequest && (code == "703" || code == ""):
		a.r.rec.pass(id, "%s: %s%s", what, res.resp.summary(), codeNote(code))
	case s == http.StatusBadRequest:
		a.r.rec.warn(id, "%s: %s with code %s; FDX uses 703 for an invalid date range", what, res.resp.summary(), code)
	case s < 300:
		a.r.rec.fail(id, "%s: %s: a reversed date range was accepted", what, res.resp.summary())
	case s >= 500:
		a.r.rec.fail(id, "%s: %s%s; expected 400 with code 703", what, res.resp.summary(), codeNote(code))
	default:
		a.r.rec.warn(id, "%s: %s%s; expected 400 with code 703", what, res.resp.summary(), codeNote(code))
	}
}

// report records the checks gathered over every call.
func (a *apiRun) report(ctx context.Context) {
	rec := a.r.rec
	// After the deadline a clean result covers only what was fetched.
	partial := ""
	if ctx.Err() != nil {
		partial = " (partial: the run's deadline passed)"
	}
	if len(a.nulls) > 0 {
		rec.fail("api.null_field", "%d nulls:\n%s", len(a.nulls), joinLines(a.nulls, 10))
	} else {
		rec.pass("api.null_field", "no null in any response body%s", partial)
	}
	switch {
	case a.r.cfg.Spec == nil:
		rec.skip("api.schema", "no spec (--spec): bodies were not validated")
	case len(a.schema) > 0:
		rec.fail("api.schema", "%d differences from %s (FDX %s) in %d bodies:\n%s", len(a.schema), a.r.cfg.Spec.path, a.r.cfg.Spec.Version(), a.validated, joinLines(a.schema, 12))
	case a.validated == 0:
		rec.skip("api.schema", "no body was validated")
	default:
		rec.pass("api.schema", "%d bodies match %s (FDX %s)%s", a.validated, a.r.cfg.Spec.path, a.r.cfg.Spec.Version(), partial)
	}
	switch {
	case len(a.errorBodies) > 0:
		rec.fail("api.error_body", "%d of %d error responses are not FDX {code, message}:\n%s", len(a.errorBodies), a.errorsSeen, joinLines(a.errorBodies, 8))
	case len(a.errorNotes) > 0:
		rec.warn("api.error_body", "%s", joinLines(a.errorNotes, 8))
	case a.errorsSeen == 0:
		rec.skip("api.error_body", "no error response was observed")
	default:
		rec.pass("api.error_body", "%d error responses, all FDX {code, message}%s", a.errorsSeen, partial)
	}
	if len(a.nextOffset) > 0 {
		rec.fail("api.next_offset_last_page", "Iteration limit exceeded:\n%s", joinLines(a.nextOffset, 8))
	} else {
		rec.pass("api.next_offset_last_page", "%d lists walked to the end; nextOffset omitted on every last page%s", a.walks, partial)
	}
	switch {
	case len(a.loops) > 0:
		rec.fail("api.pagination_loop", "%s", joinLines(append(a.loops, a.stopped...), 8))
	case len(a.stopped) > 0:
		rec.info("api.pagination_loop", "%d lists: every cursor led to new items; not walked to the end:\n%s", a.walks, joinLines(a.stopped, 8))
	default:
		rec.pass("api.pagination_loop", "%d lists: every cursor led to new items%s", a.walks, partial)
	}
}
