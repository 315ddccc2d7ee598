-- The respondent portal's sessions: an opaque random token in the cookie, only its SHA-256
-- stored, for one sampled unit of one campaign. Deleted at logout and once expired.
CREATE TABLE survey_sessions (
    token_hash    TEXT PRIMARY KEY,
    campaign_id   BIGINT NOT NULL,
    unit_id       BIGINT NOT NULL,
    csrf_token    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    FOREIGN KEY (campaign_id, unit_id) REFERENCES survey_sample(campaign_id, unit_id)
);
CREATE INDEX survey_sessions_unit ON survey_sessions(campaign_id, unit_id);
