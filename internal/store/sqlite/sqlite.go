// Package sqlite is the embedded store.Store backend, on modernc.org/sqlite.
//
// Writes go through one connection, so concurrent requests queue in Go
// instead of racing for SQLite's write lock; reads use a pool of
// connections that WAL lets run beside the writer. Other processes (the
// fdxd CLI next to a running server) are absorbed by the busy timeout.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/fdxd/fdxd/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store is the SQLite backend.
type Store struct {
	write *sql.DB
	read  *sql.DB
	// stmts caches prepared read statements by their SQL: without them
	// the driver parses the SQL on every call, a third of a simple read.
	stmts sync.Map // string → *sql.Stmt
	// wstmts caches prepared statements of the writer connection, used
	// outside transactions; txStmts are the hot statements of
	// transactions, prepared at Open (preparing inside a transaction would
	// wait for the one connection the transaction holds).
	wstmts  sync.Map // string → *sql.Stmt
	txStmts map[string]*sql.Stmt
	// rec holds the request records, in a file of their own (recordsdb.go).
	rec *recordsDB
}

// hotTxQueries run inside the code-redemption transaction, on the path of
// every code exchange.
var hotTxQueries = []string{redeemCodeSQL, insertGrantSQL, insertRefreshTokenSQL}

var _ store.Store = (*Store)(nil)

// busyTimeout bounds how long a statement waits for another process's lock.
const busyTimeout = 10 * time.Second

// Open opens (creating when absent) the database file at path and applies
// pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	writeDSN, readDSN := dsns(path, "foreign_keys(1)")
	write, err := openWriter(path, writeDSN)
	if err != nil {
		return nil, err
	}

	s := &Store{write: write}
	// The writer creates the file and switches it to WAL before any reader
	// opens it; a query_only reader could do neither.
	if err := s.migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}

	s.txStmts = make(map[string]*sql.Stmt, len(hotTxQueries))
	for _, q := range hotTxQueries {
		st, err := write.PrepareContext(ctx, q)
		if err != nil {
			write.Close()
			return nil, translate("prepare", err)
		}
		s.txStmts[q] = st
	}

	read, err := sql.Open("sqlite", readDSN)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)
	s.read = read
	if err := read.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	if s.rec, err = openRecords(ctx, RecordsPath(path)); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// dsns are the writer's and the readers' data source names for the file
// at path: WAL, a busy timeout, and the given extra pragmas; the writer
// begins IMMEDIATE transactions, the readers are query-only.
func dsns(path string, pragmas ...string) (write, read string) {
	params := url.Values{}
	params.Add("_pragma", "busy_timeout("+strconv.FormatInt(busyTimeout.Milliseconds(), 10)+")")
	params.Add("_pragma", "journal_mode(WAL)")
	params.Add("_pragma", "synchronous(NORMAL)")
	for _, p := range pragmas {
		params.Add("_pragma", p)
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + params.Encode()
	return base + "&_txlock=immediate", base + "&_pragma=query_only(1)"
}

// openWriter opens the one connection that writes the file at path.
func openWriter(path, dsn string) (*sql.DB, error) {
	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	return write, nil
}

// prepared returns the cached prepared statement for q on the read pool.
func (s *Store) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.read.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// errRow is a row whose query could not even be prepared.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// queryRow runs a one-row read through a cached prepared statement.
func (s *Store) queryRow(ctx context.Context, q string, args ...any) scanner {
	st, err := s.prepared(ctx, q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// queryRows runs a read through a cached prepared statement.
func (s *Store) queryRows(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// exec runs a write outside a transaction through a cached prepared
// statement.
func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	var st *sql.Stmt
	if v, ok := s.wstmts.Load(q); ok {
		st = v.(*sql.Stmt)
	} else {
		p, err := s.write.PrepareContext(ctx, q)
		if err != nil {
			return nil, err
		}
		if prev, loaded := s.wstmts.LoadOrStore(q, p); loaded {
			p.Close()
			st = prev.(*sql.Stmt)
		} else {
			st = p
		}
	}
	return st.ExecContext(ctx, args...)
}

// txExec runs a write inside tx, prepared when it is one of hotTxQueries.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st, ok := s.txStmts[q]; ok {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// Close closes both connection pools.
func (s *Store) Close() error {
	for _, m := range []*sync.Map{&s.stmts, &s.wstmts} {
		m.Range(func(_, st any) bool {
			st.(*sql.Stmt).Close()
			return true
		})
	}
	for _, st := range s.txStmts {
		st.Close()
	}
	var errs []error
	if s.read != nil {
		errs = append(errs, s.read.Close())
	}
	errs = append(errs, s.write.Close())
	if s.rec != nil {
		errs = append(errs, s.rec.close())
	}
	return errors.Join(errs...)
}

// Ping checks that the database file can still be read.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.queryRow(ctx, "SELECT 1 FROM schema_migrations LIMIT 1").Scan(&one); err != nil {
		return translate("ping", err)
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

// migrate applies the embedded migrations of the main database.
func (s *Store) migrate(ctx context.Context) error {
	names, err := Migrations()
	if err != nil {
		return fmt.Errorf("sqlite: list migrations: %w", err)
	}
	return applyMigrations(ctx, s.write, migrationFiles, names)
}

// applyMigrations applies, each in its own transaction on the writer
// connection, the migrations in names (read from files) not yet recorded in
// the database's schema_migrations.
func applyMigrations(ctx context.Context, write *sql.DB, files embed.FS, names []string) error {
	if _, err := write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return translate("create schema_migrations", err)
	}
	for _, name := range names {
		version, err := migrationVersion(name)
		if err != nil {
			return err
		}
		body, err := files.ReadFile(name)
		if err != nil {
			return fmt.Errorf("sqlite: read %s: %w", name, err)
		}
		err = inTx(ctx, write, func(tx *sql.Tx) error {
			var applied int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", version).Scan(&applied); err != nil {
				return err
			}
			if applied > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("apply %s: %w", name, err)
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				version, path.Base(name), micros(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", name, translate("migrate", err))
		}
	}
	return nil
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
	if err := s.queryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&applied); err != nil {
		return 0, 0, translate("migration status", err)
	}
	return applied, known, nil
}

func migrationVersion(name string) (int, error) {
	prefix, _, ok := strings.Cut(path.Base(name), "_")
	if !ok {
		return 0, fmt.Errorf("sqlite: migration %s: name must start with NNNN_", name)
	}
	v, err := strconv.Atoi(prefix)
	if err != nil {
		return 0, fmt.Errorf("sqlite: migration %s: %w", name, err)
	}
	return v, nil
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE on the one writer
// connection) and commits when fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return inTx(ctx, s.write, fn)
}

// inTx runs fn in a transaction on write and commits when fn returns nil.
func inTx(ctx context.Context, write *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// translate turns driver errors into the store's sentinels, with context.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: %w", op, store.ErrNotFound)
	}
	for _, sentinel := range []error{store.ErrNotFound, store.ErrAlreadyExists, store.ErrConflict,
		store.ErrAlreadyRedeemed, store.ErrRefreshTokenReused, store.ErrUserDisabled, store.ErrUnavailable} {
		if errors.Is(err, sentinel) {
			return fmt.Errorf("sqlite: %s: %w", op, err)
		}
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("sqlite: %s: %w (%v)", op, store.ErrAlreadyExists, err)
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return fmt.Errorf("sqlite: %s: %w (%v)", op, store.ErrUnavailable, err)
		}
	}
	// database/sql does not export "sql: database is closed".
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "database is closed") {
		return fmt.Errorf("sqlite: %s: %w (%v)", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}
