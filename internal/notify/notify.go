// Package notify tells people about issues: a signed JSON webhook and an
// email over SMTP (STARTTLS) when an issue opens and when it resolves.
//
// Notifications never slow a request: the alert engine hands events to
// Notify, which only queues. Each delivery is stored (store.Delivery) with
// its status, attempts and last error, retried with backoff, and picked up
// again after a restart while pending.
package notify

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
)

// Channels.
const (
	ChannelWebhook = "webhook"
	ChannelEmail   = "email"
)

// DefaultBackoff is the wait before each retry: six attempts over about
// 43 minutes.
var DefaultBackoff = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute}

// Config configures a Notifier. With neither Webhook nor Email it does
// nothing.
type Config struct {
	Store   store.DeliveryStore
	Webhook *WebhookConfig
	Email   *EmailConfig
	// AdminURL is the admin UI's base URL, for links to issues.
	AdminURL string
	Logger   *slog.Logger
	Now      func() time.Time
	// Backoff lists the waits between attempts (default DefaultBackoff);
	// a delivery gets len(Backoff)+1 attempts.
	Backoff []time.Duration
	// After waits (default time.After); tests pass one that does not.
	After func(time.Duration) <-chan time.Time
	// QueueSize bounds the events waiting (default 256); when full, events
	// are dropped, counted and logged.
	QueueSize int
	// MaxInFlight bounds concurrent deliveries (default 16).
	MaxInFlight int
}

// Notifier delivers issue events.
type Notifier struct {
	cfg       Config
	webhook   *webhookSender
	email     *emailSender
	queue     chan observe.IssueEvent
	dropped   atomic.Uint64
	delivered atomic.Uint64
	failed    atomic.Uint64
}

// sender delivers one payload; a permanent error is not retried.
type sender interface {
	send(ctx context.Context, d store.Delivery) error
}

