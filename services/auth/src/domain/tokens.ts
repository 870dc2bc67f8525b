/**
 * Access tokens (RFC 9068 JWT profile) and refresh tokens.
 *
 * Access: header `typ: at+jwt`, `alg` of the signing key, `kid`; claims `iss`, `aud`, `sub`, `client_id`,
 * `username`, `roles`, `sid`, `jti`, `iat`, `exp`.
 *
 * Refresh: opaque to clients, base64url of 85 bytes (114 characters):
 *
 *   version (1 byte, 1) | user id (16, UUID) | session id (16, UUID) | generation (4, uint32 BE)
 *   | family secret (16 random bytes, the same for every token of the session) | secret (32 random bytes)
 *
 * The ids say where the session lives, so no index from token to session is needed; the 256-bit secret makes
 * the token unguessable. Only the SHA-256 of the whole token and of the family secret are stored. A token that
 * carries the session's family secret but is not its current token is an older token of that session: reuse.
 * A token without it was never issued for that session (for example made up from an access token's `sub` and
 * `sid`), and is refused without touching the session.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Keyring, SigningKey } from '../keys/keyring.ts';

export interface TokenSubject {
  userId: string;
  username: string;
  roles: string[];
  sessionId: string;
}

export interface TokenSettings {
  issuer: string;
  audience: string;
  clientId: string;
  ttl: number;
}

/** The response of login and refresh: a new access token for the session, and its refresh token. */
export interface IssuedTokens {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
  sessionId: string;
  user: { id: string; username: string; roles: string[] };
}

/** Sign an access token for the session and pair it with its refresh token. */
export function issueTokens(
  deps: {
    keyring: Pick<Keyring, 'signingKey'>;
    tokens: TokenSettings;
    refreshIdleTtl: number;
    now: () => number;
  },
  user: { id: string; username: string; roles: string[] },
  sessionId: string,
  refreshToken: string,
): IssuedTokens {
  const accessToken = signAccessToken(
    { userId: user.id, username: user.username, roles: user.roles, sessionId },
    deps.keyring.signingKey(),
    deps.tokens,
    deps.now(),
  );
  return {
    accessToken,
    expiresIn: deps.tokens.ttl,
    refreshToken,
    refreshExpiresIn: deps.refreshIdleTtl,
    sessionId,
    user: { id: user.id, username: user.username, roles: user.roles },
  };
}

export function signAccessToken(
  subject: TokenSubject,
  key: SigningKey,
  settings: TokenSettings,
  nowMs: number,
): string {
  const iat = Math.floor(nowMs / 1000);
  return jwt.sign(
    {
      iss: settings.issuer,
      aud: settings.audience,
      sub: subject.userId,
      client_id: settings.clientId,
      username: subject.username,
      roles: subject.roles,
      sid: subject.sessionId,
      jti: randomUUID(),
      iat,
      exp: iat + settings.ttl,
    },
    key.privateKey,
    { algorithm: key.alg, keyid: key.kid, header: { alg: key.alg, typ: 'at+jwt' } },
  );
}

const FORMAT = 1;
const LENGTH = 1 + 16 + 16 + 4 + 16 + 32;
const ENCODED = /^[A-Za-z0-9_-]{114}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface RefreshTokenParts {
  userId: string;
  sessionId: string;
  generation: number;
  /** 16 random bytes shared by every token of one session. */
  family: Buffer;
}

const uuidBytes = (uuid: string) => {
  if (!UUID.test(uuid)) throw new Error('refresh token: ids must be lower-case UUIDs');
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
};
const uuidString = (bytes: Buffer) =>
  bytes.toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');

/** A new session's family secret: 128 bits from the CSPRNG. */
export const newTokenFamily = (): Buffer => randomBytes(16);

/** A refresh token for one generation of a session, with 32 fresh bytes (256 bits) from the CSPRNG. */
export function newRefreshToken(parts: RefreshTokenParts): string {
  const generation = Buffer.alloc(4);
  generation.writeUInt32BE(parts.generation);
  return Buffer.concat([
    Buffer.of(FORMAT),
    uuidBytes(parts.userId),
    uuidBytes(parts.sessionId),
    generation,
    parts.family,
    randomBytes(32),
  ]).toString('base64url');
}

/** The parts of a well-formed refresh token, or undefined (older formats included). */
export function parseRefreshToken(token: string): RefreshTokenParts | undefined {
  if (!ENCODED.test(token)) return undefined;
  const bytes = Buffer.from(token, 'base64url');
  // Canonical only: the last character carries 2 unused bits, and one token must have one spelling.
  if (bytes.length !== LENGTH || bytes[0] !== FORMAT || bytes.toString('base64url') !== token)
    return undefined;
  return {
    userId: uuidString(bytes.subarray(1, 17)),
    sessionId: uuidString(bytes.subarray(17, 33)),
    generation: bytes.readUInt32BE(33),
    family: Buffer.from(bytes.subarray(37, 53)),
  };
}

/** What is stored of a refresh token (and of a family secret): its SHA-256, base64url. */
export function hashRefreshToken(token: string | Buffer): string {
  return createHash('sha256').update(token).digest('base64url');
}

/**
 * Session cookie value: opaque to clients, base64url of 65 bytes (87 characters):
 *
 *   version (1 byte, 2) | user id (16, UUID) | session id (16, UUID) | secret (32 random bytes)
 *
 * Like the refresh token, the ids only say where the session lives (one key, no index); the 256-bit secret
 * makes the value unguessable and only its SHA-256 is stored (field `ck` of the session). A new value is
 * made at every login and every rotation, so a value known before a login is never the one used after it.
 */
const COOKIE_FORMAT = 2;
const COOKIE_LENGTH = 1 + 16 + 16 + 32;
const COOKIE_ENCODED = /^[A-Za-z0-9_-]{87}$/;

export interface SessionCookieParts {
  userId: string;
  sessionId: string;
}

export function newSessionCookie(parts: SessionCookieParts): string {
  return Buffer.concat([
    Buffer.of(COOKIE_FORMAT),
    uuidBytes(parts.userId),
    uuidBytes(parts.sessionId),
    randomBytes(32),
  ]).toString('base64url');
}

/** The session a well-formed cookie value names, or undefined. */
export function parseSessionCookie(value: string): SessionCookieParts | undefined {
  if (!COOKIE_ENCODED.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64url');
  if (bytes.length !== COOKIE_LENGTH || bytes[0] !== COOKIE_FORMAT || bytes.toString('base64url') !== value)
    return undefined;
  return { userId: uuidString(bytes.subarray(1, 17)), sessionId: uuidString(bytes.subarray(17, 33)) };
}
