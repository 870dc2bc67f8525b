/**
 * Stateless verification of RFC 9068 access tokens (JWT profile), following RFC 8725:
 * the algorithm list is pinned by the verifier (never taken from the token), `typ` must be `at+jwt`,
 * `iss` must match exactly, `aud` must contain ours, `exp` is required, `nbf` is honoured, the clock
 * leeway is small and bounded, and keys come only from the configured key source.
 */
import jwt from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import { VerifyError } from './errors.ts';
import { type Algorithm, type KeySource, keyFitsAlgorithm } from './keys.ts';

export interface AccessTokenClaims {
  iss: string;
  aud: string | string[];
  sub: string;
  username: string;
  roles: string[];
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  nbf?: number;
  client_id?: string;
  [claim: string]: unknown;
}

export interface VerifierOptions {
  issuer: string;
  audience: string;
  keys: KeySource;
  /** Allowed signing algorithms. Default `['RS256']`. */
  algorithms?: readonly Algorithm[];
  /** Clock leeway for `exp`, `nbf` and `iat`, in seconds. Default 10, at most 60. */
  clockToleranceSec?: number;
  /** Injectable clock, milliseconds since the epoch. */
  now?: () => number;
  /** Verified-token cache size (entries). 0 disables the cache. Default 10,000. */
  cacheSize?: number;
}

export interface VerifierStats {
  cacheHits: number;
  cacheMisses: number;
  cacheSize: number;
}

export interface Verifier {
  verify(token: string | undefined): Promise<AccessTokenClaims>;
  stats(): VerifierStats;
}

const ACCEPTED_TYPES = new Set(['at+jwt', 'application/at+jwt']);
const MAX_TOKEN_LENGTH = 8192;
const MAX_KID_LENGTH = 256;

interface Header {
  alg?: unknown;
  typ?: unknown;
  kid?: unknown;
}

function decodeHeader(token: string): Header {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]*$/.test(part)) || !parts[0] || !parts[1]) {
    throw new VerifyError('token_malformed');
  }
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    if (!header || typeof header !== 'object' || Array.isArray(header))
      throw new Error('header not an object');
    return header as Header;
  } catch (error) {
    throw new VerifyError('token_malformed', error);
  }
}

function fromJsonWebTokenError(error: unknown): VerifyError {
  if (error instanceof jwt.TokenExpiredError) return new VerifyError('token_expired', error);
  if (error instanceof jwt.NotBeforeError) return new VerifyError('token_not_yet_valid', error);
  const message = error instanceof Error ? error.message : '';
  if (message === 'invalid signature' || message === 'jwt signature is required') {
    return new VerifyError('signature_invalid', error);
  }
  if (message.startsWith('jwt audience invalid')) return new VerifyError('audience_invalid', error);
  if (message.startsWith('jwt issuer invalid')) return new VerifyError('issuer_invalid', error);
  if (message === 'invalid algorithm') return new VerifyError('algorithm_not_allowed', error);
  if (message.startsWith('jwt malformed') || message.startsWith('invalid token')) {
    return new VerifyError('token_malformed', error);
  }
  return new VerifyError('claims_invalid', error);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** The claims this stack relies on, with their types; anything else is `claims_invalid`. */
function checkClaims(payload: unknown): AccessTokenClaims {
  const claims = payload as Partial<AccessTokenClaims> | null;
  if (
    !claims ||
    typeof claims !== 'object' ||
    typeof claims.exp !== 'number' ||
    typeof claims.iat !== 'number' ||
    typeof claims.sub !== 'string' ||
    typeof claims.username !== 'string' ||
    typeof claims.sid !== 'string' ||
    typeof claims.jti !== 'string' ||
    !isStringArray(claims.roles)
  ) {
    throw new VerifyError('claims_invalid');
  }
  return claims as AccessTokenClaims;
}

export function createVerifier(options: VerifierOptions): Verifier {
  const algorithms = [...(options.algorithms ?? ['RS256'])];
  const tolerance = options.clockToleranceSec ?? 10;
  if (!Number.isInteger(tolerance) || tolerance < 0 || tolerance > 60) {
    throw new Error('clockToleranceSec must be an integer between 0 and 60');
  }
  if (
    algorithms.length === 0 ||
    algorithms.some((alg) => alg.startsWith('HS') || alg === ('none' as string))
  ) {
    throw new Error('algorithms must be a non-empty list of asymmetric algorithms');
  }
  const now = options.now ?? Date.now;
  const cacheSize = options.cacheSize ?? 10_000;
  const cache = cacheSize > 0 ? new LRUCache<string, AccessTokenClaims>({ max: cacheSize }) : undefined;
  let hits = 0;
  let misses = 0;

  async function verifyUncached(token: string, nowSec: number): Promise<AccessTokenClaims> {
    const header = decodeHeader(token);
    if (typeof header.alg !== 'string' || !(algorithms as string[]).includes(header.alg)) {
      throw new VerifyError('algorithm_not_allowed');
    }
    if (typeof header.typ !== 'string' || !ACCEPTED_TYPES.has(header.typ.toLowerCase())) {
      throw new VerifyError('type_invalid');
    }
    if (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > MAX_KID_LENGTH) {
      throw new VerifyError('key_unknown');
    }
    const { key } = await options.keys.getKey(header.kid);
    if (!keyFitsAlgorithm(key, header.alg)) throw new VerifyError('key_unknown');
    let payload: unknown;
    try {
      payload = jwt.verify(token, key, {
        algorithms: [header.alg as jwt.Algorithm],
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: tolerance,
        clockTimestamp: nowSec,
      });
    } catch (error) {
      throw fromJsonWebTokenError(error);
    }
    const claims = checkClaims(payload);
    // jsonwebtoken accepts an `iat` in the future; a token issued after "now" is not yet valid.
    if (claims.iat > nowSec + tolerance) throw new VerifyError('token_not_yet_valid');
    return claims;
  }

  return {
    async verify(token) {
      if (!token) throw new VerifyError('token_missing');
      if (token.length > MAX_TOKEN_LENGTH) throw new VerifyError('token_malformed');
      const nowSec = Math.floor(now() / 1000);
      const cached = cache?.get(token);
      if (cached) {
        // The cache never outlives `exp`: an expired entry is dropped and the token re-verified (and refused).
        if (nowSec < cached.exp + tolerance) {
          hits += 1;
          return cached;
        }
        cache?.delete(token);
      }
      misses += 1;
      const claims = await verifyUncached(token, nowSec);
      if (cache) {
        const ttlMs = (claims.exp + tolerance - nowSec) * 1000;
        if (ttlMs > 0) cache.set(token, claims, { ttl: ttlMs });
      }
      return claims;
    },
    stats: () => ({ cacheHits: hits, cacheMisses: misses, cacheSize: cache?.size ?? 0 }),
  };
}
