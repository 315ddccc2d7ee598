-- The incident register of releases (early access, leak, late release). An incident is
-- reviewed once by the head of service; until then the collection's next release waits.
CREATE TABLE incidents (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    collection   TEXT NOT NULL,
    slug         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    description  TEXT NOT NULL,
    reported_by  TEXT NOT NULL,
    reported_at  TEXT NOT NULL,
    review       TEXT,
    reviewed_by  TEXT,
    reviewed_at  TEXT
);
CREATE INDEX incidents_collection ON incidents(collection, reviewed_at);
