/**
 * Stateless verification of RFC 9068 access tokens (JWT profile), following RFC 8725.
 *
 * 1. the header (`header.ts`): shape and no `crit`, `alg` in the pinned list, `typ` is `at+jwt`, a `kid`;
 * 2. the key from the configured key source only, and it must fit the algorithm;
 * 3. the signature (`signature.ts`): `node:crypto` with the key and that one algorithm, on libuv's thread pool
 *    (any refusal there is `signature_invalid`); the token is split and its header decoded once, in step 1;
 * 4. the claims (`claims.ts`): `iss`, `aud`, the required claims, `nbf`, `exp`, `iat`, in our own typed code
 *    against the injected clock with a small, bounded leeway.
 *
 * `verify()` and `explain()` run the same pipeline (`judge` below): `explain()` only records each step as it
 * passes or fails, for the study console. It never fills the cache and never authorises anything.
 */
import { LRUCache } from 'lru-cache';
import {
  type AccessTokenClaims,
  type ClaimsPolicy,
  checkAudience,
  checkIssuer,
  checkShape,
  checkTime,
  claimSet,
} from './claims.ts';
import { type ClaimFailure, STEPS, type StepName } from './codes.ts';
import { VerifyError } from './errors.ts';
import { checkAlgorithm, checkKid, checkType, decodePayload, decodeToken } from './header.ts';
import { ALGORITHMS, type Algorithm, isAlgorithm, type KeySource, keyFitsAlgorithm } from './keys.ts';
import { verifySignature } from './signature.ts';

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

export interface ExplainedStep {
  step: StepName;
  /** `passed`, `failed`, or `not_reached` (an earlier step failed). */
  outcome: 'passed' | 'failed' | 'not_reached';
  detail: string;
  code?: string;
  claim?: string;
  reason?: ClaimFailure;
}

export interface Explanation {
  /** Would `verify()` accept this token under the (possibly overridden) policy at `at`? */
  valid: boolean;
  code?: string;
  claim?: string;
  reason?: ClaimFailure;
  /** The instant judged, seconds since the epoch, and the leeway applied. */
  at: number;
  leewaySec: number;
  issuer: string;
  audience: string;
  algorithms: Algorithm[];
  /** Would `verify()` answer from the verified-token cache right now (the token was verified before)? */
  cacheHit: boolean;
  steps: ExplainedStep[];
}

export interface ExplainOptions {
  /** Judge at this instant (seconds since the epoch) instead of now: "what happens once it expires?". */
  at?: number;
  /** Judge as a service with this audience would: "what if it is replayed to another API?". */
  audience?: string;
}

export interface Verifier {
  /**
   * The claims of a token this verifier has already verified and whose `exp` (plus leeway) has not passed, at
   * once and without a promise; `undefined` otherwise (then call `verify`, which also refuses what is expired).
   * `requireAuth` answers cache hits through it, so a hit costs no promise and no turn of the microtask queue.
   */
  peek?(token: string): AccessTokenClaims | undefined;
  verify(token: string | undefined): Promise<AccessTokenClaims>;
  /** The same steps as `verify`, each reported; never throws a `VerifyError`, never caches, never counts. */
  explain(token: string | undefined, options?: ExplainOptions): Promise<Explanation>;
  stats(): { cacheHits: number; cacheMisses: number; cacheSize: number };
}

const MAX_TOKEN_LENGTH = 8192;

/**
 * The verified-token cache is keyed by a token's last characters (its signature's end), not by the whole token:
 * a map lookup hashes its key, and hashing a whole token (about a kilobyte, a new string on every request) costs
 * more than the rest of a cache hit. An entry keeps the whole token, and a hit needs it to be the same string, so a
 * different token with the same end is a miss (it then replaces the entry once verified), never an answer.
 */
const CACHE_KEY_LENGTH = 32;
const cacheKey = (token: string) => token.slice(-CACHE_KEY_LENGTH);

interface CacheEntry {
  token: string;
  claims: AccessTokenClaims;
}

/** How the pipeline runs a step: `verify` just calls it; `explain` records what it saw. */
type Run = <T>(step: StepName, check: () => T | Promise<T>, detail: (value: T) => string) => T | Promise<T>;

/** `verify`'s way: the check itself, no wrapper promise around each step (`judge` awaits whatever comes back). */
const direct: Run = (_step, check) => check();

function checkFormat(token: string | undefined) {
  if (!token) throw new VerifyError('token_missing');
  if (token.length > MAX_TOKEN_LENGTH) throw new VerifyError('token_malformed');
  return decodeToken(token);
}

