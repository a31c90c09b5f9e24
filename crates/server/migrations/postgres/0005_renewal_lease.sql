-- Renewals that must not die (see migrations/sqlite/0007_renewal_lease.sql): a lease timed by the
-- database's clock and fenced by its holder's id, when the refresh token was last used (keep-alive),
-- and the account-wide revocations this server made itself.
ALTER TABLE connections
    ADD COLUMN renewal_holder TEXT,
    ADD COLUMN refresh_used_at BIGINT;

CREATE TABLE own_revocations (
    provider    TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (provider, account_id)
);
