/**
 * Where verification keys come from.
 *
 * `remoteKeySet()` fetches a JWKS (directly, or found through the issuer's
 * `/.well-known/openid-configuration`), caches it, refreshes it in the background, refetches on an
 * unknown `kid` at most once per cooldown and keeps the last good key set when a fetch fails.
 * `localKeySet()` wraps keys the process already holds (the auth service verifies its own tokens).
 *
 * Keys come only from here: a token's `jku`, `x5u`, `jwk` or `x5c` header is never followed.
 */
import { type AsymmetricKeyDetails, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { KeySetUnavailableError, VerifyError } from './errors.ts';

/**
 * The signing algorithms this verifier can check (RFC 7518 section 3): RSA PKCS#1 v1.5 and RSA-PSS (keys of at
 * least 2048 bits), ECDSA on P-256 and P-384. Nothing symmetric, never `none`.
 */
export const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export function isAlgorithm(value: unknown): value is Algorithm {
  return (ALGORITHMS as readonly unknown[]).includes(value);
}

export interface VerificationKey {
  kid: string;
  key: KeyObject;
  /** The algorithm the key is published for (the JWK's `alg`), when it names one: tokens must use exactly that. */
  alg?: string;
}

export interface KeySource {
  /** The key for `kid`; throws `VerifyError('key_unknown')` or `KeySetUnavailableError`. */
  getKey(kid: string): Promise<VerificationKey>;
  /** True once a key set is held. */
  ready(): boolean;
}

const DETAILS = new WeakMap<KeyObject, AsymmetricKeyDetails>();

/**
 * A key's `asymmetricKeyDetails` (modulus length, curve, RSA-PSS parameters), read once per key: node builds a
 * new object from the native key on every read of the getter (about 1 µs), and a key never changes.
 */
export function keyDetails(key: KeyObject): AsymmetricKeyDetails {
  let details = DETAILS.get(key);
  if (!details) {
    details = Object.freeze({ ...key.asymmetricKeyDetails });
    DETAILS.set(key, details);
  }
  return details;
}

/** Does this key fit this algorithm? (RFC 7518 section 3.1; RSA keys of at least 2048 bits, section 3.3) */
export function keyFitsAlgorithm(key: KeyObject, alg: Algorithm): boolean {
  const type = key.asymmetricKeyType;
  if (alg.startsWith('RS') || alg.startsWith('PS')) {
    const rsa = type === 'rsa' || (alg.startsWith('PS') && type === 'rsa-pss');
    return rsa && (keyDetails(key).modulusLength ?? 0) >= 2048;
  }
  const curve = keyDetails(key).namedCurve;
  if (alg === 'ES256') return type === 'ec' && curve === 'prime256v1';
  return alg === 'ES384' && type === 'ec' && curve === 'secp384r1';
}

interface JwksDocument {
  keys: unknown[];
}

/**
 * Turn a JWKS document into usable public keys, skipping what does not fit: keys without `kid`, keys
 * for encryption (`use` other than `sig`), algorithms outside the allowed list, symmetric or private keys.
 */
export function importJwks(doc: unknown, allowed: readonly Algorithm[]): Map<string, VerificationKey> {
  if (!doc || typeof doc !== 'object' || !Array.isArray((doc as JwksDocument).keys)) {
    throw new Error('not a JWKS document');
  }
  const keys = new Map<string, VerificationKey>();
  for (const entry of (doc as JwksDocument).keys) {
    if (!entry || typeof entry !== 'object') continue;
    const jwk = entry as JsonWebKey & { kid?: unknown; use?: unknown; alg?: unknown };
    if (typeof jwk.kid !== 'string' || jwk.kid.length === 0) continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    if (jwk.alg !== undefined && !(isAlgorithm(jwk.alg) && allowed.includes(jwk.alg))) continue;
    if (jwk.kty === 'oct' || 'd' in jwk) continue; // never a shared secret or a private key
    try {
      const key = createPublicKey({ key: jwk, format: 'jwk' });
      if (!allowed.some((alg) => keyFitsAlgorithm(key, alg))) continue;
      keys.set(jwk.kid, { kid: jwk.kid, key, ...(typeof jwk.alg === 'string' ? { alg: jwk.alg } : {}) });
    } catch {
      // A key this runtime cannot import is skipped, not fatal.
    }
  }
  return keys;
}

/** Keys the process holds itself; `current()` is read on every lookup so rotation is seen at once. */
export function localKeySet(current: () => Iterable<VerificationKey>): KeySource {
  return {
    async getKey(kid) {
      for (const key of current()) if (key.kid === kid) return key;
      throw new VerifyError('key_unknown');
    },
    ready: () => true,
  };
}

interface RemoteKeySetOptions {
  /** The JWKS URL. Give this or `issuer`. */
  jwksUri?: string;
  /** Discover `jwks_uri` from `${issuer}/.well-known/openid-configuration` (its `issuer` must match). */
  issuer?: string;
  /** Algorithms the verifier allows; keys that fit none are ignored. */
  algorithms: readonly Algorithm[];
  /** Minimum time between two fetches caused by unknown `kid`s. Default 30 s. */
  cooldownMs?: number;
  /** Background refresh period. Default: the JWKS response's `max-age`, else 5 minutes; at least the cooldown. */
  refreshIntervalMs?: number;
  /** Timeout of one fetch. Default 5 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Injectable clock (ms since epoch). */
  now?: () => number;
  /** Told about every fetch, for metrics and logs. */
  onFetch?: (outcome: { ok: boolean; keys: number; error?: unknown }) => void;
}

interface RemoteKeySet extends KeySource {
  /** Fetch now (single flight). Resolves false when the fetch failed (the last good set stays). */
  refresh(): Promise<boolean>;
  /** First fetch and background refresh. Resolves whether the first fetch succeeded. */
  start(): Promise<boolean>;
  stop(): void;
  /** Why the last fetch failed; undefined after a successful one. */
  readonly lastError: unknown;
}

const DEFAULT_REFRESH_MS = 5 * 60_000;
const RETRY_UNLOADED_MS = 2_000;

function maxAgeMs(cacheControl: string | null): number | undefined {
  const match = cacheControl?.match(/(?:^|,)\s*max-age=(\d+)/i);
  return match ? Number(match[1]) * 1000 : undefined;
}

export function remoteKeySet(options: RemoteKeySetOptions): RemoteKeySet {
  if (!options.jwksUri && !options.issuer) throw new Error('remoteKeySet needs jwksUri or issuer');
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const cooldownMs = options.cooldownMs ?? 30_000;
  const timeoutMs = options.timeoutMs ?? 5_000;

  let keys: Map<string, VerificationKey> | undefined;
  let jwksUri = options.jwksUri;
  let inflight: Promise<boolean> | undefined;
  let lastAttempt = Number.NEGATIVE_INFINITY;
  let advertisedMaxAgeMs: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastError: unknown;

  async function getJson(url: string): Promise<{ body: unknown; maxAge: number | undefined }> {
    const response = await doFetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
    return { body: await response.json(), maxAge: maxAgeMs(response.headers.get('cache-control')) };
  }

  async function discover(issuer: string): Promise<string> {
    const { body } = await getJson(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
    const meta = body as { issuer?: unknown; jwks_uri?: unknown };
    if (meta.issuer !== issuer) throw new Error('discovery document names another issuer');
    if (typeof meta.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
    return meta.jwks_uri;
  }

  async function load(): Promise<boolean> {
    lastAttempt = now();
    try {
      jwksUri ??= await discover(options.issuer!);
      const { body, maxAge } = await getJson(jwksUri);
      const fresh = importJwks(body, options.algorithms);
      keys = fresh;
      advertisedMaxAgeMs = maxAge;
      lastError = undefined;
      options.onFetch?.({ ok: true, keys: fresh.size });
      return true;
    } catch (error) {
      lastError = error; // keep the last good key set
      options.onFetch?.({ ok: false, keys: keys?.size ?? 0, error });
      return false;
    }
  }

  function refresh(): Promise<boolean> {
    inflight ??= load().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  function schedule(): void {
    // Until a first key set is held, retry every few seconds; then refresh at the advertised age.
    const period =
      keys === undefined
        ? RETRY_UNLOADED_MS
        : Math.max(cooldownMs, options.refreshIntervalMs ?? advertisedMaxAgeMs ?? DEFAULT_REFRESH_MS);
    timer = setTimeout(() => {
      void refresh().finally(() => {
        if (timer) schedule();
      });
    }, period);
    timer.unref();
  }

  return {
    async getKey(kid) {
      let key = keys?.get(kid);
      if (!key && (inflight || now() - lastAttempt >= cooldownMs)) {
        await refresh();
        key = keys?.get(kid);
      }
      if (key) return key;
      if (keys === undefined) throw new KeySetUnavailableError(lastError);
      throw new VerifyError('key_unknown');
    },
    ready: () => keys !== undefined,
    refresh,
    async start() {
      const ok = await refresh();
      stopTimer();
      schedule();
      return ok;
    },
    stop: stopTimer,
    get lastError() {
      return lastError;
    },
  };

  function stopTimer(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
  }
}
