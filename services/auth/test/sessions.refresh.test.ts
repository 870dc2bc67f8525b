import assert from 'node:assert/strict';
import { randomBytes, randomFillSync } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  createRedisProxy,
  eventually,
  http,
  testScope,
  usePgClient,
  useRedisClient,
} from '@authstack/testing';
import { decodePart } from '@authstack/testing/tokens';
import { registerAndLogin, startTestAuth, useAuth } from './support.ts';

type Tokens = { access_token: string; refresh_token: string; expires_in: number; code?: string };

describe('POST /auth/refresh', () => {
  const auth = useAuth();
  const refresh = (refresh_token: string, base = auth.url) =>
    http<Tokens>(`${base}/auth/refresh`, { body: { refresh_token } });

  it('when a refresh token is presented, then a new pair comes back, same shape as login, and the session continues', async () => {
    const user = await registerAndLogin(auth.url);
    const res = await refresh(user.refresh_token);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.notEqual(res.body.refresh_token, user.refresh_token);
    assert.notEqual(res.body.access_token, user.access_token);
    assert.equal(decodePart(res.body.access_token, 1).sid, decodePart(user.access_token, 1).sid);
    assert.equal((await http(`${auth.url}/auth/me`, { token: res.body.access_token })).status, 200);
  });

  it('when a rotated token is presented again, then 401 invalid_grant, the newest token dies too, and refresh_reuse is recorded', async (t) => {
    const user = await registerAndLogin(auth.url);
    const second = await refresh(user.refresh_token);
    assert.equal(second.status, 200);
    const reuse = await refresh(user.refresh_token);
    assert.equal(reuse.status, 401);
    assert.equal(reuse.body.code, 'invalid_grant');
    const newest = await refresh(second.body.refresh_token);
    assert.equal(newest.status, 401, 'the whole session was revoked');
    assert.equal(newest.body.code, 'invalid_grant');
    assert.equal((await http(`${auth.url}/auth/me`, { token: second.body.access_token })).status, 401);
    const sql = await usePgClient(testScope(t), auth.db.url);
    const { rows } = await sql.query(
      `SELECT details FROM auth_events WHERE type = 'refresh_reuse' AND user_id = $1`,
      [user.user.id],
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0].details.sid, decodePart(user.access_token, 1).sid);
    assert.doesNotMatch(JSON.stringify(rows), new RegExp(user.refresh_token));
  });

  it('when 20 refreshes with one token run in parallel, then exactly one succeeds', async () => {
    const user = await registerAndLogin(auth.url);
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(user.refresh_token)));
    assert.equal(results.filter((r) => r.status === 200).length, 1);
    assert.ok(
      results.every((r) => r.status === 200 || (r.status === 401 && r.body.code === 'invalid_grant')),
    );
  });

  it('when the token is unknown, malformed or missing, then 401 invalid_grant or 400', async () => {
    assert.equal((await refresh('x'.repeat(43))).status, 401);
    assert.equal((await refresh('not even close')).body.code, 'invalid_grant');
    const missing = await http(`${auth.url}/auth/refresh`, { body: {} });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.code, 'invalid_input');
  });

  it('when a token names a live session but lacks its family secret, then invalid_grant and the session lives on', async () => {
    const user = await registerAndLogin(auth.url);
    const second = await refresh(user.refresh_token);
    assert.equal(second.status, 200);
    // Made up from what an access token tells (user id, session id), with a generation that is no longer current.
    const bytes = Buffer.from(second.body.refresh_token, 'base64url');
    bytes.writeUInt32BE(1, 33);
    randomFillSync(bytes, 37, 48);
    const forged = bytes.toString('base64url');
    const res = await refresh(forged);
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'invalid_grant');
    assert.equal((await http(`${auth.url}/auth/logout`, { body: { refresh_token: forged } })).status, 200);
    assert.equal(
      (await refresh(second.body.refresh_token)).status,
      200,
      'not taken for reuse, not logged out',
    );
  });

  it('when the current token is presented in another spelling of the same bytes, then invalid_grant and the session lives on', async () => {
    const user = await registerAndLogin(auth.url);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const token = user.refresh_token;
    const variant = token.slice(0, -1) + alphabet[alphabet.indexOf(token.at(-1)!) ^ 1];
    assert.deepEqual(Buffer.from(variant, 'base64url'), Buffer.from(token, 'base64url'));
    const res = await refresh(variant);
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'invalid_grant');
    assert.equal((await refresh(token)).status, 200, 'not taken for reuse');
  });

  it('when a refresh token in the format before per-session generations is presented, then 401 invalid_grant', async () => {
    const user = await registerAndLogin(auth.url);
    const legacy = randomBytes(32).toString('base64url'); // 43 characters, as issued before
    const res = await refresh(legacy);
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'invalid_grant');
    assert.equal((await refresh(user.refresh_token)).status, 200);
  });

  it('when the idle lifetime passes without a refresh, then the session is gone', async (t) => {
    // The idle lifetime is the session key's TTL in Redis, on Redis's clock: wait (polling, without touching the
    // session) until Redis has expired the key, then refresh once.
    const scope = testScope(t);
    const short = await startTestAuth(
      { ...auth.env, REFRESH_IDLE_TTL: '1', REFRESH_ABSOLUTE_TTL: '60' },
      {},
      scope,
    );
    const user = await registerAndLogin(short.url);
    const key = `${short.config.redisKeyPrefix}session:{${user.user.id}}:${decodePart(user.access_token, 1).sid}`;
    const redis = useRedisClient(scope);
    assert.equal(await redis.exists(key), 1, 'the session key is where the test looks');
    await eventually(async () => (await redis.exists(key)) === 0, { timeout: 10_000 });
    const res = await refresh(user.refresh_token, short.url);
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'invalid_grant');
  });

  it('when the absolute lifetime passes, then refreshing keeps nothing alive', async (t) => {
    // The absolute lifetime is checked against the service's clock: moved forward, never slept through.
    let offset = 0;
    const short = await startTestAuth(
      { ...auth.env, REFRESH_IDLE_TTL: '3600', REFRESH_ABSOLUTE_TTL: '7200' },
      { now: () => Date.now() + offset },
      testScope(t),
    );
    let { refresh_token } = await registerAndLogin(short.url);
    for (const minutes of [50, 100]) {
      offset = minutes * 60_000; // each refresh inside the idle hour of the one before
      const res = await refresh(refresh_token, short.url);
      assert.equal(res.status, 200, `refresh at ${minutes} min inside the lifetimes`);
      refresh_token = res.body.refresh_token;
    }
    offset = 121 * 60_000; // past the absolute two hours, though never idle for an hour
    const res = await refresh(refresh_token, short.url);
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'invalid_grant');
  });

  it('when Redis is unreachable, then refresh answers 503, not 401', async () => {
    const proxy = await createRedisProxy();
    const viaProxy = await startTestAuth({ ...auth.env, ...proxy.env });
    try {
      const user = await registerAndLogin(viaProxy.url);
      await proxy.cut();
      const res = await refresh(user.refresh_token, viaProxy.url);
      assert.equal(res.status, 503);
      assert.equal(res.body.code, 'service_unavailable');
      await proxy.restore();
    } finally {
      await viaProxy.stop();
      await proxy.close();
    }
  });
});
