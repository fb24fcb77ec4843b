-- FDX data: the rest of each account (details and contact as encoded FDX
-- JSON), transactions, statements with their PDFs, payment and
-- asset-transfer networks. The same tables and meaning as SQLite's
-- 0002_fdx.sql. Bodies are bytea kept byte for byte (never jsonb, which
-- would reorder keys): the FDX encoder wrote them at import and the API
-- serves them as they are.
-- Lists are read by keyset (the sort key of the last row): each table's
-- primary key is the order the API pages through, so a page is one index
-- range scan with no sort. Times that order pages (accounts.created_at,
-- fdx_transactions.at) are NOT NULL, -infinity for unset.

ALTER TABLE accounts ADD COLUMN product_id text NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN currency text NOT NULL DEFAULT 'USD';
ALTER TABLE accounts ADD COLUMN details bytea NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN contact bytea NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN updated_at timestamptz;

-- /accounts pages through a user's accounts by (created_at, id).
DROP INDEX accounts_user_id;
CREATE INDEX accounts_user_order ON accounts (user_id, created_at, id);

-- at: posted time, or the transaction time while pending.
CREATE TABLE fdx_transactions (
    account_id      text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    at              timestamptz NOT NULL,
    transaction_id  text NOT NULL,
    body            bytea NOT NULL,
    PRIMARY KEY (account_id, at, transaction_id)
);
CREATE UNIQUE INDEX fdx_transactions_id ON fdx_transactions (account_id, transaction_id);

-- statement_date: 'YYYY-MM-DD'. statement_id is unique across the provider.
CREATE TABLE fdx_statements (
    account_id      text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    statement_date  text NOT NULL,
    statement_id    text NOT NULL,
    description     text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, statement_date, statement_id)
);
CREATE UNIQUE INDEX fdx_statements_id ON fdx_statements (statement_id);

-- PDFs apart, so that listing statements never reads them.
CREATE TABLE fdx_statement_pdfs (
    statement_id    text PRIMARY KEY REFERENCES fdx_statements (statement_id) ON DELETE CASCADE,
    pdf             bytea NOT NULL
);

CREATE TABLE fdx_networks (
    account_id  text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('payment', 'asset_transfer')),
    position    integer NOT NULL,
    body        bytea NOT NULL,
    PRIMARY KEY (account_id, kind, position)
);
