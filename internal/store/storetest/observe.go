package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/store"
)

// ObserveBackend is what the observability tests need of a store.
type ObserveBackend interface {
	store.ObserveStore
}

// RunObserve runs the observability conformance tests (request records,
// issues, shared traffic counts, admins, deliveries) against stores made by
// newStore. The traffic tests that race AddTraffic and OpenCountedIssue
// from many goroutines show, on a backend that spreads those calls over
// several stores on one database, that replicas lose no count.
func RunObserve(t *testing.T, newStore func(t *testing.T) ObserveBackend) {
	tests := []struct {
		name string
		run  func(t *testing.T, s ObserveBackend)
	}{
		{"RecordsRoundTrip", testRecordsRoundTrip},
		{"RecordsQuery", testRecordsQuery},
		{"RecordsStats", testRecordsStats},
		{"RecordsRetention", testRecordsRetention},
		{"IssuesOpenOncePerKey", testIssuesOpenOncePerKey},
		{"IssuesConcurrentOpen", testIssuesConcurrentOpen},
		{"IssuesListAndUpdate", testIssuesListAndUpdate},
		{"TrafficSums", testTrafficSums},
		{"TrafficRejectsBadBatches", testTrafficRejectsBadBatches},
		{"TrafficIssueCounts", testTrafficIssueCounts},
		{"TrafficOpenCountedIssue", testTrafficOpenCountedIssue},
		{"TrafficRetention", testTrafficRetention},
		{"TrafficConcurrentAdders", testTrafficConcurrentAdders},
		{"TrafficOpenWhileAdding", testTrafficOpenWhileAdding},
		{"Admins", testAdmins},
		{"Deliveries", testDeliveries},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newStore(t))
		})
	}
}

func record(id string, at time.Time) store.RequestRecord {
	return store.RequestRecord{
		RequestID: id, Time: at, Route: "token", Method: "POST", Path: "/token", Status: 200,
		Duration: 1500 * time.Microsecond, RemoteAddr: "127.0.0.1", UserAgent: "Plaid/1.0",
		ClientID: "c1", Subject: "sub_u1_0001", OAuthSessionID: "ses_1",
		Headers: map[string]string{"Authorization": "Basic [masked]", "X-Request-ID": id},
	}
}

func testRecordsRoundTrip(t *testing.T, s ObserveBackend) {
	r := record("req_one", base)
	r.State, r.Error, r.ErrorDescription = "st-1", "invalid_grant", "the authorization code is invalid or expired"
	r.Status, r.Failure = 400, true
	r.UserDecision = true
	bare := record("req_bare", base.Add(time.Second))
	bare.Headers = nil
	mustNil(t, s.InsertRequestRecords(ctx(t), []store.RequestRecord{r, bare}), "insert records")
	mustNil(t, s.InsertRequestRecords(ctx(t), nil), "insert no records")

	got, err := s.GetRequestRecord(ctx(t), "req_one")
	mustNil(t, err, "get record")
	if got.Seq <= 0 {
		t.Fatalf("Seq = %d; want assigned by the store", got.Seq)
	}
	r.Seq = got.Seq
	mustEqual(t, got, r, "record round trip")
	got, err = s.GetRequestRecord(ctx(t), "req_bare")
	mustNil(t, err, "get bare record")
	mustEqual(t, len(got.Headers), 0, "headers of a record without any")

	_, err = s.GetRequestRecord(ctx(t), "req_missing")
	mustIs(t, err, store.ErrNotFound, "get missing record")

	// A reused request id: the newest record wins.
	again := record("req_one", base.Add(time.Minute))
	again.Status = 201
	mustNil(t, s.InsertRequestRecords(ctx(t), []store.RequestRecord{again}), "insert reused id")
	got, err = s.GetRequestRecord(ctx(t), "req_one")
	mustNil(t, err, "get reused id")
	mustEqual(t, got.Status, 201, "status of the newest record with a reused id")
}

