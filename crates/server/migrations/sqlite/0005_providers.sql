-- Data sources beyond Stripe, and workspaces: test/live mode becomes optional (only Stripe has it),
-- access tokens get an expiry, renewals are serialized per connection by a version and a lease (a
-- rolling refresh token used twice is dead), and every row belongs to a workspace (the session's
-- `org`). Rows from before belong to the workspace 'default'. SQLite cannot relax NOT NULL or change
-- a UNIQUE constraint in place, so those tables are rebuilt.
CREATE TABLE connections_v3 (
    id                    TEXT PRIMARY KEY,
    workspace             TEXT NOT NULL,
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
    UNIQUE (workspace, provider, account_id)
);

CREATE INDEX connections_account ON connections_v3 (provider, account_id);

INSERT INTO connections_v3
SELECT id, 'default', provider, account_id, account_name, livemode, scope, status, access_token, refresh_token, publishable_key,
       connected_by_subject, connected_by_name, connected_at, updated_at, last_checked_at, NULL, 0, NULL
FROM connections;

DROP TABLE connections;
ALTER TABLE connections_v3 RENAME TO connections;

CREATE TABLE pending_installs_v2 (
    id                 TEXT PRIMARY KEY,
    workspace          TEXT NOT NULL,
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
SELECT id, 'default', provider, session_subject, account_id, account_name, livemode, scope, access_token, refresh_token, publishable_key,
       created_at, expires_at, NULL
FROM pending_installs;

DROP TABLE pending_installs;
ALTER TABLE pending_installs_v2 RENAME TO pending_installs;

-- The return address an attempt was started with: the generic dialect sends it again at the token
-- endpoint, where it must be identical.
ALTER TABLE connect_attempts ADD COLUMN redirect_uri TEXT;
ALTER TABLE connect_attempts ADD COLUMN workspace TEXT NOT NULL DEFAULT 'default';
ALTER TABLE connection_events ADD COLUMN workspace TEXT NOT NULL DEFAULT 'default';
CREATE INDEX connection_events_workspace ON connection_events (workspace, at);
CREATE INDEX connection_events_at ON connection_events (at);
ALTER TABLE rate_events ADD COLUMN workspace TEXT NOT NULL DEFAULT 'default';

-- Provider webhook events already acted on: a retried or replayed delivery is acknowledged and
-- ignored. Pruned after the providers' retry window.
CREATE TABLE webhook_events (
    provider     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    PRIMARY KEY (provider, event_id)
);

-- Work only one instance should do at a time (the background health check): who holds it, until when.
CREATE TABLE leases (
    name    TEXT PRIMARY KEY,
    holder  TEXT NOT NULL,
    until   INTEGER NOT NULL
);
