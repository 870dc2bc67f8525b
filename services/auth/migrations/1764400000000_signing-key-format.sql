-- Up Migration

-- How a row's private key was sealed (see services/auth/src/keys/crypto.ts):
--   1: AES-256-GCM with the kid alone as additional data (rows written before this migration);
--   2: AES-256-GCM with the kid, the algorithm and the public key as additional data.
-- Existing rows are format 1, and so is a row an older replica inserts during a rolling upgrade (hence the
-- default); this version writes format 2 explicitly.
ALTER TABLE signing_keys
  ADD COLUMN key_format smallint NOT NULL DEFAULT 1 CHECK (key_format IN (1, 2));

-- Down Migration
ALTER TABLE signing_keys DROP COLUMN key_format;
