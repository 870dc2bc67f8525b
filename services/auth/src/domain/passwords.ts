/**
 * Password policy (NIST SP 800-63B section 3.1.1.2) and hashing.
 *
 * Policy:
 * - at least 8 and at most 256 characters (Unicode code points, so at most 1,024 UTF-8 bytes), in any script,
 *   no composition rules; nothing is ever truncated;
 * - refused when found in a common-password dictionary (zxcvbn-ts's list of ~49,000 leaked passwords),
 *   or when it contains the username.
 *
 * Hashing ("peppered bcrypt"): bcrypt reads at most 72 bytes, so the password is first reduced by a keyed
 * pre-hash, HMAC-SHA-256 under PASSWORD_PEPPER (a secret kept outside the database), and the base64 of the
 * 32-byte MAC (44 ASCII characters, never a NUL byte) is what bcrypt hashes, at BCRYPT_COST. Stored as
 * `$hmac-sha256` followed by the bcrypt hash (`$hmac-sha256$2b$12$...`). Hashes written before this scheme
 * (`$2b$...`, bcrypt of the raw password, at most 72 bytes) still verify, and are replaced by the peppered
 * scheme at the next successful login, as are hashes of a lower cost than configured.
 *
 * Equal cost (no enumeration by timing): every failed verification costs the bcrypt work of a hash at the
 * *target* cost — the highest of BCRYPT_COST and every cost stored. An unknown user is compared against a
 * dummy hash of the target cost; a wrong password (or a disabled account) whose stored hash has a lower cost c
 * is topped up with dummy comparisons at costs c, c+1, ..., target-1, since 2^c + (2^c + ... + 2^(target-1))
 * = 2^target. The target is read from the database at start-up and raised whenever a costlier hash is met.
 *
 * bcrypt is the native, asynchronous binding (libuv's thread pool, not the event loop); it can be injected.
 */
import { createHmac, randomBytes } from 'node:crypto';
import zxcvbnCommon from '@zxcvbn-ts/language-common';
import bcrypt from 'bcrypt';

export const MIN_PASSWORD_CHARS = 8;
export const MAX_PASSWORD_CHARS = 256;
/** bcrypt's input limit: the most a legacy (unpeppered) hash can have seen. */
export const BCRYPT_MAX_BYTES = 72;
/** Marks a peppered hash: `$hmac-sha256` + the bcrypt hash of base64(HMAC-SHA-256(pepper, password)). */
export const PEPPERED_PREFIX = '$hmac-sha256';

export type PasswordReason =
  | 'password_too_short'
  | 'password_too_long'
  | 'password_common'
  | 'password_contains_username';

export interface PolicyViolation {
  code: PasswordReason;
  message: string;
}

const commonPasswords: ReadonlySet<string> = new Set(
  zxcvbnCommon.dictionary['passwords-common'].map((word) => word.toLowerCase()),
);

export function checkPasswordPolicy(password: string, normalizedUsername: string): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const chars = [...password].length;
  if (chars < MIN_PASSWORD_CHARS) {
    violations.push({
      code: 'password_too_short',
      message: `Use at least ${MIN_PASSWORD_CHARS} characters.`,
    });
  }
  if (chars > MAX_PASSWORD_CHARS) {
    violations.push({
      code: 'password_too_long',
      message: `Use at most ${MAX_PASSWORD_CHARS} characters (this one has ${chars}).`,
    });
  }
  if (commonPasswords.has(password.toLowerCase())) {
    violations.push({
      code: 'password_common',
      message: 'This password appears in lists of common passwords.',
    });
  }
  if (
    normalizedUsername.length > 0 &&
    password.normalize('NFKC').toLowerCase().includes(normalizedUsername)
  ) {
    violations.push({
      code: 'password_contains_username',
      message: 'The password must not contain the username.',
    });
  }
  return violations;
}

