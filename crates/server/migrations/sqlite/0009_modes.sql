-- Stripe's modes (issue 22): a Stripe App may have a client (secret key, install link, webhook
-- secret) per mode, and a code is exchanged, and its grant refreshed, only with its mode's key. The
-- mode goes with the attempt, the pending install and the connection: `live`, `test` or `sandbox`;
-- NULL where one client serves every mode (or for rows made before modes).
ALTER TABLE connect_attempts ADD COLUMN mode TEXT;
ALTER TABLE pending_installs ADD COLUMN mode TEXT;
ALTER TABLE connections ADD COLUMN mode TEXT;
