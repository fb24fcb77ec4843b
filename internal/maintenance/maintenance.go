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

	mu      sync.Mutex
	on      bool
	err     error
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
func (s *Switch) On(ctx context.Context) (bool, error) {
	now := s.now()
	s.mu.Lock()
	if s.hasRead && now.Sub(s.readAt) < CacheFor && now.Sub(s.readAt) >= 0 {
		on, err := s.on, s.err
		s.mu.Unlock()
		return on, err
	}
	s.mu.Unlock()

	v, err := s.settings.GetSetting(ctx, settingName)
	on := false
	switch {
	case errors.Is(err, store.ErrNotFound):
		err = nil
	case err != nil:
		err = fmt.Errorf("maintenance: read switch: %w", err)
	default:
		on = v == "on"
	}
	s.mu.Lock()
	s.on, s.err, s.readAt, s.hasRead = on, err, now, true
	s.mu.Unlock()
	return on, err
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
	s.on, s.err, s.readAt, s.hasRead = on, nil, s.now(), true
	s.mu.Unlock()
	return nil
}
