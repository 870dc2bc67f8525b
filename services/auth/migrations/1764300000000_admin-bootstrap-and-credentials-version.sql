-- Up Migration

-- The bootstrap admin is created once and then left to the admins. A row here says
-- "the start-up bootstrap created this account"; a name held by any other account is refused at start-up
-- instead of being promoted. Backfilled from the audit trail's creations by the earlier bootstrap.
CREATE TABLE admin_bootstrap (
  username    text PRIMARY KEY,
  user_id     uuid NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO admin_bootstrap (username, user_id, created_at)
SELECT u.username, u.id, min(e.occurred_at)
  FROM auth_events e JOIN users u ON u.id = e.user_id
 WHERE e.type = 'admin_bootstrap' AND e.details->>'created' = 'true'
 GROUP BY u.username, u.id
ON CONFLICT DO NOTHING;

-- Bumped by every change that must end sessions being created (password change,
-- disabling or re-enabling). Login re-reads it after creating its session and drops the session when it moved.
ALTER TABLE users ADD COLUMN credentials_version integer NOT NULL DEFAULT 0;

-- Down Migration
ALTER TABLE users DROP COLUMN credentials_version;
DROP TABLE admin_bootstrap;
