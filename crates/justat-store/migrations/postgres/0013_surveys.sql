-- Surveys of justice actors: the register of surveyed units and their contacts, campaigns
-- and their samples, access codes (digests only), answers per question path, statuses,
-- paradata, edits, imputations and reminders. The histories (unit changes, status events,
-- saves, edits, reminders) are append-only: the database refuses to edit or delete a line.
CREATE TABLE survey_units (
    id               BIGSERIAL PRIMARY KEY,
    code             TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL,
    name             TEXT NOT NULL,
    court_of_appeal  TEXT,
    address          TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX survey_units_kind ON survey_units(kind, code);

-- A contact's name, e-mail and address are personal data: blanked (erased_at set) once the
-- retention after the last campaign that used them has passed.
CREATE TABLE survey_contacts (
    id          BIGSERIAL PRIMARY KEY,
    unit_id     BIGINT NOT NULL REFERENCES survey_units(id),
    name        TEXT NOT NULL,
    function    TEXT NOT NULL,
    email       TEXT NOT NULL,
    address     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    erased_at   TEXT
);
CREATE INDEX survey_contacts_unit ON survey_contacts(unit_id, id);

-- Who changed which fields of a unit or its contacts, when: field names only, never a
-- contact's values, so that erasing a contact leaves nothing of it here.
CREATE TABLE survey_unit_changes (
    id          BIGSERIAL PRIMARY KEY,
    unit_id     BIGINT NOT NULL REFERENCES survey_units(id),
    change      TEXT NOT NULL,
    fields      TEXT NOT NULL,
    source      TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  TEXT NOT NULL
);
CREATE INDEX survey_unit_changes_unit ON survey_unit_changes(unit_id, id);

CREATE TABLE survey_campaigns (
    id                      BIGSERIAL PRIMARY KEY,
    survey_id               TEXT NOT NULL,
    period                  TEXT NOT NULL,
    title                   TEXT NOT NULL,
    questionnaire_version   TEXT NOT NULL,
    questionnaire_sha256    TEXT NOT NULL,
    cnis_avis_date          TEXT,
    cnis_avis_reference     TEXT,
    label                   TEXT,
    visa_number             TEXT,
    visa_year               BIGINT,
    mandatory               BIGINT NOT NULL DEFAULT 0,
    opens_at                TEXT NOT NULL,
    closes_at               TEXT NOT NULL,
    reminder_days           TEXT NOT NULL,
    sample_method           TEXT,
    sample_kind             TEXT,
    sample_seed             TEXT,
    state                   TEXT NOT NULL,
    created_by              TEXT NOT NULL,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    UNIQUE (survey_id, period)
);

-- One line per sampled unit: its stratum, its access code's digest and its status now.
CREATE TABLE survey_sample (
    campaign_id   BIGINT NOT NULL REFERENCES survey_campaigns(id),
    unit_id       BIGINT NOT NULL REFERENCES survey_units(id),
    stratum       TEXT NOT NULL,
    code_sha256   TEXT UNIQUE,
    status        TEXT NOT NULL,
    status_at     TEXT NOT NULL,
    submitted_at  TEXT,
    PRIMARY KEY (campaign_id, unit_id)
);
CREATE INDEX survey_sample_unit ON survey_sample(unit_id);

CREATE TABLE survey_status_events (
    id           BIGSERIAL PRIMARY KEY,
    campaign_id  BIGINT NOT NULL,
    unit_id      BIGINT NOT NULL,
    previous     TEXT,
    status       TEXT NOT NULL,
    source       TEXT NOT NULL,
    set_by       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    at           TEXT NOT NULL,
    FOREIGN KEY (campaign_id, unit_id) REFERENCES survey_sample(campaign_id, unit_id)
);
CREATE INDEX survey_status_events_unit ON survey_status_events(campaign_id, unit_id, id);

-- The value of each question path: as collected (last save wins), as edited by a
-- statistician, as imputed (with its method). JSON text.
CREATE TABLE survey_answers (
    campaign_id        BIGINT NOT NULL,
    unit_id            BIGINT NOT NULL,
    path               TEXT NOT NULL,
    collected          TEXT,
    edited             TEXT,
    imputed            TEXT,
    imputation_method  TEXT,
    updated_at         TEXT NOT NULL,
    PRIMARY KEY (campaign_id, unit_id, path),
    FOREIGN KEY (campaign_id, unit_id) REFERENCES survey_sample(campaign_id, unit_id)
);

-- The warnings a respondent chose to keep (« Poursuivre »), by control, per page.
CREATE TABLE survey_kept_warnings (
    campaign_id  BIGINT NOT NULL,
    unit_id      BIGINT NOT NULL,
    page         TEXT NOT NULL,
    control      TEXT NOT NULL,
    kept_at      TEXT NOT NULL,
    PRIMARY KEY (campaign_id, unit_id, page, control),
    FOREIGN KEY (campaign_id, unit_id) REFERENCES survey_sample(campaign_id, unit_id)
);

-- Paradata: every save, with its session, page, time spent and the paths it changed.
CREATE TABLE survey_saves (
    id              BIGSERIAL PRIMARY KEY,
    campaign_id     BIGINT NOT NULL,
    unit_id         BIGINT NOT NULL,
    session         TEXT NOT NULL,
    page            TEXT NOT NULL,
    seconds         BIGINT NOT NULL,
    changed_paths   TEXT NOT NULL,
    kept_warnings   TEXT NOT NULL,
    saved_at        TEXT NOT NULL,
    FOREIGN KEY (campaign_id, unit_id) REFERENCES survey_sample(campaign_id, unit_id)
);
CREATE INDEX survey_saves_unit ON survey_saves(campaign_id, unit_id, id);

CREATE TABLE survey_edits (
    id           BIGSERIAL PRIMARY KEY,
    campaign_id  BIGINT NOT NULL,
    unit_id      BIGINT NOT NULL,
    path         TEXT NOT NULL,
    collected    TEXT,
    previous     TEXT,
    edited       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    edited_by    TEXT NOT NULL,
    edited_at    TEXT NOT NULL,
    FOREIGN KEY (campaign_id, unit_id) REFERENCES survey_sample(campaign_id, unit_id)
);
CREATE INDEX survey_edits_unit ON survey_edits(campaign_id, unit_id, id);

-- A reminder is sent once: the line is written in the transaction that decides to send it.
CREATE TABLE survey_reminders (
    campaign_id  BIGINT NOT NULL,
    unit_id      BIGINT NOT NULL,
    number       BIGINT NOT NULL,
    channel      TEXT NOT NULL,
    decided_by   TEXT NOT NULL,
    decided_at   TEXT NOT NULL,
    PRIMARY KEY (campaign_id, unit_id, number),
    FOREIGN KEY (campaign_id, unit_id) REFERENCES survey_sample(campaign_id, unit_id)
);
CREATE FUNCTION survey_history_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: a line of it is never edited or deleted', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER survey_unit_changes_no_update BEFORE UPDATE OR DELETE ON survey_unit_changes
FOR EACH ROW EXECUTE FUNCTION survey_history_refuse_change();
CREATE TRIGGER survey_unit_changes_no_truncate BEFORE TRUNCATE ON survey_unit_changes
FOR EACH STATEMENT EXECUTE FUNCTION survey_history_refuse_change();
CREATE TRIGGER survey_status_events_no_update BEFORE UPDATE OR DELETE ON survey_status_events
FOR EACH ROW EXECUTE FUNCTION survey_history_refuse_change();
CREATE TRIGGER survey_status_events_no_truncate BEFORE TRUNCATE ON survey_status_events
FOR EACH STATEMENT EXECUTE FUNCTION survey_history_refuse_change();
CREATE TRIGGER survey_saves_no_update BEFORE UPDATE OR DELETE ON survey_saves
FOR EACH ROW EXECUTE FUNCTION survey_history_refuse_change();
CREATE TRIGGER survey_saves_no_truncate BEFORE TRUNCATE ON survey_saves
FOR EACH STATEMENT EXECUTE FUNCTION survey_history_refuse_change();
CREATE TRIGGER survey_edits_no_update BEFORE UPDATE OR DELETE ON survey_edits
FOR EACH ROW EXECUTE FUNCTION survey_history_refuse_change();
CREATE TRIGGER survey_edits_no_truncate BEFORE TRUNCATE ON survey_edits
FOR EACH STATEMENT EXECUTE FUNCTION survey_history_refuse_change();
CREATE TRIGGER survey_reminders_no_update BEFORE UPDATE OR DELETE ON survey_reminders
FOR EACH ROW EXECUTE FUNCTION survey_history_refuse_change();
CREATE TRIGGER survey_reminders_no_truncate BEFORE TRUNCATE ON survey_reminders
FOR EACH STATEMENT EXECUTE FUNCTION survey_history_refuse_change();
