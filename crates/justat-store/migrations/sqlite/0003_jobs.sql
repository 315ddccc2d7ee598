-- Long work asked for in the back office (a delivery check, a chain run): the web writes a
-- job, the job runner of the server executes it and records its progress and outcome.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    params      TEXT NOT NULL,
    status      TEXT NOT NULL,
    progress    TEXT NOT NULL,
    result      TEXT,
    error       TEXT,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT
);
CREATE INDEX jobs_status ON jobs(status, id);
