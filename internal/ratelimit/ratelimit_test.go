package ratelimit

import (
	"testing"
	"time"

	"golang.org/x/time/rate"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestAllowRefusesAboveTheRateAndRefills(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	k := New(2, 2, 100, clk.now)
	for i := range 2 {
		if ok, _ := k.Allow("plaid"); !ok {
			t.Fatalf("event %d of the burst refused", i)
		}
	}
	ok, wait := k.Allow("plaid")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("third event = %v, wait %v; want refused for 500ms", ok, wait)
	}
	if ok, _ := k.Allow("other-client"); !ok {
		t.Fatal("another key was limited")
	}
	clk.t = clk.t.Add(500 * time.Millisecond)
	if ok, _ := k.Allow("plaid"); !ok {
		t.Fatal("not refilled after 500ms")
	}
	if RetryAfter(wait) != 1 || RetryAfter(2500*time.Millisecond) != 3 {
		t.Fatal("RetryAfter does not round up to whole seconds")
	}
}

func TestAllowWithOwnLimit(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	k := New(1, 1, 100, clk.now)
	for range 10 {
		if ok, _ := k.AllowWith("unlimited", rate.Inf, 0); !ok {
			t.Fatal("infinite limit refused")
		}
	}
	for range 5 {
		if ok, _ := k.AllowWith("big", 5, 5); !ok {
			t.Fatal("own burst of 5 refused early")
		}
	}
	if ok, _ := k.AllowWith("big", 5, 5); ok {
		t.Fatal("own burst exceeded")
	}
}

func TestFailureCounting(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	k := New(rate.Every(time.Minute), 3, 100, clk.now)
	for range 3 {
		if ex, _ := k.Exhausted("demo"); ex {
			t.Fatal("exhausted before three failures")
		}
		k.Take("demo")
	}
	ex, wait := k.Exhausted("demo")
	if !ex || wait != time.Minute {
		t.Fatalf("after three failures: exhausted %v, wait %v; want true, 1m", ex, wait)
	}
	clk.t = clk.t.Add(time.Minute)
	if ex, _ := k.Exhausted("demo"); ex {
		t.Fatal("still exhausted after a refill")
	}
}

func TestBoundedKeys(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	k := New(1, 1, 10, clk.now)
	for i := range 1000 {
		k.Take(string(rune('a'+i%26)) + string(rune(i)))
	}
	if n := len(k.limiters); n > 10 {
		t.Fatalf("%d keys kept; want at most 10", n)
	}
}
