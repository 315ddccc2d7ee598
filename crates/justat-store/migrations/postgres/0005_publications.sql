-- Publications and their versions. A version is rebuilt while it is a draft, frozen (content
-- hash) once approved, and never modified once released: a correction is a new version, and the
-- one it replaces becomes "corrected" but stays readable at its own address.
CREATE TABLE publications (
    id          BIGSERIAL PRIMARY KEY,
    collection  TEXT NOT NULL,
    slug        TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (collection, slug)
);

CREATE TABLE publication_versions (
    id              BIGSERIAL PRIMARY KEY,
    publication_id  BIGINT NOT NULL REFERENCES publications(id),
    version         BIGINT NOT NULL,
    state           TEXT NOT NULL,
    number          TEXT NOT NULL,
    title           TEXT NOT NULL,
    summary         TEXT NOT NULL,
    theme           TEXT NOT NULL,
    period          TEXT NOT NULL,
    authors         TEXT NOT NULL,
    keywords        TEXT NOT NULL,
    erratum         TEXT,
    html            TEXT NOT NULL,
    sources         TEXT NOT NULL,
    figures         TEXT NOT NULL,
    provenance      TEXT NOT NULL,
    files           TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    built_by        TEXT NOT NULL,
    built_at        TEXT NOT NULL,
    approved_by     TEXT,
    approved_at     TEXT,
    released_at     TEXT,
    UNIQUE (publication_id, version)
);
CREATE INDEX publication_versions_state ON publication_versions(state, released_at);
