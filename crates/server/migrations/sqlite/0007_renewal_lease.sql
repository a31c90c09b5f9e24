-- Renewals that must not die (issue 20). The renewal lease (`renewing_until`) is now timed by the
-- database's clock, never an instance's, and fenced by the id of the renewal that holds it: storing,
-- refusing or releasing needs that id, so a renewal whose lease was taken over cannot write. And
-- when the refresh token was last used (or issued), so idle connections are renewed before their
-- refresh token ages out; NULL for rows from before, read as their `connected_at`.
ALTER TABLE connections ADD COLUMN renewal_holder TEXT;
ALTER TABLE connections ADD COLUMN refresh_used_at INTEGER;

-- Authorizations this server withdrew at a provider for a whole account (Stripe Connect's
-- deauthorize): the provider's webhook that follows is ours, not the account owner's doing.
CREATE TABLE own_revocations (
    provider    TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (provider, account_id)
);
