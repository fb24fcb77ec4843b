package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/backend"
)

// DefaultDB is where the embedded database lives unless --db says otherwise.
const DefaultDB = "./fdxd.db"

// dbFlags are the flags of every command that opens the database.
type dbFlags struct {
	location       string
	kekFile        string
	maxConns       int
	connectTimeout time.Duration
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.location, "db", DefaultDB, "database: a SQLite file path, or a postgres:// URL")
	fs.StringVar(&d.kekFile, "key-encryption-key-file", "",
		"file holding the 32-byte key-encryption key (hex or base64); default: FDXD_KEY_ENCRYPTION_KEY, else <db>.kek when it exists")
	fs.IntVar(&d.maxConns, "db-max-conns", 0, "PostgreSQL connection pool size per process (0: the URL's pool_max_conns or the default)")
	fs.DurationVar(&d.connectTimeout, "db-connect-timeout", 0, "PostgreSQL connection timeout (0: the URL's connect_timeout or 5s)")
}

// open opens the database and applies pending migrations.
func (d *dbFlags) open(ctx context.Context) (store.Store, error) {
	if d.maxConns < 0 {
		return nil, usagef("--db-max-conns must not be negative")
	}
	return backend.Open(ctx, d.location, d.options())
}

func (d *dbFlags) options() backend.Options {
	return backend.Options{MaxConns: int32(d.maxConns), ConnectTimeout: d.connectTimeout}
}

// kekPath is the key file that sits beside a SQLite database.
func (d *dbFlags) kekPath() string { return d.location + ".kek" }

// sealer finds the key-encryption key: FDXD_KEY_ENCRYPTION_KEY, then
// --key-encryption-key-file, then <db>.kek; with create (demo mode) the
// last is created, mode 0600, when absent. The key is never a flag value.
func (d *dbFlags) sealer(env Env, create bool) (*secret.Sealer, string, error) {
	var (
		key    []byte
		source string
		err    error
	)
	switch {
	case env.Getenv("FDXD_KEY_ENCRYPTION_KEY") != "":
		source = "FDXD_KEY_ENCRYPTION_KEY"
		key, err = secret.ParseKey(env.Getenv("FDXD_KEY_ENCRYPTION_KEY"))
	case d.kekFile != "":
		source = d.kekFile
		key, err = secret.LoadKeyFile(d.kekFile)
	case backend.IsPostgres(d.location):
		// Every replica must hold the same key, so none may invent its own.
		return nil, "", errors.New("with PostgreSQL, give every replica the same key-encryption key: FDXD_KEY_ENCRYPTION_KEY (64 hex digits) or --key-encryption-key-file")
	default:
		source = d.kekPath()
		if create {
			var created bool
			key, created, err = secret.LoadOrCreateKeyFile(source)
			if created {
				source += " (created)"
			}
		} else if _, statErr := os.Stat(source); statErr == nil {
			key, err = secret.LoadKeyFile(source)
		} else {
			return nil, "", fmt.Errorf("no key-encryption key: set FDXD_KEY_ENCRYPTION_KEY (64 hex digits) or --key-encryption-key-file, or run 'fdxd serve --demo' once to create %s", source)
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("key-encryption key from %s: %w", source, err)
	}
	sealer, err := secret.NewSealer(key)
	return sealer, source, err
}

// openOne parses the flags of a command on one named thing (a client id, a
// username) that has only the database flags, and opens the database; what
// names the argument in usage errors. The caller closes the store.
func openOne(ctx context.Context, env Env, command, what string, args []string) (store.Store, string, error) {
	fs := newFlagSet(env, command)
	var db dbFlags
	db.register(fs)
	arg, err := oneArg(fs, env, args, what)
	if err != nil {
		return nil, "", err
	}
	st, err := db.open(ctx)
	if err != nil {
		return nil, "", err
	}
	return st, arg, nil
}

// openList parses the flags of a list command, which takes no arguments:
// the database flags and, when asJSON is not nil, --json. It opens the
// database; the caller closes it.
func openList(ctx context.Context, env Env, command string, args []string, asJSON *bool) (store.Store, error) {
	fs := newFlagSet(env, command)
	var db dbFlags
	db.register(fs)
	if asJSON != nil {
		fs.BoolVar(asJSON, "json", false, "print JSON")
	}
	if err := noArgs(fs, env, args); err != nil {
		return nil, err
	}
	return db.open(ctx)
}

// notFound turns store.ErrNotFound into a message naming what is missing;
// any other error, nil included, passes unchanged.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf(format, args...)
	}
	return err
}
