-- Deliveries of the management applications, chain runs and the cubes they produce.
CREATE TABLE deliveries (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    source             TEXT   NOT NULL,
    source_version     BIGINT NOT NULL,
    file_name          TEXT   NOT NULL,
    sha256             TEXT   NOT NULL UNIQUE,
    size_bytes         BIGINT NOT NULL,
    format             TEXT   NOT NULL,
    status             TEXT   NOT NULL,
    rows_read          BIGINT NOT NULL,
    rows_ok            BIGINT NOT NULL,
    rows_rejected      BIGINT NOT NULL,
    staging_sha256     TEXT,
    quarantine_sha256  TEXT,
    report             TEXT   NOT NULL,
    received_at        TEXT   NOT NULL,
    received_by        TEXT   NOT NULL
);
CREATE INDEX deliveries_source ON deliveries(source);

CREATE TABLE cubes (
    id         TEXT   PRIMARY KEY,
    chain      TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    rows       BIGINT NOT NULL,
    schema     TEXT   NOT NULL,
    created_at TEXT   NOT NULL
);

CREATE TABLE chain_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    chain         TEXT   NOT NULL,
    chain_version BIGINT NOT NULL,
    chain_sha256  TEXT   NOT NULL,
    status        TEXT   NOT NULL,
    error         TEXT,
    cube_id       TEXT   REFERENCES cubes(id),
    manifest      TEXT   NOT NULL,
    started_at    TEXT   NOT NULL,
    finished_at   TEXT   NOT NULL,
    run_by        TEXT   NOT NULL
);

CREATE TABLE chain_run_inputs (
    run_id      BIGINT NOT NULL REFERENCES chain_runs(id),
    delivery_id BIGINT NOT NULL REFERENCES deliveries(id),
    PRIMARY KEY (run_id, delivery_id)
);
