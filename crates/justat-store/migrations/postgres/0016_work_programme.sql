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
    id          BIGSERIAL PRIMARY KEY,
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
    id          BIGSERIAL PRIMARY KEY,
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
    id          BIGSERIAL PRIMARY KEY,
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
CREATE FUNCTION programme_changes_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: a line of it is never edited or deleted', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER programme_changes_no_update BEFORE UPDATE OR DELETE ON programme_changes
FOR EACH ROW EXECUTE FUNCTION programme_changes_refuse_change();
CREATE TRIGGER programme_changes_no_truncate BEFORE TRUNCATE ON programme_changes
FOR EACH STATEMENT EXECUTE FUNCTION programme_changes_refuse_change();
