-- Jobs run in worker processes: which worker holds a running job, and when that worker last
-- said it was alive, so that a job whose worker died is marked failed instead of staying
-- « En cours », and two workers never take the same job.
ALTER TABLE jobs ADD COLUMN worker TEXT;
ALTER TABLE jobs ADD COLUMN heartbeat_at TEXT;
