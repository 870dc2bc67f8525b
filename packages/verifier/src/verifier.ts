/**
 * Stateless verification of RFC 9068 access tokens (JWT profile), following RFC 8725.
 *
 * 1. the header (`header.ts`): shape, `alg` in the pinned list, `typ` is `at+jwt`, a `kid`;
 * 2. the key from the configured key source only, and it must fit the algorithm;
 * 3. the signature: jsonwebtoken with the key and that one algorithm, and with every claim check of its own
 *    turned off (any refusal there is `signature_invalid`);
 * 4. the claims (`claims.ts`): `iss`, `aud`, the required claims, `nbf`, `exp`, `iat`, in our own typed code
 *    against the injected clock with a small, bounded leeway.
 */
import type { KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import { type AccessTokenClaims, validateClaims } from './claims.ts';
import { VerifyError } from './errors.ts';
import { checkHeader } from './header.ts';
import { ALGORITHMS, type Algorithm, isAlgorithm, type KeySource, keyFitsAlgorithm } from './keys.ts';

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

export interface Verifier {
  /**
   * The claims of a token this verifier has already verified and whose `exp` (plus leeway) has not passed, at
   * once and without a promise; `undefined` otherwise (then call `verify`, which also refuses what is expired).
   * `requireAuth` answers cache hits through it, so a hit costs no promise and no turn of the microtask queue.
   */
  peek?(token: string): AccessTokenClaims | undefined;
  verify(token: string | undefined): Promise<AccessTokenClaims>;
  stats(): { cacheHits: number; cacheMisses: number; cacheSize: number };
}

const MAX_TOKEN_LENGTH = 8192;

/** The payload, once the signature is good; jsonwebtoken checks nothing else. */
function verifySignature(token: string, key: KeyObject, alg: Algorithm): unknown {
  try {
    return jwt.verify(token, key, {
      algorithms: [alg],
      complete: true,
      ignoreExpiration: true,
      ignoreNotBefore: true,
    }).payload;
  } catch (cause) {
    throw new VerifyError('signature_invalid', { cause });
  }
}

export function createVerifier(options: VerifierOptions): Verifier {
  const algorithms = [...(options.algorithms ?? ['RS256'])];
  const tolerance = options.clockToleranceSec ?? 10;
  if (!Number.isInteger(tolerance) || tolerance < 0 || tolerance > 60) {
    throw new Error('clockToleranceSec must be an integer between 0 and 60');
  }
  if (algorithms.length === 0 || !algorithms.every(isAlgorithm)) {
    throw new Error(`algorithms must be a non-empty list drawn from ${ALGORITHMS.join(', ')}`);
  }
  const now = options.now ?? Date.now;
  const cacheSize = options.cacheSize ?? 10_000;
  const cache = cacheSize > 0 ? new LRUCache<string, AccessTokenClaims>({ max: cacheSize }) : undefined;
  const policy = { issuer: options.issuer, audience: options.audience, toleranceSec: tolerance };
  let hits = 0;
  let misses = 0;

  async function verifyUncached(token: string, nowSec: number): Promise<AccessTokenClaims> {
    const { alg, kid } = checkHeader(token, algorithms);
    const published = await options.keys.getKey(kid);
    // One key, one algorithm (RFC 8725 section 3.1): the key's published `alg`, when it names one, must be the token's.
    if ((published.alg !== undefined && published.alg !== alg) || !keyFitsAlgorithm(published.key, alg)) {
      throw new VerifyError('key_unknown');
    }
    const payload = verifySignature(token, published.key, alg);
    return validateClaims(payload, policy, nowSec);
  }

  return {
    peek(token) {
      if (!cache || token.length > MAX_TOKEN_LENGTH) return undefined;
      const cached = cache.get(token);
      // Never an answer after `exp` plus leeway: `verify()` then drops the entry and refuses the token.
      if (!cached || Math.floor(now() / 1000) >= cached.exp + tolerance) return undefined;
      hits += 1;
      return cached;
    },
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
