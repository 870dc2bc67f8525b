/**
 * The auth service's signing keys, shared by every replica through PostgreSQL.
 *
 * Life of a key: staged (published in the JWKS, not signing) -> active (signing; the newest key whose
 * activation time has passed) -> retired (a newer key is active; still published until every token it
 * signed has expired) -> gone from the JWKS. Rotation stages a key that activates after
 * `activationDelay`, which must be at least the verifiers' JWKS cache age, so no verifier meets a `kid`
 * it has not seen.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { serviceUnavailable } from '@authstack/http-problem';
import type { VerificationKey } from '@authstack/verifier';
import type { SigningKeyRow, SigningKeyStore } from '../store/signing-keys.ts';
import { decryptPrivateKey, encryptPrivateKey, generateSigningKey, type SigningAlgorithm } from './crypto.ts';

export interface KeyringOptions {
  store: SigningKeyStore;
  kek: Buffer;
  algorithm: SigningAlgorithm;
  /** Seconds; a retired key stays published this long (plus `clockSkew`) after its successor activates. */
  accessTokenTtl: number;
  /** Seconds between staging and signing. */
  activationDelay: number;
  /** Seconds of verifier clock leeway to allow for. Default 60. */
  clockSkew?: number;
  now?: () => number;
}

export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: KeyObject;
}

interface LoadedKey {
  kid: string;
  alg: SigningAlgorithm;
  activatesAt: number;
  publicJwk: JsonWebKey;
  publicKey: KeyObject;
  /** Decrypted lazily for keys that may still sign; retired keys never need it. */
  privateKey?: KeyObject;
  sealed: Buffer;
}

export interface StagedKey {
  kid: string;
  alg: SigningAlgorithm;
  activatesAt: Date;
}

export function createKeyring(options: KeyringOptions) {
  const now = options.now ?? Date.now;
  const skewMs = (options.clockSkew ?? 60) * 1000;
  let keys: LoadedKey[] = [];
  let timer: NodeJS.Timeout | undefined;

  /** Publication ends when the successor activates plus the token lifetime and clock leeway. */
  function publishedUntil(index: number): number {
    const successor = keys[index + 1];
    return successor
      ? successor.activatesAt + options.accessTokenTtl * 1000 + skewMs
      : Number.POSITIVE_INFINITY;
  }

  function activeIndex(at: number): number {
    let index = -1;
    keys.forEach((key, i) => {
      if (key.activatesAt <= at) index = i;
    });
    return index;
  }

  function privateKeyOf(key: LoadedKey): KeyObject {
    key.privateKey ??= decryptPrivateKey(key.sealed, options.kek, key.kid);
    return key.privateKey;
  }

  async function reload(): Promise<void> {
    const rows = await options.store.all();
    const known = new Map(keys.map((key) => [key.kid, key]));
    keys = rows.map((row: SigningKeyRow) => {
      const existing = known.get(row.kid);
      if (existing) return existing;
      return {
        kid: row.kid,
        alg: row.alg,
        activatesAt: row.activatesAt.getTime(),
        publicJwk: row.publicJwk,
        publicKey: createPublicKey({ key: row.publicJwk, format: 'jwk' }),
        sealed: row.privateKeyEnc,
      };
    });
    // Decrypt now every key that is or will be signing, so a wrong KEK is found at start-up, not at login.
    const from = Math.max(0, activeIndex(now()));
    for (const key of keys.slice(from)) privateKeyOf(key);
  }

  async function newKeyRow(activatesAt: Date) {
    const generated = await generateSigningKey(options.algorithm);
    return {
      kid: generated.kid,
      alg: generated.alg,
      publicJwk: generated.publicJwk,
      privateKeyEnc: encryptPrivateKey(generated.privateKey, options.kek, generated.kid),
      activatesAt,
    };
  }

  return {
    /** Make sure a key is active (creating one under a lock when none is) and load every key. */
    async init(): Promise<{ created: boolean }> {
      // The first key is back-dated a day: nothing came before it, and a clock a little behind the
      // database's must not see it as "not yet active".
      const created = await options.store.ensureActive(() => newKeyRow(new Date(now() - 86_400_000)));
      await reload();
      return { created };
    },

    reload,

    /** Reload every `intervalSec` to see keys staged by other replicas or the CLI. */
    startReloading(intervalSec: number, onError: (error: unknown) => void): void {
      timer = setInterval(() => reload().catch(onError), intervalSec * 1000);
      timer.unref();
    },

    stop(): void {
      if (timer) clearInterval(timer);
      timer = undefined;
    },

    /** The key that signs now: the newest one whose activation time has passed. */
    signingKey(): SigningKey {
      const key = keys[activeIndex(now())];
      if (!key) throw serviceUnavailable('signing key');
      return { kid: key.kid, alg: key.alg, privateKey: privateKeyOf(key) };
    },

    /** Staged, active and not-yet-expired retired keys, as public JWKs. */
    jwks(): { keys: JsonWebKey[] } {
      const at = now();
      return { keys: keys.filter((_, i) => publishedUntil(i) > at).map((key) => key.publicJwk) };
    },

    /** The same keys as `jwks()`, for verifying this service's own tokens. */
    verificationKeys(): VerificationKey[] {
      const at = now();
      return keys
        .filter((_, i) => publishedUntil(i) > at)
        .map((key) => ({ kid: key.kid, key: key.publicKey, alg: key.alg }));
    },

    /** Stage a new key: published at once, signing after the activation delay. */
    async rotate(): Promise<StagedKey> {
      const row = await newKeyRow(new Date(now() + options.activationDelay * 1000));
      await options.store.insert(row);
      await reload();
      return { kid: row.kid, alg: row.alg, activatesAt: row.activatesAt };
    },

    /** Algorithms of the published keys, for the discovery document. */
    algorithms(): string[] {
      return [...new Set([options.algorithm, ...keys.map((key) => key.alg)])];
    },
  };
}

export type Keyring = ReturnType<typeof createKeyring>;

/** The keyring as the service and the rotation CLI both build it from the configuration. */
export function keyringFromConfig(
  config: {
    keyEncryptionKey: Buffer;
    algorithm: SigningAlgorithm;
    accessTokenTtl: number;
    keyActivationDelay: number;
  },
  store: SigningKeyStore,
  now?: () => number,
) {
  return createKeyring({
    store,
    kek: config.keyEncryptionKey,
    algorithm: config.algorithm,
    accessTokenTtl: config.accessTokenTtl,
    activationDelay: config.keyActivationDelay,
    ...(now ? { now } : {}),
  });
}
