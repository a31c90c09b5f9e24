-- Data sources beyond Stripe: test/live mode becomes optional (only Stripe has it), access tokens get
-- an expiry, and renewals are serialized per connection by a version and a lease (a rolling refresh
-- token used twice is dead). SQLite cannot relax NOT NULL in place, so the tables are rebuilt.
CREATE TABLE connections_v3 (
    id                    TEXT PRIMARY KEY,
    provider              TEXT NOT NULL,
    account_id            TEXT NOT NULL,
    account_name          TEXT NOT NULL,
    livemode              BOOLEAN,
    scope                 TEXT NOT NULL,
    status                TEXT NOT NULL,
    access_token          BLOB,
    refresh_token         BLOB,
    publishable_key       TEXT,
    connected_by_subject  TEXT NOT NULL,
    connected_by_name     TEXT NOT NULL,
    connected_at          INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    last_checked_at       INTEGER,
    access_expires_at     INTEGER,           -- unix seconds; NULL: the provider's tokens don't expire
    token_version         INTEGER NOT NULL DEFAULT 0, -- bumped by every token write
    renewing_until        INTEGER,           -- a renewal is under way until then (a lease)
    UNIQUE (provider, account_id)
);

INSERT INTO connections_v3
SELECT id, provider, account_id, account_name, livemode, scope, status, access_token, refresh_token, publishable_key,
       connected_by_subject, connected_by_name, connected_at, updated_at, last_checked_at, NULL, 0, NULL
FROM connections;

DROP TABLE connections;
ALTER TABLE connections_v3 RENAME TO connections;

CREATE TABLE pending_installs_v2 (
    id                 TEXT PRIMARY KEY,
    provider           TEXT NOT NULL,
    session_subject    TEXT NOT NULL,
    account_id         TEXT NOT NULL,
    account_name       TEXT NOT NULL,
    livemode           BOOLEAN,
    scope              TEXT NOT NULL,
    access_token       BLOB NOT NULL,
    refresh_token      BLOB,
    publishable_key    TEXT,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    access_expires_at  INTEGER
);

INSERT INTO pending_installs_v2
SELECT id, provider, session_subject, account_id, account_name, livemode, scope, access_token, refresh_token, publishable_key,
       created_at, expires_at, NULL
FROM pending_installs;

DROP TABLE pending_installs;
ALTER TABLE pending_installs_v2 RENAME TO pending_installs;

-- The return address an attempt was started with: the generic dialect sends it again at the token
-- endpoint, where it must be identical.
ALTER TABLE connect_attempts ADD COLUMN redirect_uri TEXT;
