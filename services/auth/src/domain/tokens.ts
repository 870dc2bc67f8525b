/**
 * Access tokens (RFC 9068 JWT profile) and refresh tokens.
 *
 * Access: header `typ: at+jwt`, `alg` of the signing key, `kid`; claims `iss`, `aud`, `sub`, `client_id`,
 * `username`, `roles`, `sid`, `jti`, `iat`, `exp`. Refresh: 256 random bits, opaque; only the SHA-256 is stored.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { SigningKey } from '../keys/keyring.ts';

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

/** 32 bytes from the CSPRNG, base64url: 256 bits of entropy. */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}
