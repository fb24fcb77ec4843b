// Package pgtest gives a test a PostgreSQL database of its own, created on
// the server named by FDXD_TEST_POSTGRES and dropped when the test ends.
//
// When FDXD_TEST_POSTGRES is unset the local default server is tried; a
// test is skipped only when nothing answers there and the run neither is CI
// (CI=true) nor requires PostgreSQL (FDXD_REQUIRE_POSTGRES=1). A server that
// was named, a CI run or a required PostgreSQL that does not answer fails.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the server tests use: a postgres:// URL whose user may create
// databases.
const EnvVar = "FDXD_TEST_POSTGRES"

// DefaultURL is the server tried when EnvVar is unset: the one .ci/postgres.sh
// provides.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// connectTimeout bounds the check that a server answers.
const connectTimeout = 5 * time.Second

// ServerURL returns the URL of the test server after checking that it
// answers; it skips or fails t as the package comment says when it does not.
func ServerURL(t testing.TB) string {
	t.Helper()
	server, named := os.LookupEnv(EnvVar)
	if !named {
		server = DefaultURL
	}
	ctx, cancel := context.WithTimeout(t.Context(), connectTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		if named || os.Getenv("CI") == "true" || os.Getenv("FDXD_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL at %s does not answer: %v", redact(server), err)
		}
		t.Skipf("POSTGRESQL TESTS SKIPPED: nothing answers at %s (%v); run .ci/postgres.sh or set %s",
			redact(server), err, EnvVar)
	}
	conn.Close(context.WithoutCancel(ctx))
	return server
}

// NewDatabase creates an empty database fdxd_test_<random> on the test
// server, drops it (closing any connection still open) when t ends, and
// returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	server := ServerURL(t)
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", EnvVar)
	}
	var random [8]byte
	rand.Read(random[:])
	name := "fdxd_test_" + hex.EncodeToString(random[:])
	ident := pgx.Identifier{name}.Sanitize()

	admin(t, t.Context(), server, "CREATE DATABASE "+ident)
	t.Cleanup(func() {
		// t.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin(t, ctx, server, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
	})
	u.Path = "/" + name
	return u.String()
}

// TerminateSessions ends, from the server side, every session connected to
// the database at dbURL (what an operator's pg_terminate_backend or a server
// restart does to clients) and returns how many it ended.
func TerminateSessions(t testing.TB, dbURL string) int {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("parse database URL: %v", err)
	}
	conn, err := pgx.Connect(t.Context(), ServerURL(t))
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	defer conn.Close(context.WithoutCancel(t.Context()))
	var n int
	err = conn.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, strings.TrimPrefix(u.Path, "/")).Scan(&n)
	if err != nil {
		t.Fatalf("terminate sessions: %v", err)
	}
	return n
}

func admin(t testing.TB, ctx context.Context, server, sql string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("connect to %s: %v", redact(server), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// redact drops a password from a URL before it is printed.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
