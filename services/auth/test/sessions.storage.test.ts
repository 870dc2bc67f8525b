import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import {
  eventually,
  http,
  keyPrefix,
  scanRedisKeys,
  suiteScope,
  type TestDatabase,
  useRedisClient,
} from '@authstack/testing';
import {
  migratedDatabase,
  registerAndLogin,
  STRONG_PASSWORD,
  startTestAuth,
  type TestAuth,
  testEnv,
} from './support.ts';

type Tokens = { access_token: string; refresh_token: string; code?: string };

/**
 * Redis storage per session. Each test starts its own auth instance with its own key prefix: every key under it
 * except the rate limiter's `rl:` counters belongs to the sessions that test made.
 */
describe('session storage in Redis', () => {
  const scope = suiteScope();
  let db: TestDatabase;
  const redis = useRedisClient(scope);

  let env: ReturnType<typeof testEnv>;
  const start = async (overrides: Record<string, string> = {}) => {
    // A prefix of its own per instance (the footprints are per prefix), cleared with the database.
    return startTestAuth({ ...env, REDIS_KEY_PREFIX: keyPrefix(db), ...overrides }, {}, scope);
  };
  /** The session keys under the instance's prefix, sorted, and their summed MEMORY USAGE (exact). */
  const footprint = async (auth: TestAuth) => {
    const prefix = auth.config.redisKeyPrefix;
    const keys = (await scanRedisKeys(redis, `${prefix}*`)).filter((key) => !key.startsWith(`${prefix}rl:`));
    let bytes = 0;
    for (const key of keys) bytes += Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    return { keys: keys.sort(), bytes };
  };
  const refresh = (auth: TestAuth, refresh_token: string) =>
    http<Tokens>(`${auth.url}/auth/refresh`, { body: { refresh_token } });
  /** Refresh `times` times; the tokens of every generation, oldest first. */
  const refreshMany = async (auth: TestAuth, first: Tokens, times: number) => {
    const chain = [first];
    for (let n = 0; n < times; n++) {
      const res = await refresh(auth, chain.at(-1)!.refresh_token);
      assert.equal(res.status, 200, `refresh ${n + 1}`);
      chain.push(res.body);
    }
    return chain;
  };
  const login = async (auth: TestAuth, username: string, password = STRONG_PASSWORD) => {
    const res = await http<Tokens>(`${auth.url}/auth/login`, { body: { username, password } });
    assert.equal(res.status, 200);
    return res.body;
  };

  before(async () => {
    db = await migratedDatabase(scope);
    env = testEnv(db); // one key-encryption key for every instance on this database
  });

  it('when one session is refreshed 1,000 times, then its keys and memory are those after the first refresh, and after logout none remain', async () => {
    const auth = await start();
    const user = await registerAndLogin(auth.url);
    const [, first] = await refreshMany(auth, user, 1);
    const afterFirst = await footprint(auth);
    assert.ok(afterFirst.keys.length > 0);

    const chain = await refreshMany(auth, first!, 999);
    const afterThousand = await footprint(auth);
    assert.deepEqual(afterThousand.keys, afterFirst.keys, 'the same keys');
    assert.ok(
      Math.abs(afterThousand.bytes - afterFirst.bytes) <= 8,
      `memory after 1 refresh ${afterFirst.bytes} B, after 1,000 refreshes ${afterThousand.bytes} B`,
    );

    const out = await http(`${auth.url}/auth/logout`, { method: 'POST', token: chain.at(-1)!.access_token });
    assert.equal(out.status, 200);
    assert.deepEqual((await footprint(auth)).keys, []);
  });

  it('when sessions end by logout with a refresh token, logout-all or reuse, then none of their keys remain', async () => {
    const auth = await start();
    const user = await registerAndLogin(auth.url);
    const byRefreshToken = (await refreshMany(auth, user, 3)).at(-1)!;
    const out = await http(`${auth.url}/auth/logout`, {
      body: { refresh_token: byRefreshToken.refresh_token },
    });
    assert.equal(out.status, 200);
    assert.deepEqual((await footprint(auth)).keys, [], 'logout with a refresh token');

    const phone = (await refreshMany(auth, await login(auth, user.username), 3)).at(-1)!;
    await refreshMany(auth, await login(auth, user.username), 3);
    const all = await http(`${auth.url}/auth/logout-all`, { method: 'POST', token: phone.access_token });
    assert.equal(all.status, 200);
    assert.equal(all.body.revoked, 2);
    assert.deepEqual((await footprint(auth)).keys, [], 'logout-all');

    const chain = await refreshMany(auth, await login(auth, user.username), 3);
    const reuse = await refresh(auth, chain[1]!.refresh_token);
    assert.equal(reuse.status, 401);
    assert.equal(reuse.body.code, 'invalid_grant');
    assert.deepEqual((await footprint(auth)).keys, [], 'reuse');
  });

  it('when a password change or disabling the account ends sessions, then none of their keys remain', async () => {
    const admin = { username: `boss${randomBytes(3).toString('hex')}`, password: 'head of the whole place' };
    const auth = await start({
      BOOTSTRAP_ADMIN_USERNAME: admin.username,
      BOOTSTRAP_ADMIN_PASSWORD: admin.password,
    });
    const adminTokens = await login(auth, admin.username, admin.password);

    const user = await registerAndLogin(auth.url);
    const before = await footprint(auth);
    await refreshMany(auth, await login(auth, user.username), 3);
    const changed = await http(`${auth.url}/auth/password`, {
      token: user.access_token,
      body: { current_password: user.password, new_password: 'an entirely new passphrase' },
    });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.revoked, 1);
    assert.deepEqual((await footprint(auth)).keys, before.keys, 'only the current session is left');

    const keep = await footprint(auth);
    const other = await registerAndLogin(auth.url);
    await refreshMany(auth, other, 3);
    await refreshMany(auth, await login(auth, other.username), 3);
    const disable = await http(`${auth.url}/auth/admin/users/${other.user.id}`, {
      method: 'PATCH',
      token: adminTokens.access_token,
      body: { disabled: true },
    });
    assert.equal(disable.status, 200);
    assert.deepEqual((await footprint(auth)).keys, keep.keys, 'disabling');
  });

  it('when a session outlives its idle lifetime, then its keys expire with it', async () => {
    const auth = await start({ REFRESH_IDLE_TTL: '1', REFRESH_ABSOLUTE_TTL: '60' });
    const user = await registerAndLogin(auth.url);
    await refreshMany(auth, user, 3);
    assert.notDeepEqual((await footprint(auth)).keys, []);
    await eventually(async () => (await footprint(auth)).keys.length === 0, 5_000);
  });
});
