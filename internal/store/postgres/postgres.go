// Package postgres is the store.Store backend for PostgreSQL, on
// github.com/jackc/pgx/v5 through its own pool, pgxpool, rather than the
// database/sql driver. The reasons: pgx's native interface encodes
// timestamptz, text[] and bytea in the binary protocol without adapter
// types; server errors arrive as *pgconn.PgError with their SQLSTATE, which
// is what the translation to store sentinels needs; there is one pool
// instead of database/sql's pool wrapped around pgx's connections; and the
// pool can be reset when the network fails under it (see Store.fail), so
// that service resumes on the first request after an outage instead of
// after every stale connection has failed once.
//
// Every write that spans rows is one transaction at PostgreSQL's default
// READ COMMITTED isolation; the guarantees the store interface promises
// come from row locks and conditional updates, never from anything held in
// this process, so any number of replicas can share one database:
//   - RedeemAuthCode: UPDATE … WHERE redeemed_at IS NULL; a concurrent
//     redemption waits for the row lock and then finds the code redeemed.
//   - RotateRefreshToken: SELECT … FOR UPDATE on the presented token and
//     then on its successor, always in chain order, so rotations of one
//     chain serialise without deadlocks.
//   - UpdateSigningKeys: a transaction-scoped advisory lock
//     (pg_advisory_xact_lock) shared by every replica.
//   - ServerSecret: INSERT … ON CONFLICT DO NOTHING, then a fresh read.
//
// Migrations are applied at Open, each in its own transaction that first
// takes a transaction-scoped advisory lock, so replicas starting together
// apply each one exactly once; no lock outlives its transaction, which
// keeps migrating safe behind a PgBouncer in transaction mode.
//
// Prepared statements are cached per connection (pgx's default). Behind a
// PgBouncer in transaction mode add default_query_exec_mode=exec (or
// simple_protocol) to the URL, or let PgBouncer (1.21 or later) track
// them with max_prepared_statements.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fdxd/fdxd/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Advisory lock keys, in the one 64-bit space every client of the database
// shares; the high half spells "fdxd".
const (
	migrationLockKey  int64 = 0x66647864_00000001
	signingKeyLockKey int64 = 0x66647864_00000002
)

// DefaultConnectTimeout bounds a connection attempt when neither the URL
// (connect_timeout) nor Options set one, so that an unreachable server costs
// a request seconds, not the operating system's TCP timeout.
const DefaultConnectTimeout = 5 * time.Second

// Options tunes the connection pool. The zero value is usable.
type Options struct {
	// MaxConns caps the pool; 0 keeps the URL's pool_max_conns or pgxpool's
	// default (the larger of 4 and the number of CPUs).
	MaxConns int32
	// ConnectTimeout bounds each connection attempt; 0 keeps the URL's
	// connect_timeout or DefaultConnectTimeout.
	ConnectTimeout time.Duration
}

// Store is the PostgreSQL backend.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (postgres:// or postgresql://, or a
// key=value connection string), applies pending migrations and returns a
// Store over a connection pool.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := poolConfig(url, opts)
	if err != nil {
		return nil, err
	}
	if _, err := migrate(ctx, cfg.ConnConfig); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Migrate applies pending migrations to the database at url and returns the
// names of those it applied (none when another process had applied them).
func Migrate(ctx context.Context, url string, opts Options) ([]string, error) {
	cfg, err := poolConfig(url, opts)
	if err != nil {
		return nil, err
	}
	return migrate(ctx, cfg.ConnConfig)
}

func poolConfig(url string, opts Options) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// ParseConfigError's text masks passwords on a best-effort basis;
		// say nothing of the URL at all.
		return nil, errors.New("postgres: invalid database URL (see https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING)")
	}
	if opts.MaxConns < 0 {
		return nil, fmt.Errorf("postgres: max conns %d: must not be negative", opts.MaxConns)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
		cfg.MinConns = min(cfg.MinConns, cfg.MaxConns)
	}
	switch {
	case opts.ConnectTimeout > 0:
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	case cfg.ConnConfig.ConnectTimeout == 0:
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "fdxd"
	}
	return cfg, nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the database answers and holds fdxd's schema.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.pool.QueryRow(ctx, "SELECT 1 FROM schema_migrations LIMIT 1").Scan(&one); err != nil {
		return s.fail("ping", err)
	}
	return nil
}

