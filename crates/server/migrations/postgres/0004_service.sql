-- Handing connections to the product's backends (issue "service API, outgoing webhooks, data-access
-- check"). The outbox holds each outgoing webhook event, written in the same transaction as the
-- change it announces and delivered by a worker; times in unix milliseconds (retries start at
-- fractions of a second in tests). `data_checks` keeps the last data-access check per table.
CREATE TABLE webhook_outbox (
    id               BIGSERIAL PRIMARY KEY,            -- delivery order within a connection
    message_id       TEXT NOT NULL UNIQUE,              -- `webhook-id`, the same on every attempt
    workspace        TEXT NOT NULL,
    connection_id    TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    created_ms       BIGINT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms  BIGINT NOT NULL,
    locked_until_ms  BIGINT,                           -- an instance is delivering it until then
    last_attempt_ms  BIGINT,
    last_error       TEXT,
    delivered_ms     BIGINT,
    failed_ms        BIGINT                            -- retries given up; an admin may retry
);

CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_ms) WHERE delivered_ms IS NULL AND failed_ms IS NULL;
CREATE INDEX webhook_outbox_connection ON webhook_outbox (connection_id, id);

CREATE TABLE data_checks (
    connection_id  TEXT NOT NULL,
    position       BIGINT NOT NULL,                    -- the provider's order of its tables
    table_name     TEXT NOT NULL,
    access         TEXT NOT NULL,                       -- readable | permission_missing | token_refused | unavailable | not_checkable
    reason         TEXT,
    newest_at      BIGINT,                             -- unix seconds of the newest object read
    checked_at     BIGINT NOT NULL,
    PRIMARY KEY (connection_id, table_name)
);

ALTER TABLE connections ADD COLUMN last_data_at BIGINT;
