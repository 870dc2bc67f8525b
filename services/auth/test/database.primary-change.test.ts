/**
 * A PostgreSQL primary change as the services see it: every connection of theirs is dropped by the server
 * (`pg_terminate_backend`, what a failover or a switchover does to the old primary's sessions), while requests run.
 * Each request answers its normal status or 503, never 500; the pool's `error` events on idle clients do not crash
 * the process; and the same running instance serves again without a restart. A service whose endpoint leads to a
 * read-only server (a demoted primary, a stale DNS answer) answers 503 on writes, not 500. And a primary that goes
 * silent without closing its connections (a node lost) costs a bounded wait and a 503, not a request that hangs.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  createTcpProxy,
  eventually,
  http,
  infraUrls,
  suiteScope,
  type TcpProxy,
  usePgClient,
} from '@authstack/testing';
import type pg from 'pg';
import {
  migratedDatabase,
  registerAndLogin,
  STRONG_PASSWORD,
  startTestAuth,
  type TestAuth,
  testEnv,
  useAuth,
  username,
} from './support.ts';

const WORKERS = 4;
const DROPS = 3;

describe('when PostgreSQL drops every connection of the service mid-run', () => {
  const scope = suiteScope();
  const auth = useAuth();
  let user: { username: string; password: string };
  let admin: pg.Client;

  /** pg_terminate_backend on every session of the service (its application_name) in this test's database. */
  const dropConnections = async (): Promise<number> => {
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE datname = $1 AND application_name = 'authstack-auth' AND pid <> pg_backend_pid()`,
      [auth.db.name],
    );
    return rows[0]?.n ?? 0;
  };
  const serviceConnections = async (): Promise<number> => {
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'authstack-auth'`,
      [auth.db.name],
    );
    return rows[0]?.n ?? 0;
  };

  before(async () => {
    user = await registerAndLogin(auth.url);
    admin = await usePgClient(scope, infraUrls().databaseUrl);
  });

  it('then requests answer 200/201 or 503 (never 500), and the same instance recovers by itself', async () => {
    const statuses: number[] = [];
    const codes = new Set<string>();
    let running = true;
    const worker = async (index: number) => {
      while (running) {
        const res =
          index % 2 === 0
            ? await http(`${auth.url}/auth/login`, { body: user })
            : await http(`${auth.url}/auth/register`, {
                body: { username: username('fo'), password: STRONG_PASSWORD },
              });
        statuses.push(res.status);
        if (res.status === 503) codes.add(String(res.body.code));
        if (res.status >= 500 && res.status !== 503) codes.add(`unexpected ${res.status} ${res.body.code}`);
      }
    };
    const workers = Array.from({ length: WORKERS }, (_, index) => worker(index));

    let dropped = 0;
    for (let round = 0; round < DROPS; round++) {
      // wait until the pool has connections again (requests made them), then drop them all
      await eventually(async () => (await serviceConnections()) > 0, 10_000, 20);
      dropped += await dropConnections();
      const seen = statuses.length;
      await eventually(async () => statuses.length > seen + WORKERS, 10_000, 20);
    }
    // idle clients too: stop the load, let the pool settle, drop what it holds while nothing runs
    running = false;
    await Promise.all(workers);
    await eventually(async () => (await serviceConnections()) > 0, 10_000, 20);
    dropped += await dropConnections();

    assert.ok(dropped >= DROPS + 1, `connections were dropped (${dropped})`);
    const unexpected = statuses.filter((status) => ![200, 201, 503].includes(status));
    assert.deepEqual(unexpected, [], 'only success or 503');
    assert.deepEqual(
      [...codes].filter((code) => code !== 'service_unavailable'),
      [],
      '503s are service_unavailable',
    );

    // no restart: the same instance answers again, readiness included
    await eventually(
      async () => (await http(`${auth.url}/auth/login`, { body: user })).status === 200,
      10_000,
      100,
    );
    assert.equal((await http(`${auth.url}/readyz`)).status, 200);
    const fresh = await http(`${auth.url}/auth/register`, {
      body: { username: username('after'), password: STRONG_PASSWORD },
    });
    assert.equal(fresh.status, 201);
  });
});

describe('when the database endpoint leads to a read-only server (a standby)', () => {
  const scope = suiteScope();
  const primary = useAuth(); // creates the signing key
  let onStandby: TestAuth;

  before(async () => {
    const readOnly = new URL(primary.db.url);
    readOnly.searchParams.set('options', '-c default_transaction_read_only=on');
    onStandby = await startTestAuth(
      testEnv(primary.db, {
        DATABASE_URL: readOnly.toString(),
        KEY_ENCRYPTION_KEY: primary.env.KEY_ENCRYPTION_KEY,
        PASSWORD_PEPPER: primary.env.PASSWORD_PEPPER,
      }),
      {},
      scope,
    );
  });

  it('then a write answers 503 service_unavailable (retry later), never 500', async () => {
    const res = await http(`${onStandby.url}/auth/register`, {
      body: { username: username('ro'), password: STRONG_PASSWORD },
    });
    assert.equal(res.status, 503);
    assert.equal(res.body.code, 'service_unavailable');
    assert.doesNotMatch(JSON.stringify(res.body), /read-only|25006|postgres/i);
  });
});

describe('when the primary goes silent without closing its connections (a node lost)', () => {
  const scope = suiteScope();
  let auth: TestAuth;
  let proxy: TcpProxy;
  let user: { username: string; password: string };

  before(async () => {
    const db = await migratedDatabase(scope);
    const url = new URL(db.url);
    proxy = await createTcpProxy({ host: url.hostname, port: Number(url.port) });
    auth = await startTestAuth(testEnv(db, { DATABASE_URL: proxy.rewrite(db.url) }), {}, scope);
    scope.defer(() => proxy.close()); // runs first: frozen connections dropped, so the pool can close
    user = await registerAndLogin(auth.url);
  });

  it('then a login on a pooled connection answers 503 service_unavailable once the query timeout passes, then recovers', async () => {
    proxy.freeze(); // the pool's idle connections now lead nowhere; new ones are accepted and never answered
    const frozen = await http(`${auth.url}/auth/login`, { body: user });
    assert.equal(frozen.status, 503);
    assert.equal(frozen.body.code, 'service_unavailable');
    assert.equal((await http(`${auth.url}/readyz`)).status, 503);

    await proxy.restore();
    await eventually(
      async () => (await http(`${auth.url}/auth/login`, { body: user })).status === 200,
      20_000,
      200,
    );
    assert.equal((await http(`${auth.url}/readyz`)).status, 200);
  });
});
