-- FDX data: the rest of each account (details and contact as encoded FDX
-- JSON), transactions, statements with their PDFs, payment and
-- asset-transfer networks. Bodies are BLOBs kept byte for byte: the FDX
-- encoder wrote them at import and the API serves them as they are.
-- Lists are read by keyset (the sort key of the last row), so each table is
-- clustered (WITHOUT ROWID) on the order the API pages through.

ALTER TABLE accounts ADD COLUMN product_id TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD';
ALTER TABLE accounts ADD COLUMN details BLOB NOT NULL DEFAULT x'';
ALTER TABLE accounts ADD COLUMN contact BLOB NOT NULL DEFAULT x'';
ALTER TABLE accounts ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;

-- /accounts pages through a user's accounts by (created_at, id).
DROP INDEX accounts_user_id;
CREATE INDEX accounts_user_order ON accounts (user_id, created_at, id);

-- at: posted time in microseconds, or the transaction time while pending.
CREATE TABLE fdx_transactions (
    account_id      TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    at              INTEGER NOT NULL,
    transaction_id  TEXT NOT NULL,
    body            BLOB NOT NULL,
    PRIMARY KEY (account_id, at, transaction_id)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX fdx_transactions_id ON fdx_transactions (account_id, transaction_id);

-- statement_date: 'YYYY-MM-DD'. statement_id is unique across the provider.
CREATE TABLE fdx_statements (
    account_id      TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    statement_date  TEXT NOT NULL,
    statement_id    TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, statement_date, statement_id)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX fdx_statements_id ON fdx_statements (statement_id);

-- PDFs apart, so that listing statements never reads them.
CREATE TABLE fdx_statement_pdfs (
    statement_id    TEXT PRIMARY KEY REFERENCES fdx_statements (statement_id) ON DELETE CASCADE,
    pdf             BLOB NOT NULL
) STRICT;

CREATE TABLE fdx_networks (
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('payment', 'asset_transfer')),
    position    INTEGER NOT NULL,
    body        BLOB NOT NULL,
    PRIMARY KEY (account_id, kind, position)
) STRICT, WITHOUT ROWID;
