-- Connect links (issue 23): a link lets the account owner, who may not be a BI admin, connect one
-- provider for one workspace. Only the SHA-256 of its token is stored. Times in unix seconds.
CREATE TABLE connect_links (
    id                  TEXT PRIMARY KEY,
    token_hash          TEXT NOT NULL UNIQUE,
    workspace           TEXT NOT NULL,
    workspace_name      TEXT NOT NULL,
    provider            TEXT NOT NULL,
    connection_id       TEXT,              -- a reconnect link: the connection it must end on
    created_by_subject  TEXT NOT NULL,
    created_by_name     TEXT NOT NULL,
    note                TEXT,
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    revoked_at          INTEGER,
    used_at             INTEGER,
    used_by_connection  TEXT,
    expiry_recorded     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX connect_links_by_workspace ON connect_links (workspace, created_at);
