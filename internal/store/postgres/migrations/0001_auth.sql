-- Authorization server: clients, users, the state of authorization attempts,
-- grants with their refresh tokens, signing keys, server secrets, settings.
-- The same tables and meaning as SQLite's 0001_auth.sql, in PostgreSQL's
-- dialect: times are timestamptz with NULL for unset (SQLite's 0), lists are
-- text[] (never NULL; empty for none), flags are boolean, key material bytea.
-- expires_at is NOT NULL wherever garbage collection depends on it: a
-- short-lived row without an expiry is a bug, refused rather than kept forever.
-- Times that order keyset pages are NOT NULL too, with -infinity for unset.

CREATE TABLE clients (
    id                          text PRIMARY KEY,
    name                        text NOT NULL DEFAULT '',
    secret_hash                 text NOT NULL DEFAULT '',
    previous_secret_hash        text NOT NULL DEFAULT '',
    previous_secret_expires_at  timestamptz,
    public                      boolean NOT NULL DEFAULT false,
    redirect_uris               text[] NOT NULL DEFAULT '{}',
    grant_types                 text[] NOT NULL DEFAULT '{}',
    scopes                      text[] NOT NULL DEFAULT '{}',
    require_pkce                boolean NOT NULL DEFAULT false,
    account_selection           boolean NOT NULL DEFAULT false,
    rotate_refresh_tokens       boolean NOT NULL DEFAULT false,
    id_token_on_refresh         boolean NOT NULL DEFAULT false,
    rate_limit                  double precision NOT NULL DEFAULT 0,
    created_at                  timestamptz,
    updated_at                  timestamptz
);

CREATE TABLE users (
    id              text PRIMARY KEY,
    subject         text NOT NULL UNIQUE,
    username        text NOT NULL UNIQUE,
    password_hash   text NOT NULL DEFAULT '',
    name            text NOT NULL DEFAULT '',
    email           text NOT NULL DEFAULT '',
    email_verified  boolean NOT NULL DEFAULT false,
    disabled        boolean NOT NULL DEFAULT false,
    ineligible      boolean NOT NULL DEFAULT false,
    created_at      timestamptz,
    updated_at      timestamptz
);

CREATE TABLE auth_requests (
    id                      text PRIMARY KEY,
    oauth_session_id        text NOT NULL,
    client_id               text NOT NULL,
    redirect_uri            text NOT NULL,
    scopes                  text[] NOT NULL,
    state                   text NOT NULL,
    nonce                   text NOT NULL,
    code_challenge          text NOT NULL,
    code_challenge_method   text NOT NULL,
    prompt                  text[] NOT NULL,
    max_age                 bigint NOT NULL,
    login_hint              text NOT NULL,
    browser_binding_hash    text NOT NULL,
    csrf_token              text NOT NULL,
    user_id                 text NOT NULL,
    auth_time               timestamptz,
    created_at              timestamptz,
    expires_at              timestamptz NOT NULL
);
CREATE INDEX auth_requests_expires_at ON auth_requests (expires_at);

CREATE TABLE login_sessions (
    id_hash     text PRIMARY KEY,
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time   timestamptz,
    created_at  timestamptz,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX login_sessions_expires_at ON login_sessions (expires_at);
CREATE INDEX login_sessions_user_id ON login_sessions (user_id);

CREATE TABLE auth_codes (
    hash                    text PRIMARY KEY,
    grant_id                text NOT NULL UNIQUE,
    oauth_session_id        text NOT NULL,
    client_id               text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id                 text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject                 text NOT NULL,
    redirect_uri            text NOT NULL,
    scopes                  text[] NOT NULL,
    account_ids             text[] NOT NULL,
    account_selection       boolean NOT NULL,
    nonce                   text NOT NULL,
    state                   text NOT NULL,
    code_challenge          text NOT NULL,
    code_challenge_method   text NOT NULL,
    auth_time               timestamptz,
    created_at              timestamptz,
    expires_at              timestamptz NOT NULL,
    redeemed_at             timestamptz
);
CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);
CREATE INDEX auth_codes_client_id ON auth_codes (client_id);
CREATE INDEX auth_codes_user_id ON auth_codes (user_id);

CREATE TABLE grants (
    id                  text PRIMARY KEY,
    oauth_session_id    text NOT NULL,
    client_id           text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id             text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject             text NOT NULL,
    scopes              text[] NOT NULL,
    account_selection   boolean NOT NULL,
    account_ids         text[] NOT NULL,
    auth_time           timestamptz,
    created_at          timestamptz,
    expires_at          timestamptz NOT NULL,
    access_not_before   timestamptz,
    revoked_at          timestamptz,
    revoke_reason       text NOT NULL DEFAULT ''
);
CREATE INDEX grants_user_id ON grants (user_id);
CREATE INDEX grants_client_id ON grants (client_id);
CREATE INDEX grants_expires_at ON grants (expires_at);
CREATE INDEX grants_revoked_at ON grants (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE refresh_tokens (
    hash            text PRIMARY KEY,
    grant_id        text NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    client_id       text NOT NULL,
    created_at      timestamptz,
    expires_at      timestamptz NOT NULL,
    successor_hash  text NOT NULL DEFAULT '',
    rotated_at      timestamptz
);
CREATE INDEX refresh_tokens_grant_id ON refresh_tokens (grant_id);

CREATE TABLE signing_keys (
    id                      text PRIMARY KEY,
    algorithm               text NOT NULL,
    state                   text NOT NULL CHECK (state IN ('next', 'active', 'retired')),
    public_jwk              bytea NOT NULL,
    private_key_ciphertext  bytea NOT NULL,
    created_at              timestamptz,
    published_at            timestamptz,
    activated_at            timestamptz,
    retired_at              timestamptz,
    remove_after            timestamptz
);

CREATE TABLE server_secrets (
    name        text PRIMARY KEY,
    value       bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE settings (
    name        text PRIMARY KEY,
    value       text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The accounts a user can share. The FDX data migrations extend this table;
-- the authorization server reads only these columns for account selection.
CREATE TABLE accounts (
    id              text PRIMARY KEY,
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    category        text NOT NULL,
    account_type    text NOT NULL,
    product_name    text NOT NULL,
    nickname        text NOT NULL DEFAULT '',
    number_display  text NOT NULL DEFAULT '',
    status          text NOT NULL,
    -- Accounts are paged by (created_at, id) as a row value, which NULL
    -- would drop out of: an unset time is stored as -infinity instead, and
    -- sorts first as SQLite's 0 does.
    created_at      timestamptz NOT NULL
);
CREATE INDEX accounts_user_id ON accounts (user_id);
