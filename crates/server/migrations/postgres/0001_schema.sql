-- The same schema as migrations/sqlite/0001..0003, for PostgreSQL. Times are unix seconds; booleans are
-- 0/1 integers, as on SQLite, so one set of queries serves both through sqlx's Any driver.

CREATE TABLE connect_attempts (
    state            TEXT PRIMARY KEY,
    provider         TEXT NOT NULL,
    session_subject  TEXT NOT NULL,
    code_challenge   TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    consumed_at      BIGINT
);

CREATE INDEX connect_attempts_expires_at ON connect_attempts (expires_at);

CREATE TABLE connections (
    id                    TEXT PRIMARY KEY,
    provider              TEXT NOT NULL,
    account_id            TEXT NOT NULL,
    account_name          TEXT NOT NULL,
    livemode              BIGINT NOT NULL CHECK (livemode IN (0, 1)),
    scope                 TEXT NOT NULL,
    status                TEXT NOT NULL,
    access_token          BYTEA,
    refresh_token         BYTEA,
    publishable_key       TEXT,
    connected_by_subject  TEXT NOT NULL,
    connected_by_name     TEXT NOT NULL,
    connected_at          BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    last_checked_at       BIGINT,
    UNIQUE (provider, account_id)
);

CREATE TABLE rate_events (
    subject  TEXT NOT NULL,
    action   TEXT NOT NULL,
    at       BIGINT NOT NULL
);

CREATE INDEX rate_events_lookup ON rate_events (subject, action, at);

CREATE TABLE connection_events (
    id             BIGSERIAL PRIMARY KEY,
    provider       TEXT NOT NULL,
    account_id     TEXT NOT NULL DEFAULT '',
    action         TEXT NOT NULL,
    success        BIGINT NOT NULL CHECK (success IN (0, 1)),
    actor_subject  TEXT NOT NULL,
    actor_name     TEXT NOT NULL,
    detail         TEXT NOT NULL DEFAULT '',
    at             BIGINT NOT NULL
);

CREATE INDEX connection_events_account ON connection_events (provider, account_id, at);

CREATE TABLE pending_installs (
    id               TEXT PRIMARY KEY,
    provider         TEXT NOT NULL,
    session_subject  TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    account_name     TEXT NOT NULL,
    livemode         BIGINT NOT NULL CHECK (livemode IN (0, 1)),
    scope            TEXT NOT NULL,
    access_token     BYTEA NOT NULL,
    refresh_token    BYTEA,
    publishable_key  TEXT,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL
);
