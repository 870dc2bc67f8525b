/**
 * Load-test accounts (`make seed USERS=N`, `make unseed`): many accounts in seconds, without the API's limits.
 *
 * Every account shares one password, random per seed run, hashed ONCE with the real peppered hasher at the
 * configured cost (domain/passwords.ts) and stored for all of them: 10,000 accounts cost one bcrypt hash and a
 * few batched INSERTs, and a login against them costs exactly what a real login costs. The accounts are marked
 * (`users.load_test`), so removing them never touches a real account, even one whose name follows the pattern.
 */
import { randomBytes } from 'node:crypto';
import type { createLoadTestUserStore } from '../store/load-test-users.ts';
import type { SessionStore } from '../store/sessions.ts';
import type { PasswordHasher } from './passwords.ts';

export const LOAD_TEST_PREFIX = 'loadtest-';
export const MAX_LOAD_TEST_USERS = 1_000_000;

/** The users file the k6 scripts read with SharedArray (load-tests/data/users.json). */
export interface LoadTestUsers {
  password: string;
  usernames: string[];
}

export const loadTestUsername = (index: number) => `${LOAD_TEST_PREFIX}${String(index).padStart(6, '0')}`;

export async function seedLoadTestUsers(
  deps: { store: ReturnType<typeof createLoadTestUserStore>; passwords: PasswordHasher },
  count: number,
): Promise<LoadTestUsers> {
  if (!Number.isInteger(count) || count < 1 || count > MAX_LOAD_TEST_USERS)
    throw new RangeError(`USERS must be a whole number from 1 to ${MAX_LOAD_TEST_USERS}`);
  const password = `load test ${randomBytes(18).toString('base64url')}`;
  const hash = await deps.passwords.hash(password);
  const wanted = Array.from({ length: count }, (_, i) => loadTestUsername(i));
  const usernames = await deps.store.upsert(wanted, hash);
  return { password, usernames };
}

/** Revoke every session of every load-test account (the session store's revoke-all), then delete them. */
export async function unseedLoadTestUsers(deps: {
  store: ReturnType<typeof createLoadTestUserStore>;
  sessions: SessionStore;
}): Promise<{ users: number; sessions: number }> {
  const ids = await deps.store.ids();
  let sessions = 0;
  for (let start = 0; start < ids.length; start += 500) {
    const revoked = await Promise.all(ids.slice(start, start + 500).map((id) => deps.sessions.revokeAll(id)));
    sessions += revoked.reduce((sum, n) => sum + n, 0);
  }
  const users = await deps.store.deleteAll();
  return { users, sessions };
}
