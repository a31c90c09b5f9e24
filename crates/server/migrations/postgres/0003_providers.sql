-- Data sources beyond Stripe, and workspaces (see migrations/sqlite/0005_providers.sql): optional mode,
-- access token expiry, a version and lease that serialize renewals per connection, and a workspace on
-- every row ('default' for rows from before).
ALTER TABLE connections ALTER COLUMN livemode DROP NOT NULL;
ALTER TABLE connections
    ADD COLUMN access_expires_at BIGINT,
    ADD COLUMN token_version BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN renewing_until BIGINT;

ALTER TABLE pending_installs ALTER COLUMN livemode DROP NOT NULL;
ALTER TABLE pending_installs ADD COLUMN access_expires_at BIGINT;

ALTER TABLE connect_attempts ADD COLUMN redirect_uri TEXT;

ALTER TABLE connections ADD COLUMN workspace TEXT NOT NULL DEFAULT 'default';
ALTER TABLE connections DROP CONSTRAINT connections_provider_account_id_key;
ALTER TABLE connections ADD CONSTRAINT connections_workspace_account UNIQUE (workspace, provider, account_id);
CREATE INDEX connections_account ON connections (provider, account_id);
ALTER TABLE pending_installs ADD COLUMN workspace TEXT NOT NULL DEFAULT 'default';
ALTER TABLE connect_attempts ADD COLUMN workspace TEXT NOT NULL DEFAULT 'default';
ALTER TABLE connection_events ADD COLUMN workspace TEXT NOT NULL DEFAULT 'default';
CREATE INDEX connection_events_workspace ON connection_events (workspace, at);
CREATE INDEX connection_events_at ON connection_events (at);
ALTER TABLE rate_events ADD COLUMN workspace TEXT NOT NULL DEFAULT 'default';

CREATE TABLE webhook_events (
    provider     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (provider, event_id)
);

CREATE TABLE leases (
    name    TEXT PRIMARY KEY,
    holder  TEXT NOT NULL,
    until   BIGINT NOT NULL
);