// permanentError marks a failure a retry cannot fix (a 4xx answer, an SMTP
// 5xx reply).
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// New checks cfg and returns a Notifier.
func New(cfg Config) (*Notifier, error) {
	if cfg.Store == nil {
		return nil, errors.New("notify: a delivery store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 256
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 16
	}
	n := &Notifier{cfg: cfg, queue: make(chan observe.IssueEvent, cfg.QueueSize)}
	var errs []error
	if cfg.Webhook != nil {
		w, err := newWebhookSender(*cfg.Webhook)
		errs = append(errs, err)
		n.webhook = w
	}
	if cfg.Email != nil {
		e, err := newEmailSender(*cfg.Email)
		errs = append(errs, err)
		n.email = e
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return n, nil
}

// Enabled reports whether any channel is configured.
func (n *Notifier) Enabled() bool { return n.webhook != nil || n.email != nil }

// Notify queues ev without waiting; a full queue drops it (counted, logged).
func (n *Notifier) Notify(ev observe.IssueEvent) {
	if !n.Enabled() {
		return
	}
	select {
	case n.queue <- ev:
	default:
		n.dropped.Add(1)
		n.cfg.Logger.Error("notification queue full: issue event dropped", "event", "notify.dropped",
			"issue_id", ev.Issue.ID, "issue_event", ev.Event)
	}
}

// Dropped, Delivered and Failed count events dropped on a full queue,
// deliveries that succeeded, and deliveries that gave up.
func (n *Notifier) Dropped() uint64   { return n.dropped.Load() }
func (n *Notifier) Delivered() uint64 { return n.delivered.Load() }
func (n *Notifier) Failed() uint64    { return n.failed.Load() }

// Run delivers queued events until ctx ends. It first resumes the
// deliveries a previous run left pending. Deliveries in progress when ctx
// ends stay pending in the store.
func (n *Notifier) Run(ctx context.Context) {
	if !n.Enabled() {
		<-ctx.Done()
		return
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, n.cfg.MaxInFlight)
	start := func(d store.Delivery) {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Go(func() {
			defer func() { <-slots }()
			n.deliver(ctx, d)
		})
	}
	pending, err := n.cfg.Store.ListDeliveries(ctx, store.DeliveryQuery{Status: store.DeliveryPending, Limit: 1000})
	if err != nil && ctx.Err() == nil {
		n.cfg.Logger.Error("could not load pending notifications", "event", "notify.resume_failed", "error", err.Error())
	}
	for _, d := range pending {
		if n.senderFor(d.Channel) != nil {
			start(d)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-n.queue:
			for _, d := range n.deliveries(ctx, ev) {
				start(d)
			}
		}
	}
}

// deliveries stores one pending delivery per configured channel for ev.
func (n *Notifier) deliveries(ctx context.Context, ev observe.IssueEvent) []store.Delivery {
	now := n.now()
	var out []store.Delivery
	for _, ch := range []string{ChannelWebhook, ChannelEmail} {
		var (
			target  string
			payload []byte
			err     error
		)
		id := secret.ID("dlv_", 8)
		switch {
		case ch == ChannelWebhook && n.webhook != nil:
			target = n.webhook.target
			payload, err = webhookPayload(id, ev, n.issueURL(ev.Issue.ID), now)
		case ch == ChannelEmail && n.email != nil:
			target = n.email.target
			payload = n.email.message(id, ev, n.issueURL(ev.Issue.ID), now)
		default:
			continue
		}
		if err != nil {
			n.cfg.Logger.Error("could not build notification", "event", "notify.build_failed", "channel", ch, "error", err.Error())
			continue
		}
		d := store.Delivery{ID: id, IssueID: ev.Issue.ID, Event: ev.Event, Channel: ch, Target: target,
			Status: store.DeliveryPending, Payload: payload, CreatedAt: now, UpdatedAt: now}
		if err := n.cfg.Store.CreateDelivery(ctx, d); err != nil {
			n.cfg.Logger.Error("could not store notification", "event", "notify.store_failed", "channel", ch,
				"issue_id", ev.Issue.ID, "error", err.Error())
			continue
		}
		out = append(out, d)
	}
	return out
}

func (n *Notifier) issueURL(id string) string {
	if n.cfg.AdminURL == "" {
		return ""
	}
	return n.cfg.AdminURL + "/issues/" + id
}

func (n *Notifier) senderFor(channel string) sender {
	switch {
	case channel == ChannelWebhook && n.webhook != nil:
		return n.webhook
	case channel == ChannelEmail && n.email != nil:
		return n.email
	}
	return nil
}

// now is the clock's time at the store's precision (microseconds), so
// that times read back compare equal to the ones written.
func (n *Notifier) now() time.Time { return n.cfg.Now().UTC().Truncate(time.Microsecond) }

// errTaken: the delivery is another process's now (a replica's, or this
// process's before a restart), or not due yet.
var errTaken = errors.New("notify: delivery taken by another process")

// attemptLease is the longest one attempt may take (connection to answer):
// a delivery another process claimed is not touched before its retry is
// due plus this.
const attemptLease = time.Minute

// deliver attempts d until it succeeds, fails permanently or runs out of
// attempts. Each attempt first claims the delivery: a compare-and-swap on
// (Attempts, UpdatedAt) that counts the attempt and stamps its start, so
// of the processes resuming one pending delivery exactly one sends each
// attempt. Retries wait from the last attempt, so a delivery resumed after
// a restart keeps its schedule; one resumed from another process (owned
// false) also waits out that process's lease.
func (n *Notifier) deliver(ctx context.Context, d store.Delivery) {
	s := n.senderFor(d.Channel)
	owned := d.Attempts == 0 // created by this process, not yet tried
	due := func(cur store.Delivery, owned bool) time.Time {
		if cur.Attempts == 0 {
			return cur.UpdatedAt
		}
		at := cur.UpdatedAt.Add(n.cfg.Backoff[min(cur.Attempts-1, len(n.cfg.Backoff)-1)])
		if !owned {
			at = at.Add(attemptLease)
		}
		return at
	}
	for {
		if wait := due(d, owned).Sub(n.now()); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-n.cfg.After(wait):
			}
		}
		seen, claimedAt := d, n.now()
		err := n.cfg.Store.UpdateDelivery(ctx, d.ID, func(cur store.Delivery) (store.Delivery, error) {
			// The owner has waited its own backoff; anyone else must find
			// the retry due, lease included.
			if cur.Status != store.DeliveryPending || cur.Attempts != seen.Attempts || !cur.UpdatedAt.Equal(seen.UpdatedAt) ||
				(!owned && claimedAt.Before(due(cur, false))) {
				return cur, errTaken
			}
			cur.Attempts++
			cur.UpdatedAt = claimedAt
			return cur, nil
		})
		if err != nil {
			if !errors.Is(err, errTaken) && ctx.Err() == nil {
				n.cfg.Logger.Error("could not claim a notification", "event", "notify.store_failed", "error", err.Error())
			}
			return
		}
		d.Attempts++
		d.UpdatedAt, owned = claimedAt, true
		err = s.send(ctx, d)
		if ctx.Err() != nil {
			return // shutting down: the delivery stays pending, resumed at the next start
		}
		now := n.now()
		recorded := d
		recorded.UpdatedAt = now
		_, permanent := errors.AsType[permanentError](err)
		switch {
		case err == nil:
			recorded.Status, recorded.DeliveredAt = store.DeliveryDelivered, now
			n.delivered.Add(1)
			n.cfg.Logger.Info("notification delivered", "event", "notify.delivered", "channel", d.Channel,
				"issue_id", d.IssueID, "issue_event", d.Event, "attempts", d.Attempts)
		case permanent || d.Attempts > len(n.cfg.Backoff):
			recorded.Status, recorded.LastError = store.DeliveryFailed, err.Error()
			n.failed.Add(1)
			n.cfg.Logger.Error("notification failed", "event", "notify.failed", "channel", d.Channel,
				"issue_id", d.IssueID, "issue_event", d.Event, "attempts", d.Attempts, "error", err.Error())
		default:
			recorded.LastError = err.Error()
			n.cfg.Logger.Warn("notification attempt failed; will retry", "event", "notify.retry", "channel", d.Channel,
				"issue_id", d.IssueID, "attempts", d.Attempts, "error", err.Error())
		}
		err = n.cfg.Store.UpdateDelivery(ctx, d.ID, func(cur store.Delivery) (store.Delivery, error) {
			if cur.Attempts != d.Attempts || !cur.UpdatedAt.Equal(claimedAt) {
				return cur, errTaken
			}
			return recorded, nil
		})
		if err != nil {
			if !errors.Is(err, errTaken) && ctx.Err() == nil {
				n.cfg.Logger.Error("could not record notification status", "event", "notify.store_failed", "error", err.Error())
			}
			return
		}
		d = recorded
		if d.Status != store.DeliveryPending {
			return
		}
	}
}
