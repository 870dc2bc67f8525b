/**
 * The auth service's signing keys, shared by every replica through PostgreSQL.
 *
 * Life of a key: staged (published in the JWKS, not signing) -> active (signing; the newest key whose
 * activation time has passed) -> retired (a newer key is active; still published until every token it
 * signed has expired) -> gone from the JWKS. Rotation stages a key that activates after
 * `activationDelay`, which must be at least the verifiers' JWKS cache age, so no verifier meets a `kid`
 * it has not seen.
 */
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { serviceUnavailable } from '@authstack/http-problem';
import type { VerificationKey } from '@authstack/verifier';
import type { SigningKeyRow, SigningKeyStore } from '../store/signing-keys.ts';
import {
  CURRENT_KEY_FORMAT,
  encryptPrivateKey,
  generateSigningKey,
  type OpenedKey,
  openSigningKey,
  type SigningAlgorithm,
} from './crypto.ts';

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

/** A key row in activation order. `opened` is set once the row passed `openSigningKey`. */
interface Slot {
  kid: string;
  activatesAt: number;
  /** The row as it was read; a row changed under the same kid is checked again. */
  fingerprint: string;
  /** Present for every key that is published or may sign; retired keys out of the JWKS are never opened. */
  opened?: OpenedKey;
}

export interface StagedKey {
  kid: string;
  alg: SigningAlgorithm;
  activatesAt: Date;
}

export function createKeyring(options: KeyringOptions) {
  const now = options.now ?? Date.now;
  const skewMs = (options.clockSkew ?? 60) * 1000;
  let keys: Slot[] = [];
  let timer: NodeJS.Timeout | undefined;

  /** Publication ends when the successor activates plus the token lifetime and clock leeway. */
  function publishedUntil(index: number, slots = keys): number {
    const successor = slots[index + 1];
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

  /** The checked keys published at `at` (staged, active, retired but within their tokens' lifetime). */
  function published(at: number): OpenedKey[] {
    return keys.flatMap((key, i) => (key.opened && publishedUntil(i) > at ? [key.opened] : []));
  }

  const fingerprintOf = (row: SigningKeyRow) =>
    JSON.stringify([
      row.alg,
      row.keyFormat,
      row.activatesAt.getTime(),
      row.publicJwk,
      row.privateKeyEnc.toString('base64'),
    ]);

  /**
   * Read every row and check each new or changed one that is or will be published or signing
   * (`openSigningKey`: thumbprint, decryption with its binding as AAD, public key derived from the private one)
   * before the key set is swapped. One bad row fails the whole reload: the previous key set stays in use (at
   * start-up, start-up stops), and the error names the key and the reason. Retired keys that have left the
   * JWKS are neither used nor published, so they are not opened: their publication window never reopens.
   */
  async function reload(): Promise<void> {
    const rows = await options.store.all();
    const known = new Map(keys.map((key) => [key.kid, key]));
    const slots: Slot[] = rows.map((row) => ({
      kid: row.kid,
      activatesAt: row.activatesAt.getTime(),
      fingerprint: fingerprintOf(row),
    }));
    const at = now();
    rows.forEach((row, i) => {
      const slot = slots[i]!;
      if (publishedUntil(i, slots) <= at) return;
      const existing = known.get(row.kid);
      slot.opened =
        existing?.opened && existing.fingerprint === slot.fingerprint
          ? existing.opened
          : openSigningKey(row, options.kek);
    });
    keys = slots;
  }

  async function newKeyRow(activatesAt: Date) {
    const generated = await generateSigningKey(options.algorithm);
    return {
      kid: generated.kid,
      alg: generated.alg,
      publicJwk: generated.publicJwk,
      privateKeyEnc: encryptPrivateKey(generated.privateKey, options.kek, generated),
      keyFormat: CURRENT_KEY_FORMAT,
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
      const key = keys[activeIndex(now())]?.opened;
      if (!key) throw serviceUnavailable('signing key');
      return { kid: key.kid, alg: key.alg, privateKey: key.privateKey };
    },

    /** Staged, active and not-yet-expired retired keys, as public JWKs. */
    jwks(): { keys: JsonWebKey[] } {
      return { keys: published(now()).map((key) => key.publicJwk) };
    },

    /** The same keys as `jwks()`, for verifying this service's own tokens. */
    verificationKeys(): VerificationKey[] {
      return published(now()).map((key) => ({ kid: key.kid, key: key.publicKey, alg: key.alg }));
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
      return [...new Set([options.algorithm, ...published(now()).map((key) => key.alg)])];
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
