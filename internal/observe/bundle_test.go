package observe_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/store"
)

func TestBundle(t *testing.T) {
	st := openStore(t)
	t0 := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	rec := func(id string, at time.Duration, route string, status int, session, state, sub, code string) store.RequestRecord {
		return store.RequestRecord{RequestID: id, Time: t0.Add(at), Route: route, Method: "POST", Path: "/" + route,
			Status: status, Duration: 2 * time.Millisecond, ClientID: "plaid", Subject: sub, State: state,
			OAuthSessionID: session, Error: code, Failure: observe.IsFailure(status, route, code, false),
			Headers: map[string]string{"Authorization": "Bearer …abcd", "Cookie": "fdxd_session=[masked]", "Referer": "https://x.example/?code=zzz"}}
	}
	records := []store.RequestRecord{
		rec("req_a1", 0, "authorize", 200, "ses_a", "st-a", "", ""),
		rec("req_a2", 20*time.Second, "login", 303, "ses_a", "st-a", "usr_alice_0001", ""),
		rec("req_a3", 30*time.Second, "token", 400, "ses_a", "", "usr_alice_0001", "invalid_grant"),
		rec("req_u1", 10*time.Minute, "userinfo", 200, "", "", "usr_alice_0001", ""),
		rec("req_b1", 5*time.Second, "authorize", 200, "ses_b", "st-b", "", ""),
		rec("req_old", -3*time.Hour, "token", 200, "ses_a", "", "usr_alice_0001", ""),
	}
	if err := st.InsertRequestRecords(t.Context(), records); err != nil {
		t.Fatal(err)
	}
	ids := func(b observe.Bundle) string {
		var out []string
		for _, r := range b.Records {
			out = append(out, r.XRequestID)
		}
		return strings.Join(out, " ")
	}
	now := t0.Add(time.Hour)

	b, err := observe.BuildBundle(t.Context(), st, observe.BundleQuery{RequestID: "req_a3"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if b.Ticket == nil || b.Ticket.XRequestID != "req_a3" || b.Ticket.HTTPStatus != 400 || b.Ticket.Error != "invalid_grant" ||
		b.Ticket.UserID != "usr_alice_0001" || !b.Ticket.Timestamp.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("ticket = %+v", b.Ticket)
	}
	// The session's records and the user's inside an hour either side; not
	// the other attempt, not the record three hours back.
	if got := ids(b); got != "req_a1 req_a2 req_a3 req_u1" {
		t.Fatalf("records = %s; want the session and the user's around it", got)
	}
	body, _ := json.Marshal(b)
	for _, want := range []string{`"format":"fdxd-support-bundle/1"`, `"x_request_id":"req_a3"`, `"state":"st-a"`,
		`"Authorization":"Bearer …abcd"`, `"Cookie":"fdxd_session=[masked]"`, `code=[masked]`, `"masking":`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("bundle lacks %s", want)
		}
	}
	if strings.Contains(string(body), "zzz") {
		t.Error("the bundle re-masks headers: a code in a stored Referer must not leave")
	}

	b, err = observe.BuildBundle(t.Context(), st, observe.BundleQuery{State: "st-a"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if b.Ticket.XRequestID != "req_a2" || ids(b) != "req_a1 req_a2 req_a3 req_u1" {
		t.Fatalf("state bundle: ticket %s, records %s", b.Ticket.XRequestID, ids(b))
	}

	b, err = observe.BuildBundle(t.Context(), st, observe.BundleQuery{Subject: "usr_alice_0001",
		Since: t0.Add(-time.Minute), Until: t0.Add(time.Minute)}, now)
	if err != nil {
		t.Fatal(err)
	}
	if b.Ticket.XRequestID != "req_a3" || ids(b) != "req_a1 req_a2 req_a3" {
		t.Fatalf("user bundle in a window: ticket %s, records %s", b.Ticket.XRequestID, ids(b))
	}

	iss, _, err := st.OpenIssue(t.Context(), store.Issue{ID: "iss_1", Key: "error_rate:route:token", Kind: store.IssueErrorRate,
		Route: "token", FirstSeen: t0.Add(30 * time.Second), LastSeen: t0.Add(30 * time.Second), UpdatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	b, err = observe.BuildBundle(t.Context(), st, observe.BundleQuery{IssueID: iss.ID}, now)
	if err != nil {
		t.Fatal(err)
	}
	if b.Issue == nil || b.Issue.ID != "iss_1" || b.Ticket.XRequestID != "req_a3" {
		t.Fatalf("issue bundle: issue %+v, ticket %+v", b.Issue, b.Ticket)
	}

	for _, q := range []observe.BundleQuery{{}, {RequestID: "x", State: "y"},
		{State: "st-a", Since: t0, Until: t0.Add(-time.Second)}} {
		if _, err := observe.BuildBundle(t.Context(), st, q, now); !errors.Is(err, observe.ErrBadBundleQuery) {
			t.Errorf("bundle %+v: error %v; want ErrBadBundleQuery", q, err)
		}
	}
	for _, q := range []observe.BundleQuery{{RequestID: "req_nope"}, {State: "st-nope"}, {IssueID: "iss_nope"}} {
		if _, err := observe.BuildBundle(t.Context(), st, q, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("bundle %+v: error %v; want ErrNotFound", q, err)
		}
	}
}
