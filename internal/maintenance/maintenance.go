// Package maintenance is the maintenance-mode switch. It lives in the
// store's settings so every replica sees it; reads are cached for a moment
// to keep the hot paths free of an extra query.
package maintenance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fdxd/fdxd/internal/store"
)

// settingName is the store setting holding "on" or "off".
const settingName = "maintenance"

// CacheFor is how long a replica trusts what it last read: the bound on
// how late a replica notices the switch.
const CacheFor = 2 * time.Second

// RetryAfter is what clients are told while maintenance is on.
const RetryAfter = 5 * time.Minute

// Switch reads and sets maintenance mode.
type Switch struct {
	settings store.SettingStore
	now      func() time.Time

	mu      sync.Mutex // guards the last good read
	on      bool
	readAt  time.Time
	hasRead bool
}

// New returns a Switch over settings.
func New(settings store.SettingStore, now func() time.Time) *Switch {
	if now == nil {
		now = time.Now
	}
	return &Switch{settings: settings, now: now}
}

// On reports whether maintenance mode is on. An error (wrapping
// store.ErrUnavailable when the database is down) means the state is
// unknown; callers answer 503 either way.
//
// Only a successful read is cached. A failed one is not: one lost
// connection must not turn every request of the next CacheFor into a 503,
// and after an outage the replica serves again on the first request that
// finds the database answering.
func (s *Switch) On(ctx context.Context) (bool, error) {
	now := s.now()
	s.mu.Lock()
	if s.hasRead && now.Sub(s.readAt) < CacheFor && now.Sub(s.readAt) >= 0 {
		on := s.on
		s.mu.Unlock()
		return on, nil
	}
	s.mu.Unlock()

	v, err := s.settings.GetSetting(ctx, settingName)
	switch {
	case errors.Is(err, store.ErrNotFound):
		v = "off"
	case err != nil:
		return false, fmt.Errorf("maintenance: read switch: %w", err)
	}
	on := v == "on"
	s.mu.Lock()
	s.on, s.readAt, s.hasRead = on, now, true
	s.mu.Unlock()
	return on, nil
}

// Set turns maintenance mode on or off for every replica.
func (s *Switch) Set(ctx context.Context, on bool) error {
	v := "off"
	if on {
		v = "on"
	}
	if err := s.settings.SetSetting(ctx, settingName, v); err != nil {
		return fmt.Errorf("maintenance: set %s: %w", v, err)
	}
	s.mu.Lock()
	s.on, s.readAt, s.hasRead = on, s.now(), true
	s.mu.Unlock()
	return nil
}
