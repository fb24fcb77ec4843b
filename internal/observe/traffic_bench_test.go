package observe_test

import (
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/observe"
)

// BenchmarkTrafficSink is what counting costs a request on its own
// goroutine, on every core at once (the flush, in the background, not
// included).
//
//	go test ./internal/observe -run '^$' -bench TrafficSink -count 5
func BenchmarkTrafficSink(b *testing.B) {
	tr, err := observe.NewTraffic(observe.TrafficConfig{Store: openStore(b), KnownClient: func(id string) bool { return id == "plaid" }})
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	b.RunParallel(func(pb *testing.PB) {
		r := &observe.Record{Time: at, Route: "token", Method: "POST", Status: 200, ClientID: "plaid", Duration: 2 * time.Millisecond}
		for pb.Next() {
			tr.Sink(r)
		}
	})
}
