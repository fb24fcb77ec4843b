-- Observability: request records, issues, admins of the admin UI with their
-- sessions, notification deliveries. The same tables and meaning as
-- SQLite's 0003_observe.sql: times are timestamptz with NULL for unset
-- (request_records.at, which windows and retention compare, is NOT NULL
-- with -infinity for unset), flags boolean, headers jsonb (a masked
-- name → value object, never served byte for byte).

-- One row per public request. seq orders rows as they were stored (an
-- identity: every replica draws from the one sequence); retention deletes
-- the lowest first.
CREATE TABLE request_records (
    seq                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id          text NOT NULL,
    at                  timestamptz NOT NULL,
    route               text NOT NULL,
    method              text NOT NULL,
    path                text NOT NULL,
    status              integer NOT NULL,
    duration_us         bigint NOT NULL,
    remote_addr         text NOT NULL DEFAULT '',
    user_agent          text NOT NULL DEFAULT '',
    client_id           text NOT NULL DEFAULT '',
    subject             text NOT NULL DEFAULT '',
    state               text NOT NULL DEFAULT '',
    oauth_session_id    text NOT NULL DEFAULT '',
    error               text NOT NULL DEFAULT '',
    error_description   text NOT NULL DEFAULT '',
    user_decision       boolean NOT NULL DEFAULT false,
    failure             boolean NOT NULL DEFAULT false,
    headers             jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX request_records_at ON request_records (at);
CREATE INDEX request_records_request_id ON request_records (request_id);
CREATE INDEX request_records_client ON request_records (client_id, at) WHERE client_id <> '';
CREATE INDEX request_records_subject ON request_records (subject, at) WHERE subject <> '';
CREATE INDEX request_records_state ON request_records (state) WHERE state <> '';
CREATE INDEX request_records_session ON request_records (oauth_session_id) WHERE oauth_session_id <> '';

-- At most one unresolved issue per key (resolved_at IS NULL while open).
CREATE TABLE issues (
    id              text PRIMARY KEY,
    issue_key       text NOT NULL,
    kind            text NOT NULL,
    route           text NOT NULL DEFAULT '',
    client_id       text NOT NULL DEFAULT '',
    error           text NOT NULL DEFAULT '',
    summary         text NOT NULL DEFAULT '',
    first_seen      timestamptz,
    last_seen       timestamptz,
    resolved_at     timestamptz,
    failures        bigint NOT NULL DEFAULT 0,
    requests        bigint NOT NULL DEFAULT 0,
    rate            double precision NOT NULL DEFAULT 0,
    peak_rate       double precision NOT NULL DEFAULT 0,
    updated_at      timestamptz
);
CREATE UNIQUE INDEX issues_open_key ON issues (issue_key) WHERE resolved_at IS NULL;
CREATE INDEX issues_last_seen ON issues (last_seen);

CREATE TABLE admins (
    username        text PRIMARY KEY,
    password_hash   text NOT NULL,
    created_at      timestamptz,
    updated_at      timestamptz
);

CREATE TABLE admin_sessions (
    id_hash     text PRIMARY KEY,
    username    text NOT NULL REFERENCES admins (username) ON DELETE CASCADE,
    created_at  timestamptz,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX admin_sessions_expires_at ON admin_sessions (expires_at);
CREATE INDEX admin_sessions_username ON admin_sessions (username);

-- One row per notification of an issue event to one channel.
CREATE TABLE deliveries (
    id              text PRIMARY KEY,
    issue_id        text NOT NULL REFERENCES issues (id),
    event           text NOT NULL,
    channel         text NOT NULL,
    target          text NOT NULL,
    status          text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    payload         bytea NOT NULL,
    created_at      timestamptz,
    updated_at      timestamptz,
    delivered_at    timestamptz
);
CREATE INDEX deliveries_issue ON deliveries (issue_id, created_at);
CREATE INDEX deliveries_status ON deliveries (status) WHERE status = 'pending';
