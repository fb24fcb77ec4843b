package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/store"
)

// slotWidth is the alert bucket width of the traffic tests: a 5-minute
// window's sixtieth.
const slotWidth = 5 * time.Second

// slot is the start of the i-th alert bucket from base.
func slot(i int) time.Time { return base.Add(time.Duration(i) * slotWidth) }

// minute is the start of the i-th chart bucket from base.
func minute(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) }

func ms(t time.Time, n int) time.Time { return t.Add(time.Duration(n) * time.Millisecond) }

func failing(start time.Time, route, client, code string, n int64, first, last time.Time) store.AlertCount {
	return store.AlertCount{Start: start, Width: slotWidth, Route: route, ClientID: client, Error: code, Requests: n,
		Failures: n, FirstFailure: first, LastFailure: last}
}

func passing(start time.Time, route, client string, n int64) store.AlertCount {
	return store.AlertCount{Start: start, Width: slotWidth, Route: route, ClientID: client, Requests: n}
}

func testTrafficSums(t *testing.T, s ObserveBackend) {
	mustNil(t, s.AddTraffic(ctx(t), store.TrafficBatch{}), "add an empty batch")
	mustNil(t, s.AddTraffic(ctx(t), store.TrafficBatch{
		Alerts: []store.AlertCount{
			passing(slot(0), "token", "c1", 10),
			failing(slot(0), "token", "c1", "invalid_grant", 3, ms(slot(0), 100), ms(slot(0), 900)),
			failing(slot(1), "token", "c2", "invalid_grant", 2, ms(slot(1), 0), ms(slot(1), 10)),
			passing(slot(1), "userinfo", "", 5),
			passing(slot(2), "token", "c1", 1),                                    // after the range
			{Start: slot(0), Width: 2 * slotWidth, Route: "token", Requests: 100}, // another width
		},
		Traffic: []store.TrafficCount{
			{Start: minute(0), Width: time.Minute, Route: "token", LatencyLE: time.Millisecond, Requests: 5, Failures: 1},
			{Start: minute(1), Width: time.Minute, Route: "token", LatencyLE: time.Millisecond, Requests: 3},
			{Start: minute(1), Width: time.Minute, Route: "token", Requests: 1, Failures: 1}, // the open last bin
			{Start: minute(2), Width: time.Minute, Route: "token", LatencyLE: 5 * time.Millisecond, Requests: 2},
			{Start: minute(4), Width: time.Minute, Route: "token", LatencyLE: time.Millisecond, Requests: 9}, // after the range
			{Start: minute(3), Width: time.Minute, Route: "jwks", LatencyLE: 250 * time.Microsecond, Requests: 7},
			{Start: minute(0), Width: time.Second, Route: "token", LatencyLE: time.Millisecond, Requests: 50}, // another width
		},
	}), "add traffic")
	// A second batch adds into the same rows; the same key twice in one
	// batch adds up too.
	mustNil(t, s.AddTraffic(ctx(t), store.TrafficBatch{
		Alerts: []store.AlertCount{
			failing(slot(0), "token", "c1", "invalid_grant", 1, ms(slot(0), 50), ms(slot(0), 500)),
			passing(slot(1), "userinfo", "", 5),
			passing(slot(1), "userinfo", "", 1),
		},
		Traffic: []store.TrafficCount{
			{Start: minute(1), Width: time.Minute, Route: "token", LatencyLE: time.Millisecond, Requests: 1},
		},
	}), "add more traffic")

	sums := func(q store.AlertCountQuery) []store.AlertCount {
		t.Helper()
		got, err := s.SumAlertCounts(ctx(t), q)
		mustNil(t, err, fmt.Sprintf("sum alert counts %+v", q))
		return got
	}
	window := store.AlertCountQuery{Width: slotWidth, Since: slot(0), Until: slot(2)}
	sum := func(c store.AlertCount) store.AlertCount { c.Start = slot(0); return c }
	mustEqual(t, sums(window), []store.AlertCount{
		sum(passing(slot(0), "token", "c1", 10)),
		sum(failing(slot(0), "token", "c1", "invalid_grant", 4, ms(slot(0), 50), ms(slot(0), 900))),
		sum(failing(slot(0), "token", "c2", "invalid_grant", 2, ms(slot(1), 0), ms(slot(1), 10))),
		sum(passing(slot(0), "userinfo", "", 11)),
	}, "alert sums over [since, until), by route, client and error")
	narrow := window
	narrow.Route, narrow.ClientID = "token", "c2"
	mustEqual(t, len(sums(narrow)), 1, "sums of one route and client")
	narrow.Route, narrow.ClientID = "", "c1"
	mustEqual(t, len(sums(narrow)), 2, "sums of one client")
	mustEqual(t, len(sums(store.AlertCountQuery{Width: slotWidth, Since: slot(5), Until: slot(9)})), 0, "sums of an empty range")
	other := sums(store.AlertCountQuery{Width: 2 * slotWidth, Since: slot(0), Until: slot(9)})
	mustEqual(t, len(other), 1, "sums of the other width")
	mustEqual(t, other[0].Requests, int64(100), "requests of the other width")

	got, err := s.SumTrafficCounts(ctx(t), store.TrafficQuery{Width: time.Minute, Since: minute(0), Until: minute(4),
		Step: 2 * time.Minute})
	mustNil(t, err, "sum traffic counts")
	step := func(i int, route string, le time.Duration, requests, failures int64) store.TrafficCount {
		return store.TrafficCount{Start: minute(2 * i), Width: 2 * time.Minute, Route: route, LatencyLE: le,
			Requests: requests, Failures: failures}
	}
	mustEqual(t, got, []store.TrafficCount{
		step(1, "jwks", 250*time.Microsecond, 7, 0),
		step(0, "token", 0, 1, 1),
		step(0, "token", time.Millisecond, 9, 1),
		step(1, "token", 5*time.Millisecond, 2, 0),
	}, "traffic sums per route, step and latency bin")

	if _, err := s.SumAlertCounts(ctx(t), store.AlertCountQuery{Width: slotWidth, Since: slot(1), Until: slot(1)}); err == nil {
		t.Fatal("alert sums over an empty range: want an error")
	}
	if _, err := s.SumTrafficCounts(ctx(t), store.TrafficQuery{Width: time.Minute, Since: minute(0), Until: minute(4),
		Step: time.Second}); err == nil {
		t.Fatal("traffic sums in steps shorter than the buckets: want an error")
	}
}

