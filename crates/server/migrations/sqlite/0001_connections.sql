-- Pending connect attempts: one per "Connect with Stripe" click, consumed once by the grant.
CREATE TABLE connect_attempts (
    state            TEXT PRIMARY KEY,
    provider         TEXT NOT NULL,
    session_subject  TEXT NOT NULL,
    code_challenge   TEXT NOT NULL,
    created_at       INTEGER NOT NULL, -- unix seconds
    expires_at       INTEGER NOT NULL,
    consumed_at      INTEGER
);

CREATE INDEX connect_attempts_expires_at ON connect_attempts (expires_at);

-- One row per connected provider account. Tokens are AES-256-GCM ciphertext, never plain text.
CREATE TABLE connections (
    id                    TEXT PRIMARY KEY,
    provider              TEXT NOT NULL,
    account_id            TEXT NOT NULL,
    account_name          TEXT NOT NULL,
    livemode              BOOLEAN NOT NULL,
    scope                 TEXT NOT NULL,
    status                TEXT NOT NULL,
    access_token          BLOB NOT NULL,
    refresh_token         BLOB,
    publishable_key       TEXT,
    connected_by_subject  TEXT NOT NULL,
    connected_by_name     TEXT NOT NULL,
    connected_at          INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    UNIQUE (provider, account_id)
);
