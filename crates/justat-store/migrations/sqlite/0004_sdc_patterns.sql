-- Suppression patterns of the tables published from a cube and period (secret statistique):
-- every protection appends one, and the next protection of the same cube, period and measure
-- starts from the latest, so that later publications open no new differences.
CREATE TABLE sdc_patterns (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    cube_id     TEXT NOT NULL REFERENCES cubes(id),
    period      TEXT NOT NULL,
    measure     TEXT NOT NULL,
    dims        TEXT NOT NULL,
    cells       TEXT NOT NULL,
    summary     TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX sdc_patterns_cube ON sdc_patterns(cube_id, period, measure, id);
