-- The release calendar: one release per publication (collection, slug), announced provisional
-- (a month) or confirmed (an instant), then published or cancelled. Its public history of
-- changes is append-only: the database refuses to edit or delete a line of it.
CREATE TABLE releases (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    uid            TEXT NOT NULL UNIQUE,
    collection     TEXT NOT NULL,
    slug           TEXT NOT NULL,
    title          TEXT NOT NULL,
    status         TEXT NOT NULL,
    month          TEXT,
    release_at     TEXT,
    sequence       BIGINT NOT NULL,
    notice         TEXT,
    justification  TEXT,
    published_at   TEXT,
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (collection, slug)
);
CREATE INDEX releases_status ON releases(status, release_at);

CREATE TABLE release_changes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    release_id   BIGINT NOT NULL REFERENCES releases(id),
    previous     TEXT NOT NULL,
    new          TEXT NOT NULL,
    reason       TEXT NOT NULL,
    changed_by   TEXT NOT NULL,
    changed_at   TEXT NOT NULL
);
CREATE INDEX release_changes_release ON release_changes(release_id, id);
CREATE TRIGGER release_changes_no_update BEFORE UPDATE ON release_changes
BEGIN SELECT RAISE(ABORT, 'release_changes is append-only: the public history of a release is never edited'); END;
CREATE TRIGGER release_changes_no_delete BEFORE DELETE ON release_changes
BEGIN SELECT RAISE(ABORT, 'release_changes is append-only: the public history of a release is never deleted'); END;
