-- A version released on its publication's calendar release keeps no instant of its own: it is
-- marked `on_release` and its public instant is the release's, read through `dated_versions`.
-- A move of the release moves every version on it, a cancellation withdraws them all, and no
-- write can give one of them an instant that differs from the release's (the checks refuse it).
-- A version released outside the calendar (no release, or a correction after the release was
-- published) keeps its own `released_at`. A version that is not released has no instant.
ALTER TABLE publication_versions ADD COLUMN on_release INTEGER NOT NULL DEFAULT 0;

-- Versions released before this migration: one whose instant falls after its release was
-- announced, up to the release's instant (or at any time while the release is not published),
-- was scheduled on it. Those whose copy of the instant had drifted from a moved or cancelled
-- release take the release's.
UPDATE publication_versions SET on_release = 1, released_at = NULL
WHERE state IN ('released', 'corrected') AND released_at IS NOT NULL AND EXISTS (
    SELECT 1 FROM publications p JOIN releases r ON r.collection = p.collection AND r.slug = p.slug
    WHERE p.id = publication_versions.publication_id
      AND publication_versions.released_at >= r.created_at
      AND (r.status <> 'published' OR publication_versions.released_at <= r.release_at)
);

ALTER TABLE publication_versions
    ADD CONSTRAINT publication_versions_on_release_flag CHECK (on_release IN (0, 1)),
    ADD CONSTRAINT publication_versions_one_instant CHECK (on_release = 0 OR released_at IS NULL),
    ADD CONSTRAINT publication_versions_on_release_released CHECK (on_release = 0 OR state IN ('released', 'corrected')),
    ADD CONSTRAINT publication_versions_instant_released CHECK (released_at IS NULL OR state IN ('released', 'corrected'));

-- Every read of a version goes through this view: its `released_at` is the release's instant
-- for a version on the release (none while the release is provisional or cancelled), its own
-- otherwise.
CREATE VIEW dated_versions AS
SELECT v.id, v.publication_id, v.version, v.state, v.number, v.title, v.summary, v.theme,
       v.period, v.authors, v.keywords, v.erratum, v.html, v.sources, v.figures, v.provenance,
       v.files, v.content_hash, v.built_by, v.built_at, v.approved_by, v.approved_at,
       v.on_release,
       CASE WHEN v.on_release = 0 THEN v.released_at
            WHEN r.status IN ('confirmed', 'published') THEN r.release_at
       END AS released_at
FROM publication_versions v
JOIN publications p ON p.id = v.publication_id
LEFT JOIN releases r ON r.collection = p.collection AND r.slug = p.slug;
