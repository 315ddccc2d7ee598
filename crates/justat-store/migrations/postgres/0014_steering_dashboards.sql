-- Steering dashboards. An account of role `administration` belongs to one administration
-- of the ministry (DACG, DPJJ, SADJAV…) and sees only its dashboards; other accounts have none.
ALTER TABLE users ADD COLUMN administration TEXT;

-- An indicator's protected table for one time granularity, computed by the job worker (or the
-- demo) from the latest cube of its chain, never by the web server: rows are areas, columns
-- periods; `content` holds the table, its latest values and one chart per area (JSON), and
-- `csv` / `xlsx_hex` the downloads. Replaced whole when a newer cube is computed.
CREATE TABLE dashboard_tables (
    indicator         TEXT   NOT NULL,
    granularity       TEXT   NOT NULL,
    indicator_version BIGINT NOT NULL,
    cube_id           TEXT   NOT NULL,
    computed_at       TEXT   NOT NULL,
    content           TEXT   NOT NULL,
    csv               TEXT   NOT NULL,
    xlsx_hex          TEXT   NOT NULL,
    PRIMARY KEY (indicator, granularity)
);