// Migrations lists the embedded migrations in the order they apply.
func Migrations() ([]string, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, in order, on a connection of its own. Each runs in a
// transaction that first takes the migration advisory lock
// (pg_advisory_xact_lock): a process migrating the same database at the
// same time waits for the commit, then finds that migration recorded. The
// lock ends with its transaction, so a failure or a pooler that hands the
// next transaction to another server connection can never leave it held.
// A process applies migration N only after it saw N-1 applied, so the
// order holds across processes too.
func migrate(ctx context.Context, cfg *pgx.ConnConfig) (applied []string, err error) {
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return nil, translate("migrate: connect", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	names, err := Migrations()
	if err != nil {
		return nil, fmt.Errorf("postgres: list migrations: %w", err)
	}
	for _, name := range names {
		version, err := migrationVersion(name)
		if err != nil {
			return applied, err
		}
		body, err := migrationFiles.ReadFile(name)
		if err != nil {
			return applied, fmt.Errorf("postgres: read %s: %w", name, err)
		}
		base := strings.TrimPrefix(name, "migrations/")
		done := false
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
			// Under the lock: concurrent CREATE TABLE IF NOT EXISTS can
			// still collide in the catalog.
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version integer PRIMARY KEY,
				name text NOT NULL,
				applied_at timestamptz NOT NULL DEFAULT now()
			)`); err != nil {
				return fmt.Errorf("create schema_migrations: %w", err)
			}
			var exists bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", version).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return nil
			}
			// Without arguments pgx sends the body over the simple
			// protocol, which runs every statement in it.
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("apply %s: %w", base, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, base); err != nil {
				return err
			}
			done = true
			return nil
		})
		if err != nil {
			return applied, translate("migration "+base, err)
		}
		if done {
			applied = append(applied, base)
		}
	}
	return applied, nil
}

// MigrationStatus reports the latest applied migration and the latest one
// this binary knows.
func (s *Store) MigrationStatus(ctx context.Context) (applied, known int, err error) {
	names, err := Migrations()
	if err != nil {
		return 0, 0, err
	}
	if len(names) > 0 {
		if known, err = migrationVersion(names[len(names)-1]); err != nil {
			return 0, 0, err
		}
	}
	if err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&applied); err != nil {
		return 0, 0, s.fail("migration status", err)
	}
	return applied, known, nil
}

func migrationVersion(name string) (int, error) {
	base := strings.TrimPrefix(name, "migrations/")
	prefix, _, ok := strings.Cut(base, "_")
	if !ok {
		return 0, fmt.Errorf("postgres: migration %s: name must start with NNNN_", name)
	}
	v, err := strconv.Atoi(prefix)
	if err != nil {
		return 0, fmt.Errorf("postgres: migration %s: %w", name, err)
	}
	return v, nil
}

// tx runs fn in a READ COMMITTED transaction and commits when fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil || attempt == txAttempts || !retryable(err) {
			return err
		}
	}
}

// txAttempts is how many times tx runs a transaction that PostgreSQL
// aborted as a deadlock victim or for a serialization failure.
const txAttempts = 3

// retryable reports an abort that rolled the whole transaction back and
// that running it again can get past: a deadlock (two writers locking rows
// in opposite orders, as garbage collection and DisableUser can) or a
// serialization failure. Every fn given to tx assigns, rather than
// accumulates, what it reports, so a second run reports only itself.
func retryable(err error) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// fail translates err like translate and, when it shows that the server
// connection was lost or ended by the server, resets the pool: the idle
// connections went down with the one that failed, and each would otherwise
// fail one more request after the server is back.
func (s *Store) fail(op string, err error) error {
	if err != nil && poolBroken(err) {
		s.pool.Reset()
	}
	return translate(op, err)
}

// poolBroken reports errors after which no pooled connection can be
// trusted: a lost connection, or the server ending sessions (shutdown,
// crash, an operator terminating backends).
func poolBroken(err error) bool {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03":
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08")
	}
	return connectionLost(err)
}

// translate turns driver errors into the store's sentinels, with context.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w (%w)", op, store.ErrNotFound, err)
	}
	for _, sentinel := range []error{store.ErrNotFound, store.ErrAlreadyExists, store.ErrConflict,
		store.ErrAlreadyRedeemed, store.ErrRefreshTokenReused, store.ErrUserDisabled, store.ErrUnavailable} {
		if errors.Is(err, sentinel) {
			return fmt.Errorf("postgres: %s: %w", op, err)
		}
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch {
		case pgErr.Code == "23505": // unique_violation
			return fmt.Errorf("postgres: %s: %w (%w)", op, store.ErrAlreadyExists, err)
		case pgErr.Code == "40001", pgErr.Code == "40P01": // serialization_failure, deadlock_detected
			return fmt.Errorf("postgres: %s: %w (%w)", op, store.ErrConflict, err)
		case unavailableCode(pgErr.Code):
			return fmt.Errorf("postgres: %s: %w (%w)", op, store.ErrUnavailable, err)
		}
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if connectionLost(err) || pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("postgres: %s: %w (%w)", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// unavailableCode reports SQLSTATEs that mean the server cannot serve now,
// as opposed to a bad request: a retry later may succeed.
func unavailableCode(code string) bool {
	switch code {
	case "57P01", // admin_shutdown
		"57P02", // crash_shutdown
		"57P03", // cannot_connect_now (starting up, shutting down, recovery)
		"57P05", // idle_session_timeout
		"57014", // query_canceled (statement_timeout)
		"25006", // read_only_sql_transaction: a standby after failover
		"55P03": // lock_not_available (lock_timeout)
		return true
	}
	// Class 08: connection exception. Class 53: insufficient resources (too
	// many connections, disk full, out of memory).
	return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "53")
}

// connectionLost reports errors that show the network connection to the
// server failed or was closed: a refused or failed connection attempt, a
// reset, an unexpected end of stream, a connection pgx had already closed.
func connectionLost(err error) bool {
	if _, ok := errors.AsType[*pgconn.PgError](err); ok {
		return false
	}
	// A deadline or cancellation says nothing of the connection (and
	// context.DeadlineExceeded is itself a net.Error).
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	return errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}
