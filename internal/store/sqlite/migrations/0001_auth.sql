-- Authorization server: clients, users, the state of authorization attempts,
-- grants with their refresh tokens, signing keys, server secrets, settings.
-- Times are INTEGER microseconds since the Unix epoch (UTC); 0 means unset.
-- Lists are JSON arrays of strings.

CREATE TABLE clients (
    id                          TEXT PRIMARY KEY,
    name                        TEXT NOT NULL DEFAULT '',
    secret_hash                 TEXT NOT NULL DEFAULT '',
    previous_secret_hash        TEXT NOT NULL DEFAULT '',
    previous_secret_expires_at  INTEGER NOT NULL DEFAULT 0,
    public                      INTEGER NOT NULL DEFAULT 0,
    redirect_uris               TEXT NOT NULL DEFAULT '[]',
    grant_types                 TEXT NOT NULL DEFAULT '[]',
    scopes                      TEXT NOT NULL DEFAULT '[]',
    require_pkce                INTEGER NOT NULL DEFAULT 0,
    account_selection           INTEGER NOT NULL DEFAULT 0,
    rotate_refresh_tokens       INTEGER NOT NULL DEFAULT 0,
    id_token_on_refresh         INTEGER NOT NULL DEFAULT 0,
    rate_limit                  REAL NOT NULL DEFAULT 0,
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    subject         TEXT NOT NULL UNIQUE,
    username        TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL DEFAULT '',
    name            TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    email_verified  INTEGER NOT NULL DEFAULT 0,
    disabled        INTEGER NOT NULL DEFAULT 0,
    ineligible      INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE auth_requests (
    id                      TEXT PRIMARY KEY,
    oauth_session_id        TEXT NOT NULL,
    client_id               TEXT NOT NULL,
    redirect_uri            TEXT NOT NULL,
    scopes                  TEXT NOT NULL,
    state                   TEXT NOT NULL,
    nonce                   TEXT NOT NULL,
    code_challenge          TEXT NOT NULL,
    code_challenge_method   TEXT NOT NULL,
    prompt                  TEXT NOT NULL,
    max_age                 INTEGER NOT NULL,
    login_hint              TEXT NOT NULL,
    browser_binding_hash    TEXT NOT NULL,
    csrf_token              TEXT NOT NULL,
    user_id                 TEXT NOT NULL,
    auth_time               INTEGER NOT NULL,
    created_at              INTEGER NOT NULL,
    expires_at              INTEGER NOT NULL
) STRICT;
CREATE INDEX auth_requests_expires_at ON auth_requests (expires_at);

CREATE TABLE login_sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX login_sessions_expires_at ON login_sessions (expires_at);

CREATE TABLE auth_codes (
    hash                    TEXT PRIMARY KEY,
    grant_id                TEXT NOT NULL UNIQUE,
    oauth_session_id        TEXT NOT NULL,
    client_id               TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id                 TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject                 TEXT NOT NULL,
    redirect_uri            TEXT NOT NULL,
    scopes                  TEXT NOT NULL,
    account_ids             TEXT NOT NULL,
    account_selection       INTEGER NOT NULL,
    nonce                   TEXT NOT NULL,
    state                   TEXT NOT NULL,
    code_challenge          TEXT NOT NULL,
    code_challenge_method   TEXT NOT NULL,
    auth_time               INTEGER NOT NULL,
    created_at              INTEGER NOT NULL,
    expires_at              INTEGER NOT NULL,
    redeemed_at             INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);

CREATE TABLE grants (
    id                  TEXT PRIMARY KEY,
    oauth_session_id    TEXT NOT NULL,
    client_id           TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject             TEXT NOT NULL,
    scopes              TEXT NOT NULL,
    account_selection   INTEGER NOT NULL,
    account_ids         TEXT NOT NULL,
    auth_time           INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    access_not_before   INTEGER NOT NULL DEFAULT 0,
    revoked_at          INTEGER NOT NULL DEFAULT 0,
    revoke_reason       TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX grants_user_id ON grants (user_id);
CREATE INDEX grants_client_id ON grants (client_id);
CREATE INDEX grants_expires_at ON grants (expires_at);

CREATE TABLE refresh_tokens (
    hash            TEXT PRIMARY KEY,
    grant_id        TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    successor_hash  TEXT NOT NULL DEFAULT '',
    rotated_at      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX refresh_tokens_grant_id ON refresh_tokens (grant_id);

CREATE TABLE signing_keys (
    id                      TEXT PRIMARY KEY,
    algorithm               TEXT NOT NULL,
    state                   TEXT NOT NULL CHECK (state IN ('next', 'active', 'retired')),
    public_jwk              BLOB NOT NULL,
    private_key_ciphertext  BLOB NOT NULL,
    created_at              INTEGER NOT NULL,
    published_at            INTEGER NOT NULL,
    activated_at            INTEGER NOT NULL DEFAULT 0,
    retired_at              INTEGER NOT NULL DEFAULT 0,
    remove_after            INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE server_secrets (
    name        TEXT PRIMARY KEY,
    value       BLOB NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE settings (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

-- The accounts a user can share. The FDX data migrations extend this table;
-- the authorization server reads only these columns for account selection.
CREATE TABLE accounts (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    category        TEXT NOT NULL,
    account_type    TEXT NOT NULL,
    product_name    TEXT NOT NULL,
    nickname        TEXT NOT NULL DEFAULT '',
    number_display  TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX accounts_user_id ON accounts (user_id);
