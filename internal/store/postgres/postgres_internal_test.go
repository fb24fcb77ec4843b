package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/postgres/pgtest"
)

func TestTranslate(t *testing.T) {
	pgErr := func(code string) error { return fmt.Errorf("exec: %w", &pgconn.PgError{Severity: "ERROR", Code: code}) }
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name       string
		err        error
		want       error // nil: none of the sentinels
		poolBroken bool
	}{
		{"no rows", pgx.ErrNoRows, store.ErrNotFound, false},
		{"sentinel passes through", fmt.Errorf("x: %w", store.ErrAlreadyRedeemed), store.ErrAlreadyRedeemed, false},
		{"unique violation", pgErr("23505"), store.ErrAlreadyExists, false},
		{"serialization failure", pgErr("40001"), store.ErrConflict, false},
		{"deadlock", pgErr("40P01"), store.ErrConflict, false},
		{"admin shutdown", pgErr("57P01"), store.ErrUnavailable, true},
		{"crash shutdown", pgErr("57P02"), store.ErrUnavailable, true},
		{"cannot connect now", pgErr("57P03"), store.ErrUnavailable, true},
		{"statement timeout", pgErr("57014"), store.ErrUnavailable, false},
		{"read-only standby", pgErr("25006"), store.ErrUnavailable, false},
		{"too many connections", pgErr("53300"), store.ErrUnavailable, false},
		{"connection failure", pgErr("08006"), store.ErrUnavailable, true},
		{"foreign key violation", pgErr("23503"), nil, false},
		{"syntax error", pgErr("42601"), nil, false},
		{"connection refused", dialErr, store.ErrUnavailable, true},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), store.ErrUnavailable, true},
		{"broken pipe", fmt.Errorf("write: %w", syscall.EPIPE), store.ErrUnavailable, true},
		{"unexpected EOF", fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF), store.ErrUnavailable, true},
		{"conn closed", fmt.Errorf("query: %w", pgconn.ErrConnClosed), store.ErrUnavailable, true},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), store.ErrUnavailable, false},
		{"plain error", errors.New("boom"), nil, false},
	}
	sentinels := []error{store.ErrNotFound, store.ErrAlreadyExists, store.ErrConflict, store.ErrAlreadyRedeemed,
		store.ErrRefreshTokenReused, store.ErrUnavailable}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := translate("op", tt.err)
			if !errors.Is(got, tt.err) {
				t.Errorf("translate(%v) = %v; the original error is lost", tt.err, got)
			}
			for _, s := range sentinels {
				if is := errors.Is(got, s); is != (s == tt.want) {
					t.Errorf("errors.Is(translate(%v), %v) = %v; want %v", tt.err, s, is, s == tt.want)
				}
			}
			if !strings.HasPrefix(got.Error(), "postgres: op: ") {
				t.Errorf("translate(%v) = %q; want the operation named", tt.err, got)
			}
			if pb := poolBroken(tt.err); pb != tt.poolBroken {
				t.Errorf("poolBroken(%v) = %v; want %v", tt.err, pb, tt.poolBroken)
			}
		})
	}
	if err := translate("op", nil); err != nil {
		t.Errorf("translate(nil) = %v; want nil", err)
	}
}

