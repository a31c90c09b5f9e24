-- A disconnected or revoked connection keeps its row and history but not its tokens, so the token
-- columns become optional; health checks are recorded. SQLite cannot relax NOT NULL in place.
CREATE TABLE connections_v2 (
    id                    TEXT PRIMARY KEY,
    provider              TEXT NOT NULL,
    account_id            TEXT NOT NULL,
    account_name          TEXT NOT NULL,
    livemode              BOOLEAN NOT NULL,
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
    UNIQUE (provider, account_id)
);

INSERT INTO connections_v2
SELECT id, provider, account_id, account_name, livemode, scope, status, access_token, refresh_token, publishable_key,
       connected_by_subject, connected_by_name, connected_at, updated_at, NULL
FROM connections;

DROP TABLE connections;
ALTER TABLE connections_v2 RENAME TO connections;

-- The audit trail: who did what to which account, when, and how it ended. Keyed by account rather
-- than row, so history outlives any one row.
CREATE TABLE connection_events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    provider       TEXT NOT NULL,
    account_id     TEXT NOT NULL DEFAULT '',
    action         TEXT NOT NULL,
    success        BOOLEAN NOT NULL,
    actor_subject  TEXT NOT NULL,
    actor_name     TEXT NOT NULL,
    detail         TEXT NOT NULL DEFAULT '',
    at             INTEGER NOT NULL
);

CREATE INDEX connection_events_account ON connection_events (provider, account_id, at);

-- Installs started at Stripe (no `state` of ours): exchanged, but linked only after an admin confirms.
CREATE TABLE pending_installs (
    id               TEXT PRIMARY KEY,
    provider         TEXT NOT NULL,
    session_subject  TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    account_name     TEXT NOT NULL,
    livemode         BOOLEAN NOT NULL,
    scope            TEXT NOT NULL,
    access_token     BLOB NOT NULL,
    refresh_token    BLOB,
    publishable_key  TEXT,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
);