func testRecordsQuery(t *testing.T, s ObserveBackend) {
	var batch []store.RequestRecord
	for i := range 30 {
		r := record(fmt.Sprintf("req_%02d", i), base.Add(time.Duration(i)*time.Second))
		switch {
		case i%10 == 0:
			r.Route, r.Path, r.Status, r.Error, r.Failure = "authorize", "/authorize", 302, "invalid_scope", true
			r.State = fmt.Sprintf("st-%d", i)
		case i%7 == 0:
			r.Status, r.Error, r.Failure = 503, "temporarily_unavailable", true
		}
		if i >= 20 {
			r.ClientID, r.Subject, r.OAuthSessionID = "c2", "sub_u2_0002", "ses_2"
		}
		batch = append(batch, r)
	}
	mustNil(t, s.InsertRequestRecords(ctx(t), batch), "insert records")

	ids := func(rs []store.RequestRecord) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.RequestID
		}
		return out
	}
	list := func(q store.RecordQuery) []string {
		t.Helper()
		rs, err := s.ListRequestRecords(ctx(t), q)
		mustNil(t, err, fmt.Sprintf("list %+v", q))
		return ids(rs)
	}
	mustEqual(t, list(store.RecordQuery{Limit: 3}), []string{"req_29", "req_28", "req_27"}, "newest first")
	mustEqual(t, list(store.RecordQuery{RequestID: "req_05"}), []string{"req_05"}, "by request id")
	mustEqual(t, list(store.RecordQuery{State: "st-10"}), []string{"req_10"}, "by state")
	mustEqual(t, list(store.RecordQuery{Route: "authorize"}), []string{"req_20", "req_10", "req_00"}, "by route")
	mustEqual(t, list(store.RecordQuery{StatusMin: 500, StatusMax: 599}), []string{"req_28", "req_21", "req_14", "req_07"}, "by status class")
	mustEqual(t, list(store.RecordQuery{FailuresOnly: true, ClientID: "c2"}), []string{"req_28", "req_21", "req_20"}, "failures of a client")
	mustEqual(t, list(store.RecordQuery{Subject: "sub_u2_0002", Limit: 2}), []string{"req_29", "req_28"}, "by user")
	mustEqual(t, list(store.RecordQuery{OAuthSessionID: "ses_2", Since: base.Add(27 * time.Second)}),
		[]string{"req_29", "req_28", "req_27"}, "by session since")
	mustEqual(t, list(store.RecordQuery{Since: base.Add(3 * time.Second), Until: base.Add(5 * time.Second)}),
		[]string{"req_04", "req_03"}, "time range is [since, until)")
	mustEqual(t, len(list(store.RecordQuery{Limit: 1000})), 30, "every record")

	// Keyset paging: each page starts below the last Seq of the one before.
	var (
		paged []string
		q     = store.RecordQuery{Limit: 8}
	)
	for {
		rs, err := s.ListRequestRecords(ctx(t), q)
		mustNil(t, err, "page")
		if len(rs) == 0 {
			break
		}
		paged = append(paged, ids(rs)...)
		q.BeforeSeq = rs[len(rs)-1].Seq
	}
	mustEqual(t, len(paged), 30, "records over all pages")
	mustEqual(t, paged[8], "req_21", "first record of the second page")
}