/** The two bcrypt operations the hasher needs (the native `bcrypt` module by default). */
export interface Bcrypt {
  hash(data: string, cost: number): Promise<string>;
  compare(data: string, encrypted: string): Promise<boolean>;
}

export interface Verification {
  matches: boolean;
  /** Right password, but the stored hash is legacy (unpeppered) or of a lower cost: store `hash()` anew. */
  needsUpgrade: boolean;
  /** The bcrypt cost that was compared against. */
  cost: number;
}

export interface PasswordHasherOptions {
  /** PASSWORD_PEPPER: the HMAC key. */
  pepper: Buffer;
  /** BCRYPT_COST: the cost of new hashes. */
  cost: number;
  /** The lowest and highest costs among the stored hashes (undefined when there are none). */
  storedCosts?: { lowest: number | undefined; highest: number | undefined };
  bcrypt?: Bcrypt;
}

export function createPasswordHasher(options: PasswordHasherOptions) {
  const engine: Bcrypt = options.bcrypt ?? bcrypt;
  const preHash = (password: string) =>
    createHmac('sha256', options.pepper).update(password, 'utf8').digest('base64');
  let target = Math.max(options.cost, options.storedCosts?.highest ?? options.cost);

  const dummies = new Map<number, Promise<string>>();
  const dummy = (cost: number): Promise<string> => {
    let hash = dummies.get(cost);
    if (!hash) {
      hash = engine.hash(randomBytes(32).toString('base64'), cost);
      hash.catch(() => dummies.delete(cost));
      dummies.set(cost, hash);
    }
    return hash;
  };

  return {
    /** The cost every failed verification is brought to (see the module comment). */
    targetCost: () => target,

    /** Make the dummy hashes now, so the first failed logins do not pay for them. */
    async warm(): Promise<void> {
      const lowest = Math.min(options.cost, options.storedCosts?.lowest ?? options.cost);
      for (let cost = lowest; cost <= target; cost++) await dummy(cost);
    },

    /** The time (ms) of one hash at the configured cost, now: admission control's hash time (see `admission.ts`). */
    async measureHash(): Promise<number> {
      const start = performance.now();
      await engine.hash(preHash(randomBytes(32).toString('base64')), options.cost);
      return performance.now() - start;
    },

    /** A peppered hash at the configured cost. */
    async hash(password: string): Promise<string> {
      return PEPPERED_PREFIX + (await engine.hash(preHash(password), options.cost));
    },

    /** Compare with a stored hash, or, for an unknown user (`undefined`), with a dummy at the target cost. */
    async verify(password: string, stored: string | undefined): Promise<Verification> {
      if (stored === undefined) {
        const cost = target;
        await engine.compare(preHash(password), await dummy(cost));
        return { matches: false, needsUpgrade: false, cost };
      }
      const peppered = stored.startsWith(`${PEPPERED_PREFIX}$`);
      const bcryptHash = peppered ? stored.slice(PEPPERED_PREFIX.length) : stored;
      const cost = bcrypt.getRounds(bcryptHash);
      if (cost > target) target = cost; // a costlier hash than any known: unknown users cost as much now
      let matches: boolean;
      if (peppered) {
        matches = await engine.compare(preHash(password), bcryptHash);
      } else {
        // A legacy hash saw at most 72 bytes: a longer password is compared (same work) and never accepted.
        const fits = Buffer.byteLength(password, 'utf8') <= BCRYPT_MAX_BYTES;
        matches = (await engine.compare(fits ? password : preHash(password), bcryptHash)) && fits;
      }
      return { matches, needsUpgrade: matches && (!peppered || cost < options.cost), cost };
    },

    /**
     * After a verification that ends in a refusal (wrong password, disabled account): dummy comparisons at
     * costs `cost` .. target-1, so the total bcrypt work equals one comparison at the target cost.
     */
    async equalise(verification: Verification): Promise<void> {
      const input = preHash('');
      for (let cost = verification.cost; cost < target; cost++) {
        await engine.compare(input, await dummy(cost));
      }
    },
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;
