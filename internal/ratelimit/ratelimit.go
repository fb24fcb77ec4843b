// Package ratelimit keeps token-bucket limiters (golang.org/x/time/rate)
// per key — a client id, a username, an address — in a bounded map, on an
// injected clock.
//
// Limits are per process: with several replicas, a client may reach the
// limit once per replica. That is documented in the README.
package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed holds one limiter per key.
type Keyed struct {
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	limit    rate.Limit
	burst    int
	maxKeys  int
	now      func() time.Time
}

// New returns limiters allowing r events per second with bursts of burst,
// remembering at most maxKeys keys (when full, keys whose bucket has refilled
// are forgotten first; a full map of busy keys is reset rather than grown).
func New(r rate.Limit, burst, maxKeys int, now func() time.Time) *Keyed {
	if now == nil {
		now = time.Now
	}
	return &Keyed{limiters: make(map[string]*rate.Limiter), limit: r, burst: burst, maxKeys: maxKeys, now: now}
}

func (k *Keyed) get(key string, limit rate.Limit, burst int) *rate.Limiter {
	l, ok := k.limiters[key]
	if !ok {
		if len(k.limiters) >= k.maxKeys {
			k.evict()
		}
		l = rate.NewLimiter(limit, burst)
		k.limiters[key] = l
	} else if l.Limit() != limit || l.Burst() != burst {
		l.SetLimitAt(k.now(), limit)
		l.SetBurstAt(k.now(), burst)
	}
	return l
}

func (k *Keyed) evict() {
	now := k.now()
	for key, l := range k.limiters {
		if l.TokensAt(now) >= float64(l.Burst()) {
			delete(k.limiters, key)
		}
	}
	if len(k.limiters) >= k.maxKeys {
		clear(k.limiters)
	}
}

// Allow takes one event for key under the default limit. When refused it
// returns how long until one would be allowed.
func (k *Keyed) Allow(key string) (bool, time.Duration) {
	return k.AllowWith(key, k.limit, k.burst)
}

// AllowWith is Allow with a limit of the key's own (a client's setting).
// An infinite limit always allows.
func (k *Keyed) AllowWith(key string, limit rate.Limit, burst int) (bool, time.Duration) {
	if limit == rate.Inf {
		return true, 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	l := k.get(key, limit, burst)
	now := k.now()
	r := l.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Duration(math.MaxInt64)
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Exhausted reports, without taking anything, whether key has no event
// left, and when it will.
func (k *Keyed) Exhausted(key string) (bool, time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l, ok := k.limiters[key]
	if !ok {
		return false, 0
	}
	now := k.now()
	tokens := l.TokensAt(now)
	if tokens >= 1 {
		return false, 0
	}
	wait := time.Duration((1 - tokens) / float64(l.Limit()) * float64(time.Second))
	return true, wait
}

// Take consumes one event for key, even when none is left (recording a
// failure that already happened).
func (k *Keyed) Take(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.get(key, k.limit, k.burst).ReserveN(k.now(), 1)
}

// RetryAfter rounds d up to whole seconds, at least one: a Retry-After value.
func RetryAfter(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	return max(s, 1)
}