const iso = (sec: number) => new Date(sec * 1000).toISOString();

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
  const cache = cacheSize > 0 ? new LRUCache<string, CacheEntry>({ max: cacheSize }) : undefined;
  /** This token's claims in the cache (the same token, not only the same key), refreshing its recency. */
  const lookup = (token: string): AccessTokenClaims | undefined => {
    const entry = cache?.get(cacheKey(token));
    return entry && entry.token === token ? entry.claims : undefined;
  };
  const basePolicy: ClaimsPolicy = {
    issuer: options.issuer,
    audience: options.audience,
    toleranceSec: tolerance,
  };
  let hits = 0;
  let misses = 0;

  /** The whole pipeline, one step at a time. */
  async function judge(
    token: string,
    nowSec: number,
    policy: ClaimsPolicy,
    run: Run,
  ): Promise<AccessTokenClaims> {
    const decoded = await run(
      'format',
      () => checkFormat(token),
      () => 'three base64url parts, a JSON object header without crit, at most 8 KB',
    );
    const { header } = decoded;
    const alg = await run(
      'algorithm',
      () => checkAlgorithm(header, algorithms),
      (value) => `${value} is in the allow-list [${algorithms.join(', ')}]`,
    );
    await run(
      'type',
      () => checkType(header),
      (typ) => `typ is ${typ}`,
    );
    const published = await run(
      'kid',
      async () => {
        const key = await options.keys.getKey(checkKid(header));
        // One key, one algorithm (RFC 8725 section 3.1): the key's published `alg`, when it names one, must be the token's.
        if ((key.alg !== undefined && key.alg !== alg) || !keyFitsAlgorithm(key.key, alg)) {
          throw new VerifyError('key_unknown');
        }
        return key;
      },
      (key) => `kid ${key.kid} is in the key set and its key fits ${alg}`,
    );
    await run(
      'signature',
      () => verifySignature(decoded, published.key, alg),
      () => `${alg} signature verified with key ${published.kid}`,
    );
    const claims = await run(
      'claims_set',
      () => claimSet(decodePayload(decoded.payload)),
      () => 'the payload is a JSON object',
    );
    await run(
      'issuer',
      () => checkIssuer(claims, policy),
      (iss) => `iss is ${iss}`,
    );
    await run(
      'audience',
      () => checkAudience(claims, policy),
      (aud) => `aud [${aud.join(', ')}] contains ${policy.audience}`,
    );
    await run(
      'required_claims',
      () => checkShape(claims),
      () => 'sub, username, sid, jti are strings; roles is an array of strings',
    );
    await run(
      'time',
      () => checkTime(claims, nowSec, policy.toleranceSec),
      () =>
        `now ${iso(nowSec)} is before exp ${iso(claims.exp as number)} + ${policy.toleranceSec} s leeway` +
        (claims.nbf === undefined ? '' : ` and after nbf - leeway`),
    );
    return claims as AccessTokenClaims;
  }

  function cached(token: string, nowSec: number): AccessTokenClaims | undefined {
    const found = cache?.peek(cacheKey(token));
    const entry = found && found.token === token ? found.claims : undefined;
    // The cache never outlives `exp`: an expired entry is not an answer.
    return entry && nowSec < entry.exp + tolerance ? entry : undefined;
  }

  return {
    peek(token) {
      if (!cache || token.length > MAX_TOKEN_LENGTH) return undefined;
      const cached = lookup(token);
      // Never an answer after `exp` plus leeway: `verify()` then drops the entry and refuses the token.
      if (!cached || Math.floor(now() / 1000) >= cached.exp + tolerance) return undefined;
      hits += 1;
      return cached;
    },
    async verify(token) {
      if (!token) throw new VerifyError('token_missing');
      if (token.length > MAX_TOKEN_LENGTH) throw new VerifyError('token_malformed');
      const nowSec = Math.floor(now() / 1000);
      const hit = cached(token, nowSec);
      if (hit) {
        hits += 1;
        lookup(token); // recency
        return hit;
      }
      // This token's own expired entry goes; another token's entry with the same end stays until this one is verified.
      if (cache?.peek(cacheKey(token))?.token === token) cache.delete(cacheKey(token));
      misses += 1;
      const claims = await judge(token, nowSec, basePolicy, direct);
      if (cache) {
        const ttlMs = (claims.exp + tolerance - nowSec) * 1000;
        if (ttlMs > 0) cache.set(cacheKey(token), { token, claims }, { ttl: ttlMs });
      }
      return claims;
    },

    async explain(token, explainOptions = {}) {
      const at = explainOptions.at ?? Math.floor(now() / 1000);
      const policy = { ...basePolicy, audience: explainOptions.audience ?? basePolicy.audience };
      const steps: ExplainedStep[] = [];
      const record: Run = async (step, check, detail) => {
        try {
          const value = await check();
          steps.push({ step, outcome: 'passed', detail: detail(value) });
          return value;
        } catch (error) {
          const { code, claim, reason, title } = error as Partial<VerifyError>;
          if (typeof code !== 'string') throw error; // not a refusal: a bug, let it surface
          steps.push({
            step,
            outcome: 'failed',
            detail: title ?? code,
            code,
            ...(claim ? { claim } : {}),
            ...(reason ? { reason } : {}),
          });
          throw error;
        }
      };
      const base = {
        at,
        leewaySec: tolerance,
        issuer: policy.issuer,
        audience: policy.audience,
        algorithms: [...algorithms],
        cacheHit: token ? cached(token, Math.floor(now() / 1000)) !== undefined : false,
        steps,
      };
      try {
        await judge(token ?? '', at, policy, record);
        return { valid: true, ...base };
      } catch (error) {
        const failed = steps.at(-1);
        if (failed?.outcome !== 'failed') throw error;
        for (const step of STEPS.slice(STEPS.indexOf(failed.step) + 1)) {
          steps.push({ step, outcome: 'not_reached', detail: 'an earlier step refused the token' });
        }
        return {
          valid: false,
          ...(failed.code ? { code: failed.code } : {}),
          ...(failed.claim ? { claim: failed.claim } : {}),
          ...(failed.reason ? { reason: failed.reason } : {}),
          ...base,
        };
      }
    },

    stats: () => ({ cacheHits: hits, cacheMisses: misses, cacheSize: cache?.size ?? 0 }),
  };
}
