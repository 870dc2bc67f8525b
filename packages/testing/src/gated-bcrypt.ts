/**
 * bcrypt whose calls wait, while the gate is closed, until it opens: admission control's tests and the bench's
 * refusal rows hold the hashing queue full with it, for certain and without timing. It counts its calls, so a
 * test can show that a refused request started no bcrypt work. A subpath of its own: only its users load bcrypt.
 */
import bcrypt from 'bcrypt';

/** What auth's password hasher takes as its bcrypt (services/auth/src/domain/passwords.ts `Bcrypt`). */
export interface BcryptEngine {
  hash(data: string, cost: number): Promise<string>;
  compare(data: string, encrypted: string): Promise<boolean>;
}

export function gatedBcrypt() {
  let closed = false;
  let calls = 0;
  const waiting: (() => void)[] = [];
  const pass = () => {
    calls++;
    return closed ? new Promise<void>((resolve) => waiting.push(resolve)) : Promise.resolve();
  };
  const engine: BcryptEngine = {
    hash: async (data, cost) => {
      await pass();
      return bcrypt.hash(data, cost);
    },
    compare: async (data, encrypted) => {
      await pass();
      return bcrypt.compare(data, encrypted);
    },
  };
  return {
    engine,
    /** Calls made so far, held or not. */
    calls: () => calls,
    /** Calls held at the gate now. */
    waiting: () => waiting.length,
    close: () => {
      closed = true;
    },
    open: () => {
      closed = false;
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}