func testRecordsStats(t *testing.T, s ObserveBackend) {
	var batch []store.RequestRecord
	// 10 s of traffic: 2 requests a second; seconds 4 and 5 fail on token.
	for i := range 20 {
		at := base.Add(time.Duration(i) * 500 * time.Millisecond)
		r := record(fmt.Sprintf("req_%02d", i), at)
		if sec := i / 2; sec == 4 || sec == 5 {
			r.Status, r.Failure = 500, true
		}
		if i == 19 {
			r.Route = "userinfo"
		}
		batch = append(batch, r)
	}
	mustNil(t, s.InsertRequestRecords(ctx(t), batch), "insert records")
	got, err := s.RequestRecordStats(ctx(t), store.RecordStatsQuery{Route: "token", Since: base, Until: base.Add(10 * time.Second),
		Bucket: 2 * time.Second})
	mustNil(t, err, "stats")
	want := []store.RecordBucket{
		{Start: base, Requests: 4},
		{Start: base.Add(2 * time.Second), Requests: 4},
		{Start: base.Add(4 * time.Second), Requests: 4, Failures: 4},
		{Start: base.Add(6 * time.Second), Requests: 4},
		{Start: base.Add(8 * time.Second), Requests: 3},
	}
	mustEqual(t, got, want, "per-bucket counts")

	got, err = s.RequestRecordStats(ctx(t), store.RecordStatsQuery{ClientID: "c1", Since: base.Add(9 * time.Second),
		Until: base.Add(time.Hour), Bucket: time.Minute})
	mustNil(t, err, "stats of a client")
	mustEqual(t, got, []store.RecordBucket{{Start: base.Add(9 * time.Second), Requests: 2}}, "client stats")

	_, err = s.RequestRecordStats(ctx(t), store.RecordStatsQuery{Since: base, Until: base, Bucket: time.Second})
	if err == nil {
		t.Fatal("stats over an empty range: want an error")
	}
}

func testRecordsRetention(t *testing.T, s ObserveBackend) {
	var batch []store.RequestRecord
	for i := range 50 {
		batch = append(batch, record(fmt.Sprintf("req_%02d", i), base.Add(time.Duration(i)*time.Minute)))
	}
	mustNil(t, s.InsertRequestRecords(ctx(t), batch), "insert records")
	count := func() int {
		rs, err := s.ListRequestRecords(ctx(t), store.RecordQuery{Limit: 1000})
		mustNil(t, err, "list")
		return len(rs)
	}

	n, err := s.DeleteRequestRecords(ctx(t), store.RecordRetention{})
	mustNil(t, err, "retention without limits")
	mustEqual(t, n, int64(0), "deleted without limits")

	// By age: everything before minute 10, at most 4 rows a call.
	n, err = s.DeleteRequestRecords(ctx(t), store.RecordRetention{Before: base.Add(10 * time.Minute), Limit: 4})
	mustNil(t, err, "age retention")
	mustEqual(t, n, int64(4), "deleted by one limited call")
	for n > 0 {
		n, err = s.DeleteRequestRecords(ctx(t), store.RecordRetention{Before: base.Add(10 * time.Minute), Limit: 4})
		mustNil(t, err, "age retention")
	}
	mustEqual(t, count(), 40, "records after age retention")
	_, err = s.GetRequestRecord(ctx(t), "req_10")
	mustNil(t, err, "the record at the cut is kept")

	// By count: keep the newest 15.
	n, err = s.DeleteRequestRecords(ctx(t), store.RecordRetention{Keep: 15})
	mustNil(t, err, "count retention")
	mustEqual(t, n, int64(25), "deleted by count")
	mustEqual(t, count(), 15, "records after count retention")
	_, err = s.GetRequestRecord(ctx(t), "req_35")
	mustNil(t, err, "oldest kept record")
	_, err = s.GetRequestRecord(ctx(t), "req_34")
	mustIs(t, err, store.ErrNotFound, "newest deleted record")

	n, err = s.DeleteRequestRecords(ctx(t), store.RecordRetention{Keep: 15, Before: base})
	mustNil(t, err, "retention with nothing to do")
	mustEqual(t, n, int64(0), "deleted when within limits")
}

func newIssue(id, key string) store.Issue {
	return store.Issue{
		ID: id, Key: key, Kind: store.IssueErrorRate, Route: "token", Error: "invalid_grant",
		Summary: "token: 12% of requests failed", FirstSeen: base, LastSeen: base.Add(time.Minute),
		Failures: 6, Requests: 50, Rate: 0.12, PeakRate: 0.12, UpdatedAt: base.Add(time.Minute),
	}
}

