-- Login attempts allowed whose password check has not ended yet: they count against the
-- throttle as possible failures, so concurrent attempts cannot all pass on the same count.
ALTER TABLE login_throttle ADD COLUMN in_flight BIGINT NOT NULL DEFAULT 0;
ALTER TABLE login_throttle ADD COLUMN last_attempt TEXT;
