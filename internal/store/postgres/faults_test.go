package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/postgres"
	"github.com/fdxd/fdxd/internal/store/postgres/pgtest"
)

func mustUnavailable(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("%s: error = %v; want store.ErrUnavailable", what, err)
	}
}

func mustOK(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func testClient(id, name string) store.Client {
	at := time.Date(2026, 11, 25, 15, 0, 0, 123456000, time.UTC)
	return store.Client{ID: id, Name: name, SecretHash: "hash-" + id, CreatedAt: at, UpdatedAt: at}
}

// TestOutageIsUnavailableAndHeals cuts, stalls and restores the network
// between one open Store and PostgreSQL: every failure is ErrUnavailable,
// a write cut in the middle of its transaction leaves nothing behind, and
// the same Store serves again as soon as the server can be reached.
func TestOutageIsUnavailableAndHeals(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	p, viaProxy := pgtest.ProxyFor(t, dbURL)
	s := openURL(t, viaProxy, postgres.Options{MaxConns: 4})
	ctx := t.Context()

	mustOK(t, s.CreateClient(ctx, testClient("c1", "before")), "create client")
	fillPool := func() {
		t.Helper()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if _, err := s.ListClients(ctx); err != nil {
					t.Errorf("list clients: %v", err)
				}
			})
		}
		wg.Wait()
	}

	// One failure is enough for the Store to drop every pooled connection:
	// the first call after the server is back works.
	fillPool()
	p.Cut()
	_, err := s.GetClient(ctx, "c1")
	mustUnavailable(t, err, "read while cut")
	p.Restore()
	got, err := s.GetClient(ctx, "c1")
	mustOK(t, err, "first read after restore")
	if got.Name != "before" {
		t.Fatalf("client name = %q; want before", got.Name)
	}

	// Every kind of call, with connections dropped and new ones refused.
	fillPool()
	p.Cut()
	for what, call := range map[string]func() error{
		"ping":  func() error { return s.Ping(ctx) },
		"read":  func() error { _, err := s.GetClient(ctx, "c1"); return err },
		"list":  func() error { _, err := s.ListClients(ctx); return err },
		"write": func() error { return s.CreateClient(ctx, testClient("c2", "during")) },
		"transaction": func() error {
			return s.UpdateClient(ctx, "c1", func(c store.Client) (store.Client, error) { return c, nil })
		},
		"redemption": func() error {
			return s.RedeemAuthCode(ctx, store.CodeRedemption{CodeHash: "h", Now: time.Now(), Grant: store.Grant{ID: "g"}})
		},
		"gc": func() error { _, err := s.GarbageCollect(ctx, time.Now()); return err },
	} {
		mustUnavailable(t, call(), what+" while cut")
	}
	p.Restore()
	mustOK(t, s.Ping(ctx), "ping after restore")
	if _, err := s.GetClient(ctx, "c2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("client written during the outage: error = %v; want store.ErrNotFound", err)
	}

	// Cut in the middle of a transaction: it did not happen.
	err = s.UpdateClient(ctx, "c1", func(c store.Client) (store.Client, error) {
		p.Cut()
		c.Name = "half-written"
		return c, nil
	})
	mustUnavailable(t, err, "update cut mid-transaction")
	err = s.UpdateSigningKeys(ctx, func(old []store.SigningKey) ([]store.SigningKey, error) {
		return nil, errors.New("never called: the connection is gone before the lock")
	})
	mustUnavailable(t, err, "key update while cut")
	p.Restore()
	got, err = s.GetClient(ctx, "c1")
	mustOK(t, err, "first read after a mid-transaction cut")
	if got.Name != "before" {
		t.Fatalf("client name after a cut update = %q; want before", got.Name)
	}

	// A server that hangs: the connections it had are dropped first; then a
	// fresh connection is accepted and never answered, and the caller's
	// deadline ends the wait, as ErrUnavailable.
	p.Stall()
	_, err = s.GetClient(ctx, "c1")
	mustUnavailable(t, err, "read on a dropped connection")
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = s.GetClient(short, "c1")
	cancel()
	mustUnavailable(t, err, "read while the server hangs")
	if short.Err() == nil {
		t.Fatalf("read while the server hangs returned %v before its deadline", err)
	}
	p.Restore()
	_, err = s.GetClient(ctx, "c1")
	mustOK(t, err, "read after the hang")
}

// TestTerminatedSessionsHeal ends every server session of the store from
// the server side, as a restart or an operator does (57P01): the store
// answers ErrUnavailable at worst once and then serves again.
func TestTerminatedSessionsHeal(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	s := openURL(t, dbURL, postgres.Options{MaxConns: 2})
	ctx := t.Context()
	mustOK(t, s.CreateClient(ctx, testClient("c1", "name")), "create client")

	if n := pgtest.TerminateSessions(t, dbURL); n == 0 {
		t.Fatal("no session of the store was found to terminate")
	}
	_, err := s.GetClient(ctx, "c1")
	if err != nil && !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("read after the server ended the session: error = %v; want nil or store.ErrUnavailable", err)
	}
	_, err = s.GetClient(ctx, "c1")
	mustOK(t, err, "second read after the server ended the session")
}
