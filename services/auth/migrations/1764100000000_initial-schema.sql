-- Up Migration

-- Accounts. `username` is stored normalised (NFKC, lower case), so the unique index is the
-- uniqueness rule; the CHECK repeats the documented charset so no other writer can bypass it.
CREATE TABLE users (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  username       text NOT NULL CHECK (username ~ '^[a-z0-9._-]{3,32}$'),
  password_hash  text NOT NULL,
  roles          text[] NOT NULL DEFAULT ARRAY['user']::text[],
  disabled       boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  last_login_at  timestamptz,
  CONSTRAINT users_username_key UNIQUE (username)
);

-- Signing keys shared by every auth replica. The private key is AES-256-GCM encrypted under the
-- key-encryption key (iv || tag || ciphertext of the PKCS#8 DER); only the public JWK is in clear.
-- A key signs from `activates_at` until the next key activates; it stays published until every token
-- it signed has expired.
CREATE TABLE signing_keys (
  kid              text PRIMARY KEY,
  alg              text NOT NULL CHECK (alg IN ('RS256', 'ES256')),
  public_jwk       jsonb NOT NULL,
  private_key_enc  bytea NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  activates_at     timestamptz NOT NULL
);
CREATE INDEX signing_keys_activates_at_idx ON signing_keys (activates_at);

-- Audit trail. Never holds passwords or tokens.
CREATE TABLE auth_events (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at  timestamptz NOT NULL DEFAULT now(),
  type         text NOT NULL,
  user_id      uuid REFERENCES users (id) ON DELETE SET NULL,
  username     text,
  ip           inet,
  user_agent   text,
  request_id   text,
  details      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX auth_events_type_idx ON auth_events (type, id DESC);
CREATE INDEX auth_events_user_idx ON auth_events (user_id, id DESC);

-- Down Migration
DROP TABLE auth_events;
DROP TABLE signing_keys;
DROP TABLE users;
