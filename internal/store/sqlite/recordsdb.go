package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed records_migrations/*.sql
var recordsMigrationFiles embed.FS

// recordsDB is the database file that holds request records, beside the
// main one. Every public request writes a row; in WAL mode a commit makes
// every reader of the same file drop its page cache at its next read, so
// in the main file the records would slow every token and FDX read. Apart,
// they cost only their own writing.
type recordsDB struct {
	write *sql.DB
	read  *sql.DB
}

// RecordsPath is where the request records of the database at path live:
// fdxd.db → fdxd-records.db.
func RecordsPath(path string) string {
	return strings.TrimSuffix(path, ".db") + "-records.db"
}

// openRecords opens (creating when absent) the records database at path
// and brings its schema up to date.
func openRecords(ctx context.Context, path string) (*recordsDB, error) {
	writeDSN, readDSN := dsns(path)
	write, err := openWriter(path, writeDSN)
	if err != nil {
		return nil, err
	}
	r := &recordsDB{write: write}
	if err := r.migrate(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", readDSN)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	// Reads are the admin's searches: a few at a time.
	read.SetMaxOpenConns(4)
	read.SetMaxIdleConns(2)
	r.read = read
	if err := read.PingContext(ctx); err != nil {
		r.close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	return r, nil
}

func (r *recordsDB) close() error {
	var errs []error
	if r.read != nil {
		errs = append(errs, r.read.Close())
	}
	errs = append(errs, r.write.Close())
	return errors.Join(errs...)
}

// tx runs fn in a write transaction of the records database.
func (r *recordsDB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return inTx(ctx, r.write, fn)
}

// migrate applies the records database's own migrations, recorded in its
// own schema_migrations; the file can be deleted to start afresh.
func (r *recordsDB) migrate(ctx context.Context) error {
	names, err := fs.Glob(recordsMigrationFiles, "records_migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	return applyMigrations(ctx, r.write, recordsMigrationFiles, names)
}
