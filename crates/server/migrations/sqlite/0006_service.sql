-- Handing connections to the product's backends (issue "service API, outgoing webhooks, data-access
-- check"). The outbox holds each outgoing webhook event, written in the same transaction as the
-- change it announces and delivered by a worker; times in unix milliseconds (retries start at
-- fractions of a second in tests). `data_checks` keeps the last data-access check per table.
CREATE TABLE webhook_outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT, -- delivery order within a connection
    message_id       TEXT NOT NULL UNIQUE,              -- `webhook-id`, the same on every attempt
    workspace        TEXT NOT NULL,
    connection_id    TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    created_ms       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms  INTEGER NOT NULL,
    locked_until_ms  INTEGER,                           -- an instance is delivering it until then
    last_attempt_ms  INTEGER,
    last_error       TEXT,
    delivered_ms     INTEGER,
    failed_ms        INTEGER                            -- retries given up; an admin may retry
);

CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_ms) WHERE delivered_ms IS NULL AND failed_ms IS NULL;
CREATE INDEX webhook_outbox_connection ON webhook_outbox (connection_id, id);

CREATE TABLE data_checks (
    connection_id  TEXT NOT NULL,
    position       INTEGER NOT NULL,                    -- the provider's order of its tables
    table_name     TEXT NOT NULL,
    access         TEXT NOT NULL,                       -- readable | permission_missing | token_refused | unavailable | not_checkable
    reason         TEXT,
    newest_at      INTEGER,                             -- unix seconds of the newest object read
    checked_at     INTEGER NOT NULL,
    PRIMARY KEY (connection_id, table_name)
);

ALTER TABLE connections ADD COLUMN last_data_at INTEGER;
