package observe

import (
	"slices"
	"sync"
	"time"
)

// Traffic keeps, in memory, per-route request counts, failures and latency
// histograms in time slots (one minute by default, over the last 24
// hours), for the admin overview's charts. It costs one short lock per
// request; slots are allocated as traffic arrives.
type Traffic struct {
	mu         sync.Mutex
	resolution time.Duration
	slots      int
	routes     map[string][]*trafficSlot
}

type trafficSlot struct {
	index    int64 // time / resolution
	requests int64
	failures int64
	latency  [len(trafficBounds) + 1]int64
}

// trafficBounds are the upper bounds of the latency bins, finer than the
// Prometheus buckets so that percentiles read well on a chart.
var trafficBounds = [...]time.Duration{
	250 * time.Microsecond, 500 * time.Microsecond, 750 * time.Microsecond, time.Millisecond,
	1500 * time.Microsecond, 2 * time.Millisecond, 3 * time.Millisecond, 4 * time.Millisecond, 5 * time.Millisecond,
	7500 * time.Microsecond, 10 * time.Millisecond, 15 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond,
	50 * time.Millisecond, 75 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond, 200 * time.Millisecond,
	300 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond, time.Second, 1500 * time.Millisecond,
	2 * time.Second, 3 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
}

// NewTraffic keeps span of history in slots of resolution (defaults: one
// minute over 24 hours).
func NewTraffic(resolution, span time.Duration) *Traffic {
	if resolution <= 0 {
		resolution = time.Minute
	}
	if span < resolution {
		span = 24 * time.Hour
	}
	return &Traffic{resolution: resolution, slots: int(span / resolution), routes: map[string][]*trafficSlot{}}
}

// Resolution is the width of one slot.
func (t *Traffic) Resolution() time.Duration { return t.resolution }

// Sink counts a finished request in its route's slot.
func (t *Traffic) Sink(r *Record) {
	index := r.Time.UnixNano() / int64(t.resolution)
	bin, _ := slices.BinarySearch(trafficBounds[:], r.Duration)
	failed := r.Failed()
	t.mu.Lock()
	defer t.mu.Unlock()
	ring, ok := t.routes[r.Route]
	if !ok {
		ring = make([]*trafficSlot, t.slots)
		t.routes[r.Route] = ring
	}
	pos := int(index % int64(t.slots))
	s := ring[pos]
	if s == nil {
		s = &trafficSlot{}
		ring[pos] = s
	}
	if s.index != index {
		if s.index > index {
			return // older than the history kept
		}
		*s = trafficSlot{index: index}
	}
	s.requests++
	if failed {
		s.failures++
	}
	s.latency[bin]++
}

// TrafficPoint is a route's traffic over one step of a series.
type TrafficPoint struct {
	Start         time.Time
	Requests      int64
	Failures      int64
	P50, P95, P99 time.Duration
}

// ErrorRate is Failures / Requests (0 without requests).
func (p TrafficPoint) ErrorRate() float64 {
	if p.Requests == 0 {
		return 0
	}
	return float64(p.Failures) / float64(p.Requests)
}

// RouteTraffic is one route's series and its totals over the range.
type RouteTraffic struct {
	Route  string
	Points []TrafficPoint
	Total  TrafficPoint
}

// maxPoints bounds the points of one series.
const maxPoints = 1440

// Series returns, for each route with traffic in [since, until), one point
// per step (rounded up to a whole number of slots), routes sorted by name.
func (t *Traffic) Series(since, until time.Time, step time.Duration) []RouteTraffic {
	perStep := max(1, int64((step+t.resolution-1)/t.resolution))
	first := since.UnixNano() / int64(t.resolution)
	last := (until.UnixNano() - 1) / int64(t.resolution)
	if last < first {
		return nil
	}
	// A bounded number of points, however small the step asked for.
	perStep = max(perStep, (last-first+1+maxPoints-1)/maxPoints)
	steps := int((last-first)/perStep) + 1
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []RouteTraffic
	for route, ring := range t.routes {
		hist := make([][len(trafficBounds) + 1]int64, steps)
		var totalHist [len(trafficBounds) + 1]int64
		rt := RouteTraffic{Route: route, Points: make([]TrafficPoint, steps)}
		for i := range rt.Points {
			rt.Points[i].Start = time.Unix(0, (first+int64(i)*perStep)*int64(t.resolution)).UTC()
		}
		rt.Total.Start = rt.Points[0].Start
		for _, s := range ring {
			if s == nil || s.index < first || s.index > last || s.index <= last-int64(t.slots) {
				continue
			}
			i := int((s.index - first) / perStep)
			p := &rt.Points[i]
			p.Requests += s.requests
			p.Failures += s.failures
			rt.Total.Requests += s.requests
			rt.Total.Failures += s.failures
			for b, n := range s.latency {
				hist[i][b] += n
				totalHist[b] += n
			}
		}
		if rt.Total.Requests == 0 {
			continue
		}
		for i := range rt.Points {
			rt.Points[i].P50, rt.Points[i].P95, rt.Points[i].P99 = quantile(hist[i], .5), quantile(hist[i], .95), quantile(hist[i], .99)
		}
		rt.Total.P50, rt.Total.P95, rt.Total.P99 = quantile(totalHist, .5), quantile(totalHist, .95), quantile(totalHist, .99)
		out = append(out, rt)
	}
	slices.SortFunc(out, func(a, b RouteTraffic) int {
		switch {
		case a.Route < b.Route:
			return -1
		case a.Route > b.Route:
			return 1
		}
		return 0
	})
	return out
}

// quantile estimates the q-quantile of a latency histogram by linear
// interpolation inside the bin that holds it, as Prometheus's
// histogram_quantile does; the open last bin answers its lower bound.
func quantile(hist [len(trafficBounds) + 1]int64, q float64) time.Duration {
	var total int64
	for _, n := range hist {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var seen int64
	for b, n := range hist {
		if n == 0 || float64(seen+n) < rank {
			seen += n
			continue
		}
		if b == len(trafficBounds) {
			return trafficBounds[b-1]
		}
		lower := time.Duration(0)
		if b > 0 {
			lower = trafficBounds[b-1]
		}
		frac := (rank - float64(seen)) / float64(n)
		return lower + time.Duration(frac*float64(trafficBounds[b]-lower))
	}
	return trafficBounds[len(trafficBounds)-1]
}
