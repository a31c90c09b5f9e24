-- Requests counted for rate limiting, per session subject and action. Kept in the database (not in
-- memory) so the limit holds across server instances.
CREATE TABLE rate_events (
    subject  TEXT NOT NULL,
    action   TEXT NOT NULL,
    at       INTEGER NOT NULL -- unix seconds
);

CREATE INDEX rate_events_lookup ON rate_events (subject, action, at);
