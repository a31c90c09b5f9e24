-- A counter every write to `connections` bumps in its own transaction, so an instance can tell with a
-- one-row read whether a list it has cached is still current.
CREATE TABLE revisions (
    name   TEXT PRIMARY KEY,
    value  BIGINT NOT NULL
);

INSERT INTO revisions (name, value) VALUES ('connections', 0);
