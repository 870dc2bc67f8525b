-- Up Migration

-- Load-test accounts (`make seed`) are marked, so `make unseed` removes exactly them and never a real account
-- that happens to share their naming pattern.
ALTER TABLE users ADD COLUMN load_test boolean NOT NULL DEFAULT false;
CREATE INDEX users_load_test_idx ON users (id) WHERE load_test;

-- Down Migration
DROP INDEX users_load_test_idx;
ALTER TABLE users DROP COLUMN load_test;
