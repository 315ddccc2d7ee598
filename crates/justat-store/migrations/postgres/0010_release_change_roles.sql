-- The role each change of a release's public history was made in: the public calendar says
-- which role changed a date (« Chef·fe de service »), never which account. Lines written
-- before this migration have none; they show the account's role when read.
ALTER TABLE release_changes ADD COLUMN changed_role TEXT;