func testTrafficRejectsBadBatches(t *testing.T, s ObserveBackend) {
	good := passing(slot(0), "token", "c1", 10)
	for name, bad := range map[string]store.TrafficBatch{
		"more failures than requests": {Alerts: []store.AlertCount{good, {Start: slot(0), Width: slotWidth, Route: "token",
			Requests: 1, Failures: 2}}},
		"no width":            {Alerts: []store.AlertCount{good, {Start: slot(0), Route: "token", Requests: 1}}},
		"no route":            {Alerts: []store.AlertCount{good}, Traffic: []store.TrafficCount{{Start: minute(0), Width: time.Minute, Requests: 1}}},
		"negative latency":    {Alerts: []store.AlertCount{good}, Traffic: []store.TrafficCount{{Start: minute(0), Width: time.Minute, Route: "token", LatencyLE: -1, Requests: 1}}},
		"issue without a key": {Alerts: []store.AlertCount{good}, Issues: []store.IssueCount{{Requests: 1}}},
	} {
		if err := s.AddTraffic(ctx(t), bad); err == nil {
			t.Errorf("a batch with %s: want an error", name)
		}
	}
	got, err := s.SumAlertCounts(ctx(t), store.AlertCountQuery{Width: slotWidth, Since: slot(0), Until: slot(1)})
	mustNil(t, err, "sum alert counts")
	mustEqual(t, len(got), 0, "counts stored from refused batches")
}

