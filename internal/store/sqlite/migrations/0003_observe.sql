-- Observability: request records, issues, admins of the admin UI with their
-- sessions, notification deliveries.
-- Times are INTEGER microseconds since the Unix epoch (UTC); 0 means unset.

-- One row per public request. Headers are a JSON object of masked values.
-- seq orders rows as they were stored; retention deletes the lowest first.
CREATE TABLE request_records (
    seq                 INTEGER PRIMARY KEY,
    request_id          TEXT NOT NULL,
    at                  INTEGER NOT NULL,
    route               TEXT NOT NULL,
    method              TEXT NOT NULL,
    path                TEXT NOT NULL,
    status              INTEGER NOT NULL,
    duration_us         INTEGER NOT NULL,
    remote_addr         TEXT NOT NULL DEFAULT '',
    user_agent          TEXT NOT NULL DEFAULT '',
    client_id           TEXT NOT NULL DEFAULT '',
    subject             TEXT NOT NULL DEFAULT '',
    state               TEXT NOT NULL DEFAULT '',
    oauth_session_id    TEXT NOT NULL DEFAULT '',
    error               TEXT NOT NULL DEFAULT '',
    error_description   TEXT NOT NULL DEFAULT '',
    user_decision       INTEGER NOT NULL DEFAULT 0,
    failure             INTEGER NOT NULL DEFAULT 0,
    headers             TEXT NOT NULL DEFAULT '{}'
) STRICT;
-- Every public request adds a row, so each index costs throughput, and an
-- index on a random key (a request id) costs a page written per row: only
-- time (appended in order; ranges and retention) and the state (rare:
-- authorize, login and code exchange) are indexed. Lookups by request id,
-- user, client or oauth_session_id scan newest first, or a time range.
CREATE INDEX request_records_at ON request_records (at);
CREATE INDEX request_records_state ON request_records (state) WHERE state <> '';

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
