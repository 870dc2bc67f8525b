import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { http, suiteScope, type TestDatabase } from '@authstack/testing';
import type { LoadTestUsers } from '../src/domain/load-test-users.ts';
import { migratedDatabase, STRONG_PASSWORD, startTestAuth, type TestAuth, testEnv } from './support.ts';

const CLI = fileURLToPath(new URL('../src/cli/load-test-users.ts', import.meta.url));
const run = promisify(execFile);
const REAL = 'loadtest-000042';

describe('make seed / make unseed: load-test accounts straight into PostgreSQL', () => {
  const scope = suiteScope();
  let db: TestDatabase;
  let auth: TestAuth;
  let env: Record<string, string | undefined>;
  const cli = (...args: string[]) =>
    run(process.execPath, [CLI, ...args], {
      env: { ...env, PATH: process.env.PATH },
      maxBuffer: 64 * 1024 * 1024,
    });
  const seed = async (count: number) =>
    JSON.parse((await cli('seed', String(count))).stdout) as LoadTestUsers;
  const login = (username: string, password: string) =>
    http<{ refresh_token: string; code?: string }>(`${auth.url}/auth/login`, {
      body: { username, password },
    });

  before(async () => {
    db = await migratedDatabase(scope);
    env = testEnv(db, { LOG_LEVEL: 'silent' });
    auth = await startTestAuth(env, {}, scope);
    // A real account whose name follows the load-test pattern: seed and unseed must leave it alone.
    const registered = await http(`${auth.url}/auth/register`, {
      body: { username: REAL, password: STRONG_PASSWORD },
    });
    assert.equal(registered.status, 201);
  });

  it('when 10,000 accounts are seeded, then the users file lists them and each logs in with its password', async () => {
    const users = await seed(10_000);
    assert.equal(users.usernames.length, 9_999, "every name but the real account's");
    assert.equal(new Set(users.usernames).size, 9_999);
    assert.ok(!users.usernames.includes(REAL));
    for (const name of [users.usernames[0]!, users.usernames[9_998]!]) {
      assert.equal((await login(name, users.password)).status, 200);
    }
    assert.equal((await login(users.usernames[1]!, STRONG_PASSWORD)).body.code, 'invalid_credentials');
    assert.equal((await login(REAL, users.password)).body.code, 'invalid_credentials');
    assert.equal((await login(REAL, STRONG_PASSWORD)).status, 200, 'the real account keeps its password');
  });

  it('when seeding again, then it is idempotent: the same accounts, the new password works, the old does not', async () => {
    const first = await seed(20);
    const second = await seed(20);
    assert.deepEqual(second.usernames, first.usernames);
    assert.notEqual(second.password, first.password);
    assert.equal((await login(first.usernames[3]!, second.password)).status, 200);
    assert.equal((await login(first.usernames[4]!, first.password)).body.code, 'invalid_credentials');
  });

  it('when unseeded, then the accounts are gone, their sessions revoked, and the real account is kept', async () => {
    const users = await seed(5);
    const session = await login(users.usernames[2]!, users.password);
    assert.equal(session.status, 200);

    const { stderr } = await cli('unseed');
    assert.match(stderr, /removed 9999 load-test accounts and [1-9]\d* sessions/);
    assert.equal((await login(users.usernames[2]!, users.password)).body.code, 'invalid_credentials');
    const refresh = await http<{ code: string }>(`${auth.url}/auth/refresh`, {
      body: { refresh_token: session.body.refresh_token },
    });
    assert.equal(refresh.status, 401);
    assert.equal(refresh.body.code, 'invalid_grant');
    assert.equal((await login(REAL, STRONG_PASSWORD)).status, 200);
  });

  it('when the count is not a whole number, then seed stops with a message naming USERS', async () => {
    await assert.rejects(cli('seed', 'many'), (error: { stderr: string; code: number }) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr, /USERS must be a whole number/);
      return true;
    });
  });
});
