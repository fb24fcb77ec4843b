-- Request records, in a database file of their own beside the main one
-- (fdxd.db → fdxd-records.db): every public request writes a row here, and
-- a write to the main file would make every reader of it drop its page
-- cache. Times are INTEGER microseconds since the Unix epoch (UTC).

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