func testTrafficIssueCounts(t *testing.T, s ObserveBackend) {
	open := newIssue("iss_open", "error_rate:route:token")
	resolved := newIssue("iss_resolved", "error_rate:client:c1")
	resolved.ResolvedAt = base.Add(time.Hour)
	_, _, err := s.OpenIssue(ctx(t), open)
	mustNil(t, err, "open issue")
	resolved.ResolvedAt = time.Time{}
	_, _, err = s.OpenIssue(ctx(t), resolved)
	mustNil(t, err, "open second issue")
	_, err = s.UpdateIssue(ctx(t), "iss_resolved", func(i store.Issue) (store.Issue, error) {
		i.ResolvedAt = base.Add(time.Hour)
		return i, nil
	})
	mustNil(t, err, "resolve second issue")

	mustNil(t, s.AddTraffic(ctx(t), store.TrafficBatch{Issues: []store.IssueCount{
		{Key: "error_rate:route:token", Failures: 2, Requests: 5},
		{Key: "error_rate:client:c1", Failures: 1, Requests: 1},
		{Key: "error_rate:route:userinfo", Failures: 1, Requests: 1},
		{Key: "error_rate:route:token", Failures: 1, Requests: 1},
	}}), "add issue counts")
	got, err := s.GetIssue(ctx(t), "iss_open")
	mustNil(t, err, "get open issue")
	mustEqual(t, []int64{got.Failures, got.Requests}, []int64{6 + 3, 50 + 6}, "failures and requests of the open issue")
	got, err = s.GetIssue(ctx(t), "iss_resolved")
	mustNil(t, err, "get resolved issue")
	mustEqual(t, []int64{got.Failures, got.Requests}, []int64{6, 50}, "failures and requests of the resolved issue")
	all, err := s.ListIssues(ctx(t), store.IssueQuery{})
	mustNil(t, err, "list issues")
	mustEqual(t, len(all), 2, "issues after counting into a key without one")
}

func testTrafficOpenCountedIssue(t *testing.T, s ObserveBackend) {
	mustNil(t, s.AddTraffic(ctx(t), store.TrafficBatch{Alerts: []store.AlertCount{
		passing(slot(0), "token", "c1", 10),
		failing(slot(1), "token", "c1", "invalid_grant", 3, slot(1), slot(1)),
		failing(slot(1), "token", "c2", "invalid_client", 2, slot(1), slot(1)),
		failing(slot(1), "userinfo", "c2", "invalid_token", 4, slot(1), slot(1)),
		failing(slot(3), "token", "c1", "invalid_grant", 50, slot(3), slot(3)),             // after the window
		{Start: slot(1), Width: 2 * slotWidth, Route: "token", Requests: 70, Failures: 70}, // another width
	}}), "add traffic")
	window := store.AlertCountQuery{Width: slotWidth, Since: slot(0), Until: slot(3), Route: "token"}

	iss := newIssue("iss_1", "error_rate:route:token")
	iss.Failures, iss.Requests = 999, 999 // replaced by the sums
	got, created, err := s.OpenCountedIssue(ctx(t), iss, window)
	mustNil(t, err, "open counted issue")
	mustEqual(t, created, true, "created")
	want := iss
	want.Failures, want.Requests = 5, 15
	mustEqual(t, got, want, "opened issue")
	stored, err := s.GetIssue(ctx(t), "iss_1")
	mustNil(t, err, "get issue")
	mustEqual(t, stored, want, "stored issue")

	got, created, err = s.OpenCountedIssue(ctx(t), newIssue("iss_2", "error_rate:route:token"), window)
	mustNil(t, err, "open counted issue again")
	mustEqual(t, created, false, "created again")
	mustEqual(t, got.ID, "iss_1", "the open issue of the key")

	byClient := newIssue("iss_c2", "error_rate:client:c2")
	byClient.Route, byClient.ClientID = "", "c2"
	got, created, err = s.OpenCountedIssue(ctx(t), byClient,
		store.AlertCountQuery{Width: slotWidth, Since: slot(0), Until: slot(3), ClientID: "c2"})
	mustNil(t, err, "open a client's counted issue")
	mustEqual(t, []any{created, got.Failures, got.Requests}, []any{true, int64(6), int64(6)}, "the client's issue over every route")

	resolved := newIssue("iss_3", "other")
	resolved.ResolvedAt = base
	if _, _, err := s.OpenCountedIssue(ctx(t), resolved, window); err == nil {
		t.Fatal("opening an issue that is resolved already: want an error")
	}
	if _, _, err := s.OpenCountedIssue(ctx(t), newIssue("iss_4", "bad"), store.AlertCountQuery{}); err == nil {
		t.Fatal("opening an issue over no buckets: want an error")
	}
}