func TestPoolConfig(t *testing.T) {
	tests := []struct {
		name        string
		url         string
		opts        Options
		wantMax     int32
		wantTimeout time.Duration
	}{
		{"options override", "postgres://u@127.0.0.1/db?pool_max_conns=3&connect_timeout=9", Options{MaxConns: 40, ConnectTimeout: time.Second}, 40, time.Second},
		{"URL values kept", "postgres://u@127.0.0.1/db?pool_max_conns=3&connect_timeout=9", Options{}, 3, 9 * time.Second},
		{"defaults", "postgresql://u@127.0.0.1/db", Options{}, -1, DefaultConnectTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := poolConfig(tt.url, tt.opts)
			if err != nil {
				t.Fatalf("poolConfig: %v", err)
			}
			if tt.wantMax > 0 && cfg.MaxConns != tt.wantMax {
				t.Errorf("MaxConns = %d; want %d", cfg.MaxConns, tt.wantMax)
			}
			if cfg.MaxConns < 1 {
				t.Errorf("MaxConns = %d; want at least 1", cfg.MaxConns)
			}
			if cfg.ConnConfig.ConnectTimeout != tt.wantTimeout {
				t.Errorf("ConnectTimeout = %v; want %v", cfg.ConnConfig.ConnectTimeout, tt.wantTimeout)
			}
			if got := cfg.ConnConfig.RuntimeParams["application_name"]; got != "fdxd" {
				t.Errorf("application_name = %q; want fdxd", got)
			}
		})
	}

	if _, err := poolConfig("postgres://u@127.0.0.1/db", Options{MaxConns: -1}); err == nil {
		t.Error("poolConfig accepted a negative MaxConns")
	}
	const password = "s3cret-password"
	_, err := poolConfig("postgres://u:"+password+"@127.0.0.1:notaport/db", Options{})
	if err == nil {
		t.Fatal("poolConfig accepted a bad URL")
	}
	if strings.Contains(err.Error(), password) {
		t.Errorf("error %q shows the password", err)
	}
}

func TestTimestampEncoding(t *testing.T) {
	if got := ts(time.Time{}); got.Valid {
		t.Errorf("ts(zero) = %+v; want NULL", got)
	}
	in := time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.FixedZone("EST", -5*3600))
	got := ts(in)
	if want := in.Truncate(time.Microsecond); !got.Valid || !got.Time.Equal(want) || got.Time.Nanosecond()%1000 != 0 {
		t.Errorf("ts(%v) = %+v; want %v", in, got, want)
	}
	var back time.Time
	if err := scanTime(&back).ScanTimestamptz(got); err != nil {
		t.Fatal(err)
	}
	if back.Location() != time.UTC || !back.Equal(in.Truncate(time.Microsecond)) {
		t.Errorf("scanned %v; want %v in UTC", back, in.Truncate(time.Microsecond))
	}
	back = time.Now()
	if err := scanTime(&back).ScanTimestamptz(ts(time.Time{})); err != nil || !back.IsZero() {
		t.Errorf("scanned NULL as %v, %v; want the zero time", back, err)
	}
}

// TestTxRetriesADeadlockVictim: two transactions lock two rows in opposite
// orders; PostgreSQL aborts one as the deadlock victim, and tx runs it again,
// so both commit.
func TestTxRetriesADeadlockVictim(t *testing.T) {
	s, err := Open(t.Context(), pgtest.NewDatabase(t), Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, name := range []string{"deadlock-a", "deadlock-b"} {
		if err := s.SetSetting(t.Context(), name, "0"); err != nil {
			t.Fatal(err)
		}
	}
	var (
		runs     atomic.Int32
		bothHeld sync.WaitGroup
		wg       sync.WaitGroup
	)
	bothHeld.Add(2)
	errs := make([]error, 2)
	for i, order := range [][2]string{{"deadlock-a", "deadlock-b"}, {"deadlock-b", "deadlock-a"}} {
		wg.Go(func() {
			first := true
			errs[i] = s.tx(t.Context(), func(tx pgx.Tx) error {
				runs.Add(1)
				for j, name := range order {
					if _, err := tx.Exec(t.Context(), `UPDATE settings SET value = value || 'x' WHERE name = $1`, name); err != nil {
						return err
					}
					if j == 0 && first {
						// Both hold their first row before either asks for its second.
						first = false
						bothHeld.Done()
						bothHeld.Wait()
					}
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("transaction %d: %v", i, err)
		}
	}
	if n := runs.Load(); n != 3 {
		t.Errorf("fn ran %d times; want 3 (the deadlock victim twice)", n)
	}
	for _, name := range []string{"deadlock-a", "deadlock-b"} {
		if v, err := s.GetSetting(t.Context(), name); err != nil || v != "0xx" {
			t.Errorf("setting %s = %q, %v; want 0xx (each transaction applied once)", name, v, err)
		}
	}
}