func testIssuesOpenOncePerKey(t *testing.T, s ObserveBackend) {
	first := newIssue("iss_1", "error_rate:route:token")
	got, created, err := s.OpenIssue(ctx(t), first)
	mustNil(t, err, "open issue")
	mustEqual(t, created, true, "created")
	mustEqual(t, got, first, "opened issue")

	got, created, err = s.OpenIssue(ctx(t), newIssue("iss_2", "error_rate:route:token"))
	mustNil(t, err, "open issue again")
	mustEqual(t, created, false, "created again")
	mustEqual(t, got.ID, "iss_1", "the open issue of the key")

	resolvedAt := base.Add(time.Hour)
	got, err = s.UpdateIssue(ctx(t), "iss_1", func(i store.Issue) (store.Issue, error) {
		i.ResolvedAt, i.UpdatedAt = resolvedAt, resolvedAt
		return i, nil
	})
	mustNil(t, err, "resolve")
	mustEqual(t, got.ResolvedAt, resolvedAt, "resolved at")

	// Once resolved, the key may open a new issue.
	got, created, err = s.OpenIssue(ctx(t), newIssue("iss_3", "error_rate:route:token"))
	mustNil(t, err, "open after resolution")
	mustEqual(t, created, true, "created after resolution")
	mustEqual(t, got.ID, "iss_3", "new issue")

	_, err = s.GetIssue(ctx(t), "iss_missing")
	mustIs(t, err, store.ErrNotFound, "get missing issue")
	_, err = s.UpdateIssue(ctx(t), "iss_missing", func(i store.Issue) (store.Issue, error) { return i, nil })
	mustIs(t, err, store.ErrNotFound, "update missing issue")

	boom := errors.New("boom")
	_, err = s.UpdateIssue(ctx(t), "iss_3", func(i store.Issue) (store.Issue, error) {
		i.Failures = 999
		return i, boom
	})
	mustIs(t, err, boom, "aborted update")
	got, err = s.GetIssue(ctx(t), "iss_3")
	mustNil(t, err, "get issue")
	mustEqual(t, got.Failures, int64(6), "failures after an aborted update")

	resolved := newIssue("iss_4", "other")
	resolved.ResolvedAt = base
	if _, _, err := s.OpenIssue(ctx(t), resolved); err == nil {
		t.Fatal("opening an issue that is resolved already: want an error")
	}
}

