-- Data sources beyond Stripe (see migrations/sqlite/0005_providers.sql): optional mode, access token
-- expiry, and a version and lease that serialize renewals per connection.
ALTER TABLE connections ALTER COLUMN livemode DROP NOT NULL;
ALTER TABLE connections
    ADD COLUMN access_expires_at BIGINT,
    ADD COLUMN token_version BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN renewing_until BIGINT;

ALTER TABLE pending_installs ALTER COLUMN livemode DROP NOT NULL;
ALTER TABLE pending_installs ADD COLUMN access_expires_at BIGINT;

ALTER TABLE connect_attempts ADD COLUMN redirect_uri TEXT;
