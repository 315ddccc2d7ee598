-- Privileged access before a release: the nominative recipient list of each release (proposed
-- by a statistician, approved by the head of service), the embargo terms each recipient
-- accepted once, and when each list was exported for, and sent to, the Autorité de la
-- statistique publique. Every view and download of the embargo room is in the audit log.
CREATE TABLE embargo_lists (
    release_id   BIGINT PRIMARY KEY REFERENCES releases(id),
    status       TEXT NOT NULL,
    window_hours BIGINT NOT NULL,
    approved_by  TEXT,
    approved_at  TEXT,
    exported_at  TEXT,
    sent_at      TEXT
);

CREATE TABLE embargo_recipients (
    id            BIGSERIAL PRIMARY KEY,
    release_id    BIGINT NOT NULL REFERENCES releases(id),
    username      TEXT NOT NULL,
    name          TEXT NOT NULL,
    function      TEXT NOT NULL,
    organisation  TEXT NOT NULL,
    email         TEXT NOT NULL,
    justification TEXT NOT NULL,
    category      TEXT NOT NULL,
    added_by      TEXT NOT NULL,
    added_at      TEXT NOT NULL,
    UNIQUE (release_id, username)
);

-- Each recipient's own copy of a release's PDF, stamped with the embargo's end and their name.
CREATE TABLE embargo_copies (
    release_id  BIGINT NOT NULL REFERENCES releases(id),
    username    TEXT NOT NULL,
    version     BIGINT NOT NULL,
    sha256      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (release_id, username, version)
);

CREATE TABLE embargo_terms (
    username     TEXT PRIMARY KEY,
    accepted_at  TEXT NOT NULL
);