func testIssuesConcurrentOpen(t *testing.T, s ObserveBackend) {
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		ids     = map[string]bool{}
	)
	for i := range n {
		wg.Go(func() {
			got, c, err := s.OpenIssue(ctx(t), newIssue(fmt.Sprintf("iss_c%d", i), "error_rate:client:c1"))
			if err != nil {
				t.Errorf("open issue %d: %v", i, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[got.ID] = true
			if c {
				created++
			}
		})
	}
	wg.Wait()
	mustEqual(t, created, 1, "issues created by concurrent opens")
	mustEqual(t, len(ids), 1, "distinct issues returned")
}

func testIssuesListAndUpdate(t *testing.T, s ObserveBackend) {
	a := newIssue("iss_a", "error_rate:route:token")
	b := newIssue("iss_b", "error_rate:client:c1")
	b.Route, b.ClientID, b.LastSeen = "", "c1", base.Add(2*time.Minute)
	c := newIssue("iss_c", "key_rotation")
	c.Kind, c.Route, c.LastSeen = store.IssueKeyRotation, "", base.Add(3*time.Minute)
	for _, i := range []store.Issue{a, b, c} {
		_, _, err := s.OpenIssue(ctx(t), i)
		mustNil(t, err, "open "+i.ID)
	}
	healthy := base.Add(5 * time.Minute)
	_, err := s.UpdateIssue(ctx(t), "iss_b", func(i store.Issue) (store.Issue, error) {
		i.HealthySince = healthy
		return i, nil
	})
	mustNil(t, err, "start b's quiet period")
	got, err := s.GetIssue(ctx(t), "iss_b")
	mustNil(t, err, "get b")
	mustEqual(t, got.HealthySince, healthy, "healthy since")

	_, err = s.UpdateIssue(ctx(t), "iss_a", func(i store.Issue) (store.Issue, error) {
		i.ResolvedAt = base.Add(10 * time.Minute)
		i.Failures, i.Requests, i.Rate, i.PeakRate = 9, 400, 0.01, 0.2
		return i, nil
	})
	mustNil(t, err, "resolve a")
	got, err = s.GetIssue(ctx(t), "iss_a")
	mustNil(t, err, "get a")
	want := a
	want.ResolvedAt = base.Add(10 * time.Minute)
	want.Failures, want.Requests, want.Rate, want.PeakRate = 9, 400, 0.01, 0.2
	mustEqual(t, got, want, "updated issue")

	ids := func(q store.IssueQuery) []string {
		t.Helper()
		is, err := s.ListIssues(ctx(t), q)
		mustNil(t, err, fmt.Sprintf("list issues %+v", q))
		out := make([]string, len(is))
		for i, x := range is {
			out[i] = x.ID
		}
		return out
	}
	mustEqual(t, ids(store.IssueQuery{}), []string{"iss_c", "iss_b", "iss_a"}, "all issues, most recently seen first")
	mustEqual(t, ids(store.IssueQuery{Status: "open"}), []string{"iss_c", "iss_b"}, "open issues")
	mustEqual(t, ids(store.IssueQuery{Status: "resolved"}), []string{"iss_a"}, "resolved issues")
	mustEqual(t, ids(store.IssueQuery{Kind: store.IssueKeyRotation}), []string{"iss_c"}, "by kind")
	mustEqual(t, ids(store.IssueQuery{ClientID: "c1"}), []string{"iss_b"}, "by client")
	mustEqual(t, ids(store.IssueQuery{Route: "token", Limit: 1}), []string{"iss_a"}, "by route")
	if _, err := s.ListIssues(ctx(t), store.IssueQuery{Status: "closed"}); err == nil {
		t.Fatal("an unknown status: want an error")
	}
}

func testAdmins(t *testing.T, s ObserveBackend) {
	a := store.Admin{Username: "ops", PasswordHash: "$argon2id$stand-in", CreatedAt: base, UpdatedAt: base}
	mustNil(t, s.CreateAdmin(ctx(t), a), "create admin")
	mustIs(t, s.CreateAdmin(ctx(t), a), store.ErrAlreadyExists, "create duplicate admin")
	got, err := s.GetAdmin(ctx(t), "ops")
	mustNil(t, err, "get admin")
	mustEqual(t, got, a, "admin")
	_, err = s.GetAdmin(ctx(t), "nobody")
	mustIs(t, err, store.ErrNotFound, "get missing admin")

	later := base.Add(time.Hour)
	mustNil(t, s.UpdateAdmin(ctx(t), "ops", func(a store.Admin) (store.Admin, error) {
		a.PasswordHash, a.UpdatedAt = "$argon2id$new", later
		return a, nil
	}), "update admin")
	got, err = s.GetAdmin(ctx(t), "ops")
	mustNil(t, err, "get updated admin")
	mustEqual(t, got.PasswordHash, "$argon2id$new", "new hash")
	mustEqual(t, got.UpdatedAt, later, "updated at")
	mustIs(t, s.UpdateAdmin(ctx(t), "nobody", func(a store.Admin) (store.Admin, error) { return a, nil }),
		store.ErrNotFound, "update missing admin")

	b := store.Admin{Username: "audit", PasswordHash: "$argon2id$b", CreatedAt: base, UpdatedAt: base}
	mustNil(t, s.CreateAdmin(ctx(t), b), "create second admin")
	all, err := s.ListAdmins(ctx(t))
	mustNil(t, err, "list admins")
	mustEqual(t, len(all), 2, "admin count")
	mustEqual(t, all[0].Username, "audit", "admins ordered by name")

	live := store.AdminSession{IDHash: "h-live", Username: "ops", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	dead := store.AdminSession{IDHash: "h-dead", Username: "ops", CreatedAt: base, ExpiresAt: base.Add(time.Minute)}
	other := store.AdminSession{IDHash: "h-audit", Username: "audit", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	for _, sess := range []store.AdminSession{live, dead, other} {
		mustNil(t, s.CreateAdminSession(ctx(t), sess), "create session "+sess.IDHash)
	}
	gotS, err := s.GetAdminSession(ctx(t), "h-live")
	mustNil(t, err, "get session")
	mustEqual(t, gotS, live, "session")
	n, err := s.DeleteExpiredAdminSessions(ctx(t), base.Add(30*time.Minute))
	mustNil(t, err, "delete expired sessions")
	mustEqual(t, n, int64(1), "expired sessions deleted")
	_, err = s.GetAdminSession(ctx(t), "h-dead")
	mustIs(t, err, store.ErrNotFound, "expired session")
	mustNil(t, s.DeleteAdminSession(ctx(t), "h-live"), "sign out")
	_, err = s.GetAdminSession(ctx(t), "h-live")
	mustIs(t, err, store.ErrNotFound, "signed-out session")

	mustNil(t, s.DeleteAdmin(ctx(t), "audit"), "delete admin")
	_, err = s.GetAdminSession(ctx(t), "h-audit")
	mustIs(t, err, store.ErrNotFound, "session of a deleted admin")
	mustIs(t, s.DeleteAdmin(ctx(t), "audit"), store.ErrNotFound, "delete deleted admin")
	if err := s.CreateAdminSession(ctx(t), store.AdminSession{IDHash: "h-x", Username: "audit", CreatedAt: base,
		ExpiresAt: base.Add(time.Hour)}); err == nil {
		t.Fatal("a session for an unknown admin: want an error")
	}
}

func testDeliveries(t *testing.T, s ObserveBackend) {
	_, _, err := s.OpenIssue(ctx(t), newIssue("iss_1", "error_rate:route:token"))
	mustNil(t, err, "open issue")
	d := store.Delivery{ID: "dlv_1", IssueID: "iss_1", Event: "issue.opened", Channel: "webhook",
		Target: "https://hooks.example.test/fdxd", Status: store.DeliveryPending, Payload: []byte(`{"event":"issue.opened"}`),
		CreatedAt: base, UpdatedAt: base}
	mustNil(t, s.CreateDelivery(ctx(t), d), "create delivery")
	mustIs(t, s.CreateDelivery(ctx(t), d), store.ErrAlreadyExists, "create duplicate delivery")
	e := d
	e.ID, e.Channel, e.Target, e.CreatedAt, e.UpdatedAt = "dlv_2", "email", "ops@bank.example", base.Add(time.Second), base.Add(time.Second)
	mustNil(t, s.CreateDelivery(ctx(t), e), "create second delivery")

	delivered := base.Add(5 * time.Second)
	mustNil(t, s.UpdateDelivery(ctx(t), "dlv_1", func(d store.Delivery) (store.Delivery, error) {
		d.Status, d.Attempts, d.LastError, d.UpdatedAt, d.DeliveredAt = store.DeliveryDelivered, 2, "503 Service Unavailable", delivered, delivered
		return d, nil
	}), "update delivery")
	mustIs(t, s.UpdateDelivery(ctx(t), "dlv_x", func(d store.Delivery) (store.Delivery, error) { return d, nil }),
		store.ErrNotFound, "update missing delivery")

	all, err := s.ListDeliveries(ctx(t), store.DeliveryQuery{IssueID: "iss_1"})
	mustNil(t, err, "list deliveries")
	mustEqual(t, len(all), 2, "deliveries of the issue")
	mustEqual(t, all[0].ID, "dlv_2", "newest delivery first")
	want := d
	want.Status, want.Attempts, want.LastError, want.UpdatedAt, want.DeliveredAt = store.DeliveryDelivered, 2, "503 Service Unavailable", delivered, delivered
	mustEqual(t, all[1], want, "updated delivery")

	pending, err := s.ListDeliveries(ctx(t), store.DeliveryQuery{Status: store.DeliveryPending})
	mustNil(t, err, "list pending")
	mustEqual(t, len(pending), 1, "pending deliveries")
	mustEqual(t, pending[0].ID, "dlv_2", "pending delivery")
}