func testTrafficRetention(t *testing.T, s ObserveBackend) {
	var batch store.TrafficBatch
	for i := range 4 {
		batch.Alerts = append(batch.Alerts, passing(slot(i), "token", "", 1))
		batch.Traffic = append(batch.Traffic, store.TrafficCount{Start: minute(i), Width: time.Minute, Route: "token",
			LatencyLE: time.Millisecond, Requests: 1})
	}
	mustNil(t, s.AddTraffic(ctx(t), batch), "add traffic")
	n, err := s.DeleteTraffic(ctx(t), store.TrafficRetention{})
	mustNil(t, err, "retention without limits")
	mustEqual(t, n, int64(0), "deleted without limits")

	n, err = s.DeleteTraffic(ctx(t), store.TrafficRetention{AlertsBefore: slot(2)})
	mustNil(t, err, "alert retention")
	mustEqual(t, n, int64(2), "alert buckets deleted")
	alerts, err := s.SumAlertCounts(ctx(t), store.AlertCountQuery{Width: slotWidth, Since: slot(0), Until: slot(9)})
	mustNil(t, err, "sum alert counts")
	mustEqual(t, alerts[0].Requests, int64(2), "alert requests kept (the bucket at the cut stays)")

	n, err = s.DeleteTraffic(ctx(t), store.TrafficRetention{TrafficBefore: minute(1), AlertsBefore: slot(2)})
	mustNil(t, err, "chart retention")
	mustEqual(t, n, int64(1), "chart buckets deleted")
	traffic, err := s.SumTrafficCounts(ctx(t), store.TrafficQuery{Width: time.Minute, Since: minute(0), Until: minute(9),
		Step: 10 * time.Minute})
	mustNil(t, err, "sum traffic counts")
	mustEqual(t, traffic[0].Requests, int64(3), "chart requests kept")
}

