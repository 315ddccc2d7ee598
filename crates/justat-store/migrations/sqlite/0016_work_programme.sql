-- The work programme of each year (issue 26): the synthesis, the operations and the Cnis's
-- opinions as they stand now, and their history, append-only: every edit keeps who made it,
-- when, and the whole value before and after, so nothing is ever rewritten.
CREATE TABLE programme_years (
    year        BIGINT PRIMARY KEY,
    synthesis   TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- An operation as it stands: its value is the model's `programme::Operation` as JSON; the
-- columns beside it are what lists are sorted and filtered by.
CREATE TABLE programme_operations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    year        BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX programme_operations_year ON programme_operations(year, id);

-- An opinion of the Cnis as it stands (`programme::Opinion` as JSON, its answering
-- operations included).
CREATE TABLE cnis_opinions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    year        BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX cnis_opinions_year ON cnis_opinions(year, id);

-- Every edit of a programme: what was edited (synthesis, operation n, opinion n), the value
-- before (none at creation) and after, who and when.
CREATE TABLE programme_changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    year        BIGINT NOT NULL,
    object      TEXT NOT NULL,
    object_id   BIGINT,
    change      TEXT NOT NULL,
    before      TEXT,
    after       TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  TEXT NOT NULL
);
CREATE INDEX programme_changes_year ON programme_changes(year, id);

-- The PDF of a year's programme, typeset by the worker after an edit: the latest change it
-- shows, and its file in the lake.
CREATE TABLE programme_pdfs (
    year        BIGINT NOT NULL,
    revision    BIGINT NOT NULL,
    sha256      TEXT NOT NULL,
    made_at     TEXT NOT NULL,
    PRIMARY KEY (year, revision)
);
CREATE TRIGGER programme_changes_no_update BEFORE UPDATE ON programme_changes
BEGIN SELECT RAISE(ABORT, 'programme_changes is append-only: a line of it is never edited'); END;
CREATE TRIGGER programme_changes_no_delete BEFORE DELETE ON programme_changes
BEGIN SELECT RAISE(ABORT, 'programme_changes is append-only: a line of it is never deleted'); END;
