-- Up Migration

-- Session revocations an account change owes, queued in the change's own transaction (see
-- services/auth/src/store/revocations.ts): the sessions live in Redis, which can fail after PostgreSQL committed.
-- A row stays until every session of the account has been ended (and/or its cookie sessions told that its
-- privileges changed). `version` is drawn from a sequence on every queueing, also when a finished row is queued
-- again, so finishing an older request (a slower settle on another replica) never deletes newer work.
CREATE SEQUENCE pending_revocations_version_seq;
CREATE TABLE pending_revocations (
  user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  end_sessions boolean NOT NULL DEFAULT false,
  privileges_changed boolean NOT NULL DEFAULT false,
  version bigint NOT NULL DEFAULT nextval('pending_revocations_version_seq'),
  queued_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE pending_revocations;
DROP SEQUENCE pending_revocations_version_seq;