// testTrafficConcurrentAdders: many adders (replicas flushing at once) add
// into the same buckets and the same open issue; nothing is lost.
func testTrafficConcurrentAdders(t *testing.T, s ObserveBackend) {
	_, _, err := s.OpenIssue(ctx(t), newIssue("iss_1", "error_rate:route:token"))
	mustNil(t, err, "open issue")
	const adders, batches = 8, 25
	var wg sync.WaitGroup
	for g := range adders {
		wg.Go(func() {
			for j := range batches {
				first := ms(slot(0), g*100+j)
				b := store.TrafficBatch{
					Alerts: []store.AlertCount{
						passing(slot(0), "token", "c1", 3),
						failing(slot(0), "token", "c1", "invalid_grant", 1, first, first),
						passing(slot(1), "userinfo", "", 2),
					},
					Traffic: []store.TrafficCount{
						{Start: minute(0), Width: time.Minute, Route: "token", LatencyLE: time.Millisecond, Requests: 4, Failures: 1},
						{Start: minute(0), Width: time.Minute, Route: "userinfo", Requests: 2},
					},
					Issues: []store.IssueCount{{Key: "error_rate:route:token", Failures: 1, Requests: 4}},
				}
				// Half the adders send their rows in the opposite order.
				if g%2 == 1 {
					b.Alerts[0], b.Alerts[2] = b.Alerts[2], b.Alerts[0]
					b.Traffic[0], b.Traffic[1] = b.Traffic[1], b.Traffic[0]
				}
				if err := s.AddTraffic(ctx(t), b); err != nil {
					t.Errorf("adder %d, batch %d: %v", g, j, err)
					return
				}
			}
		})
	}
	wg.Wait()
	const n = adders * batches
	sums, err := s.SumAlertCounts(ctx(t), store.AlertCountQuery{Width: slotWidth, Since: slot(0), Until: slot(2)})
	mustNil(t, err, "sum alert counts")
	at := func(c store.AlertCount) store.AlertCount { c.Start = slot(0); return c }
	mustEqual(t, sums, []store.AlertCount{
		at(passing(slot(0), "token", "c1", 3*n)),
		at(failing(slot(0), "token", "c1", "invalid_grant", n, ms(slot(0), 0), ms(slot(0), (adders-1)*100+batches-1))),
		at(passing(slot(0), "userinfo", "", 2*n)),
	}, "alert sums after concurrent adders")
	traffic, err := s.SumTrafficCounts(ctx(t), store.TrafficQuery{Width: time.Minute, Since: minute(0), Until: minute(1),
		Step: time.Minute})
	mustNil(t, err, "sum traffic counts")
	mustEqual(t, traffic, []store.TrafficCount{
		{Start: minute(0), Width: time.Minute, Route: "token", LatencyLE: time.Millisecond, Requests: 4 * n, Failures: n},
		{Start: minute(0), Width: time.Minute, Route: "userinfo", Requests: 2 * n},
	}, "traffic sums after concurrent adders")
	iss, err := s.GetIssue(ctx(t), "iss_1")
	mustNil(t, err, "get issue")
	mustEqual(t, []int64{iss.Failures, iss.Requests}, []int64{6 + n, 50 + 4*n}, "issue counts after concurrent adders")
}

// testTrafficOpenWhileAdding: replicas keep flushing failures of the token
// endpoint while several of them open its issue. Exactly one opens it, and
// it holds every failure once: in the sums it opened with, or added by a
// later flush.
func testTrafficOpenWhileAdding(t *testing.T, s ObserveBackend) {
	const adders, batches = 6, 30
	var (
		wg      sync.WaitGroup
		added   atomic.Int64
		created atomic.Int64
		window  = store.AlertCountQuery{Width: slotWidth, Since: slot(0), Until: slot(60), Route: "token"}
	)
	for g := range adders {
		wg.Go(func() {
			for j := range batches {
				at := slot(j % 60)
				err := s.AddTraffic(ctx(t), store.TrafficBatch{
					Alerts: []store.AlertCount{failing(at, "token", fmt.Sprintf("c%d", g), "invalid_grant", 1, at, at)},
					Issues: []store.IssueCount{{Key: "error_rate:route:token", Failures: 1, Requests: 1}},
				})
				if err != nil {
					t.Errorf("adder %d, batch %d: %v", g, j, err)
					return
				}
				added.Add(1)
			}
		})
	}
	for o := range 3 {
		wg.Go(func() {
			for added.Load() < int64((o+1)*adders*batches/5) {
				time.Sleep(time.Millisecond)
			}
			iss := newIssue(fmt.Sprintf("iss_%d", o), "error_rate:route:token")
			_, c, err := s.OpenCountedIssue(ctx(t), iss, window)
			if err != nil {
				t.Errorf("opener %d: %v", o, err)
				return
			}
			if c {
				created.Add(1)
			}
		})
	}
	wg.Wait()
	mustEqual(t, created.Load(), int64(1), "issues opened")
	open, err := s.ListIssues(ctx(t), store.IssueQuery{Status: "open"})
	mustNil(t, err, "list open issues")
	mustEqual(t, len(open), 1, "open issues")
	const n = adders * batches
	mustEqual(t, []int64{open[0].Failures, open[0].Requests}, []int64{n, n}, "failures and requests the issue counted")
}
