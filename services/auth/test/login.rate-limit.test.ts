import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRedisProxy, createTcpProxy, eventually, http } from '@authstack/testing';
import { STRONG_PASSWORD, startTestAuth, useAuth, username } from './support.ts';

describe('login and registration limits', () => {
  const auth = useAuth({ env: { TRUST_PROXY: 'loopback' } });
  /** As if sent through the gateway (a trusted loopback proxy) for client `ip`. */
  const loginFrom = (ip: string, body: unknown, base = auth.url) =>
    http(`${base}/auth/login`, { body, headers: { 'x-forwarded-for': ip } });
  const newUser = async (base = auth.url) => {
    const name = username('rl');
    assert.equal(
      (await http(`${base}/auth/register`, { body: { username: name, password: STRONG_PASSWORD } })).status,
      201,
    );
    return name;
  };

  it('the 6th consecutive failure for one user from one IP is 429 with Retry-After; the right password then too', async () => {
    const name = await newUser();
    for (let i = 1; i <= 5; i++) {
      const res = await loginFrom('203.0.113.10', { username: name, password: 'wrong password!' });
      assert.equal(res.status, 401, `attempt ${i}`);
    }
    const sixth = await loginFrom('203.0.113.10', { username: name, password: 'wrong password!' });
    assert.equal(sixth.status, 429);
    assert.equal(sixth.body.code, 'too_many_attempts');
    const retryAfter = Number(sixth.headers.get('retry-after'));
    assert.ok(retryAfter > 800 && retryAfter <= 900, `Retry-After ${retryAfter}`);
    const right = await loginFrom('203.0.113.10', { username: name, password: STRONG_PASSWORD });
    assert.equal(right.status, 429, 'blocked even with the right password');
    const elsewhere = await loginFrom('198.51.100.7', { username: name, password: 'wrong password!' });
    assert.equal(elsewhere.status, 401, 'the same user from another IP is judged normally');
    assert.equal(
      (await loginFrom('198.51.100.7', { username: name, password: STRONG_PASSWORD })).status,
      200,
    );
  });

  it('a success resets the pair counter', async () => {
    const name = await newUser();
    for (let i = 0; i < 4; i++)
      await loginFrom('203.0.113.20', { username: name, password: 'wrong password!' });
    assert.equal(
      (await loginFrom('203.0.113.20', { username: name, password: STRONG_PASSWORD })).status,
      200,
    );
    for (let i = 1; i <= 5; i++) {
      assert.equal(
        (await loginFrom('203.0.113.20', { username: name, password: 'wrong password!' })).status,
        401,
        `after reset ${i}`,
      );
    }
    assert.equal(
      (await loginFrom('203.0.113.20', { username: name, password: 'wrong password!' })).status,
      429,
    );
  });

  it('50 parallel wrong attempts: at most the limit are judged (401), the rest 429', async () => {
    const name = await newUser();
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        loginFrom('203.0.113.30', { username: name, password: 'wrong password!' }),
      ),
    );
    const judged = results.filter((r) => r.status === 401).length;
    const limited = results.filter((r) => r.status === 429).length;
    assert.ok(judged <= 5, `${judged} answered 401`);
    assert.equal(judged + limited, 50);
  });

  it('a forged X-Forwarded-For from an untrusted peer does not escape the block', async () => {
    const strict = await startTestAuth({ ...auth.env, TRUST_PROXY: '192.0.2.1' }); // the peer 127.0.0.1 is not a proxy
    try {
      const name = await newUser(strict.url);
      for (let i = 0; i < 5; i++) {
        await loginFrom(`198.18.0.${i}`, { username: name, password: 'wrong password!' }, strict.url);
      }
      for (const forged of ['198.18.1.1', '10.0.0.1, 198.18.1.2', '127.0.0.1']) {
        const res = await loginFrom(forged, { username: name, password: STRONG_PASSWORD }, strict.url);
        assert.equal(res.status, 429, `X-Forwarded-For: ${forged}`);
      }
    } finally {
      await strict.stop();
    }
  });

  it('failures are capped per username across IPs and per IP across usernames', async () => {
    const capped = await startTestAuth({
      ...auth.env,
      LOGIN_MAX_FAILURES_PER_USER_PER_HOUR: '8',
      LOGIN_MAX_FAILURES_PER_IP_PER_DAY: '12',
    });
    try {
      const name = await newUser(capped.url);
      for (let i = 0; i < 8; i++) {
        assert.equal(
          (await loginFrom(`198.19.0.${i}`, { username: name, password: 'nope nope' }, capped.url)).status,
          401,
        );
      }
      assert.equal(
        (await loginFrom('198.19.1.1', { username: name, password: STRONG_PASSWORD }, capped.url)).status,
        429,
      );
      const ip = '198.19.2.2';
      for (let i = 0; i < 12; i++) {
        await loginFrom(ip, { username: `ghost${i}x`, password: 'nope nope' }, capped.url);
      }
      assert.equal(
        (await loginFrom(ip, { username: 'anotherghost', password: 'nope nope' }, capped.url)).status,
        429,
      );
    } finally {
      await capped.stop();
    }
  });

  it('registration is limited per IP', async () => {
    const limited = await startTestAuth({ ...auth.env, REGISTER_MAX_PER_IP_PER_HOUR: '3' });
    try {
      const register = (ip: string) =>
        http(`${limited.url}/auth/register`, {
          body: { username: username('reg'), password: STRONG_PASSWORD },
          headers: { 'x-forwarded-for': ip },
        });
      for (let i = 0; i < 3; i++) assert.equal((await register('203.0.113.40')).status, 201);
      const over = await register('203.0.113.40');
      assert.equal(over.status, 429);
      assert.ok(Number(over.headers.get('retry-after')) > 0);
      assert.equal((await register('203.0.113.41')).status, 201);
    } finally {
      await limited.stop();
    }
  });

  it('when PostgreSQL is down, failed lookups do not count as attempts; when Redis is down, login fails closed with 503', async () => {
    const pgProxy = await createTcpProxy({
      host: new URL(auth.db.url).hostname,
      port: Number(new URL(auth.db.url).port),
    });
    const redisProxy = await createRedisProxy();
    const viaProxies = await startTestAuth({
      ...auth.env,
      DATABASE_URL: pgProxy.rewrite(auth.db.url),
      ...redisProxy.env,
    });
    try {
      const name = await newUser(viaProxies.url);
      await pgProxy.cut();
      for (let i = 0; i < 8; i++) {
        assert.equal(
          (await loginFrom('203.0.113.50', { username: name, password: STRONG_PASSWORD }, viaProxies.url))
            .status,
          503,
        );
      }
      await pgProxy.restore();
      // The pool reconnects on its own time: 503 until it has, then 200 (never 429).
      await eventually(
        async () => {
          const { status } = await loginFrom(
            '203.0.113.50',
            { username: name, password: STRONG_PASSWORD },
            viaProxies.url,
          );
          assert.notEqual(status, 429, 'blocked by the attempts the outage prevented');
          assert.equal(status, 200, 'not blocked by the attempts the outage prevented');
        },
        { timeout: 10_000, interval: 200 },
      );
      await redisProxy.cut();
      const closed = await loginFrom(
        '203.0.113.50',
        { username: name, password: STRONG_PASSWORD },
        viaProxies.url,
      );
      assert.equal(closed.status, 503);
      await redisProxy.restore();
    } finally {
      await viaProxies.stop();
      await Promise.all([pgProxy.close(), redisProxy.close()]);
    }
  });
});
