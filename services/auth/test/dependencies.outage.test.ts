import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  createRedisProxy,
  createTcpProxy,
  eventually,
  http,
  suiteScope,
  type TcpProxy,
} from '@authstack/testing';
import {
  migratedDatabase,
  registerAndLogin,
  STRONG_PASSWORD,
  startTestAuth,
  type TestAuth,
  testEnv,
  username,
} from './support.ts';

const target = (url: string) => {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port) };
};

/** `dependency_ready` by dependency, as /metrics reports it after the last readiness check. */
async function dependencyReady(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const found: Record<string, number> = {};
  for (const match of text.matchAll(/^dependency_ready\{[^}]*dependency="(\w+)"[^}]*\} (\d+)$/gm))
    found[match[1]!] = Number(match[2]);
  return found;
}

describe('when PostgreSQL or Redis is unreachable', () => {
  const scope = suiteScope();
  let auth: TestAuth;
  let pgProxy: TcpProxy;
  let redisProxy: Awaited<ReturnType<typeof createRedisProxy>>;
  let user: { username: string; password: string };
  const login = () => http(`${auth.url}/auth/login`, { body: user });

  before(async () => {
    const db = await migratedDatabase(scope);
    pgProxy = await createTcpProxy(target(db.url));
    redisProxy = await createRedisProxy();
    auth = await startTestAuth(
      testEnv(db, {
        DATABASE_URL: pgProxy.rewrite(db.url),
        ...redisProxy.env,
      }),
      {},
      scope,
    );
    user = await registerAndLogin(auth.url);
    scope.defer(async () => {
      await Promise.all([pgProxy.close(), redisProxy.close()]);
    });
  });

  it('Redis down: login answers 503 service_unavailable (no token without a session), readiness fails, then recovers', async () => {
    assert.equal((await http(`${auth.url}/readyz`)).status, 200);
    await redisProxy.cut();
    const res = await login();
    assert.equal(res.status, 503);
    assert.equal(res.body.code, 'service_unavailable');
    assert.equal(res.body.access_token, undefined);
    assert.ok(res.headers.get('retry-after'));
    assert.equal((await http(`${auth.url}/readyz`)).status, 503);
    assert.deepEqual(await dependencyReady(auth.url), { postgres: 1, redis: 0 }, 'what the alert reads');
    assert.equal((await http(`${auth.url}/healthz`)).status, 200, 'alive even when a dependency is not');
    await redisProxy.restore();
    await eventually(async () => (await login()).status === 200, 10_000, 200);
    assert.equal((await http(`${auth.url}/readyz`)).status, 200);
    assert.deepEqual(await dependencyReady(auth.url), { postgres: 1, redis: 1 });
  });

  it('PostgreSQL down: login and register answer 503, never 401 or 500, then recover', async () => {
    await pgProxy.cut();
    const loginRes = await login();
    assert.equal(loginRes.status, 503);
    assert.equal(loginRes.body.code, 'service_unavailable');
    const wrong = await http(`${auth.url}/auth/login`, { body: { ...user, password: 'definitely not it' } });
    assert.equal(wrong.status, 503, 'a wrong password cannot be judged without the database');
    const reg = await http(`${auth.url}/auth/register`, {
      body: { username: username(), password: STRONG_PASSWORD },
    });
    assert.equal(reg.status, 503);
    assert.equal((await http(`${auth.url}/readyz`)).status, 503);
    assert.deepEqual(await dependencyReady(auth.url), { postgres: 0, redis: 1 }, 'what the alert reads');
    assert.doesNotMatch(JSON.stringify(loginRes.body), /ECONNREFUSED|postgres|pg/i);
    await pgProxy.restore();
    await eventually(async () => (await login()).status === 200, 10_000, 200);
    assert.equal((await http(`${auth.url}/readyz`)).status, 200);
  });
});
