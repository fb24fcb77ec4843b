// Package backend chooses the storage backend from the --db location: a
// postgres:// or postgresql:// URL selects PostgreSQL, anything else is the
// path of a SQLite file.
package backend

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/postgres"
	"github.com/fdxd/fdxd/internal/store/sqlite"
)

// Options tunes the backend. PostgreSQL uses them; SQLite, with its one
// writer and fixed reader pool, ignores them.
type Options struct {
	// MaxConns caps the PostgreSQL connection pool (per process); 0 keeps
	// the URL's pool_max_conns or the pool's default.
	MaxConns int32
	// ConnectTimeout bounds each PostgreSQL connection attempt; 0 keeps the
	// URL's connect_timeout or postgres.DefaultConnectTimeout.
	ConnectTimeout time.Duration
}

// IsPostgres reports whether location names a PostgreSQL database.
func IsPostgres(location string) bool {
	scheme, _, ok := strings.Cut(location, "://")
	return ok && (strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql"))
}

// Open opens the store at location, applying pending migrations.
func Open(ctx context.Context, location string, opts Options) (store.Store, error) {
	if location == "" {
		return nil, errors.New("backend: no database location")
	}
	if IsPostgres(location) {
		s, err := postgres.Open(ctx, location, postgresOptions(opts))
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	s, err := sqlite.Open(ctx, location)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Migrate applies pending migrations to the database at location and
// returns the names of those it applied, in order.
func Migrate(ctx context.Context, location string, opts Options) ([]string, error) {
	if location == "" {
		return nil, errors.New("backend: no database location")
	}
	if IsPostgres(location) {
		return postgres.Migrate(ctx, location, postgresOptions(opts))
	}
	return migrateSQLite(ctx, location)
}

func postgresOptions(opts Options) postgres.Options {
	return postgres.Options{MaxConns: opts.MaxConns, ConnectTimeout: opts.ConnectTimeout}
}

// migrateSQLite reads which migrations a SQLite file has, read-only, then
// lets sqlite.Open apply the rest and reports the difference. SQLite serves
// one machine, where nothing else migrates the file in between.
func migrateSQLite(ctx context.Context, path string) ([]string, error) {
	before, err := sqliteVersion(ctx, path)
	if err != nil {
		return nil, err
	}
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	after, _, err := s.MigrationStatus(ctx)
	if err != nil {
		return nil, err
	}
	names, err := sqlite.Migrations()
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		prefix, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(prefix)
		if err != nil {
			return nil, fmt.Errorf("backend: migration %s: %w", name, err)
		}
		if v > before && v <= after {
			applied = append(applied, base)
		}
	}
	return applied, nil
}

// sqliteVersion returns the latest migration recorded in the SQLite file at
// path: 0 when the file or its schema_migrations table does not exist yet.
func sqliteVersion(ctx context.Context, path string) (int, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?mode=ro&_pragma=busy_timeout(10000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return 0, fmt.Errorf("backend: open %s: %w", path, err)
	}
	defer db.Close()
	var hasTable bool
	if err := db.QueryRowContext(ctx, `SELECT count(*) > 0 FROM sqlite_master
		WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&hasTable); err != nil {
		return 0, fmt.Errorf("backend: read %s: %w", path, err)
	}
	if !hasTable {
		return 0, nil
	}
	var version int
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return 0, fmt.Errorf("backend: read %s: %w", path, err)
	}
	return version, nil
}
