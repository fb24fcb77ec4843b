-- Observability: issues, admins of the admin UI with their sessions,
-- notification deliveries. Request records live in a database file of
-- their own (records_migrations/), so that their constant writes never
-- invalidate the page caches of this database's readers.
-- Times are INTEGER microseconds since the Unix epoch (UTC); 0 means unset.

-- At most one unresolved issue per key (resolved_at = 0 while open).
CREATE TABLE issues (
    id              TEXT PRIMARY KEY,
    issue_key       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    route           TEXT NOT NULL DEFAULT '',
    client_id       TEXT NOT NULL DEFAULT '',
    error           TEXT NOT NULL DEFAULT '',
    summary         TEXT NOT NULL DEFAULT '',
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    resolved_at     INTEGER NOT NULL DEFAULT 0,
    failures        INTEGER NOT NULL DEFAULT 0,
    requests        INTEGER NOT NULL DEFAULT 0,
    rate            REAL NOT NULL DEFAULT 0,
    peak_rate       REAL NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX issues_open_key ON issues (issue_key) WHERE resolved_at = 0;
CREATE INDEX issues_last_seen ON issues (last_seen);

CREATE TABLE admins (
    username        TEXT PRIMARY KEY,
    password_hash   TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE admin_sessions (
    id_hash     TEXT PRIMARY KEY,
    username    TEXT NOT NULL REFERENCES admins (username) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX admin_sessions_expires_at ON admin_sessions (expires_at);
CREATE INDEX admin_sessions_username ON admin_sessions (username);

-- One row per notification of an issue event to one channel.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    issue_id        TEXT NOT NULL REFERENCES issues (id),
    event           TEXT NOT NULL,
    channel         TEXT NOT NULL,
    target          TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    payload         BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    delivered_at    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX deliveries_issue ON deliveries (issue_id, created_at);
CREATE INDEX deliveries_status ON deliveries (status) WHERE status = 'pending';
