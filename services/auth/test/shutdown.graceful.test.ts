import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually, http, suiteScope, type TestDatabase } from '@authstack/testing';
import { migratedDatabase, STRONG_PASSWORD, startTestAuth, testEnv, username } from './support.ts';

const authDir = fileURLToPath(new URL('..', import.meta.url));

describe('graceful shutdown', () => {
  const scope = suiteScope();
  let db: TestDatabase;
  let env: Record<string, string | undefined>;
  before(async () => {
    db = await migratedDatabase(scope);
    env = testEnv(db); // one key-encryption key for every instance on this database
  });

  it('when shutdown begins, then readiness fails at once while the process is still alive', async () => {
    const auth = await startTestAuth(env);
    try {
      assert.equal((await http(`${auth.url}/readyz`)).status, 200);
      auth.service.markShuttingDown();
      assert.equal((await http(`${auth.url}/readyz`)).status, 503);
      assert.equal((await http(`${auth.url}/healthz`)).status, 200);
    } finally {
      await auth.stop();
    }
  });

  it('when the process gets SIGTERM during a login, then the login completes and the process exits 0', async () => {
    // Cost 11: a bcrypt compare takes long enough (~100 ms) for the signal to arrive mid-request.
    const child = spawn(process.execPath, ['src/server.ts'], {
      cwd: authDir,
      env: { PATH: process.env.PATH, ...env, BCRYPT_COST: '11', LOG_LEVEL: 'info' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
    });
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const exited = once(child, 'exit') as Promise<[number | null]>;
    try {
      const url = await eventually(
        () => {
          const listening = /"url":"(http:\/\/[^"]+)","msg":"auth listening"/.exec(stdout)?.[1];
          assert.ok(listening, `auth did not start: ${stdout}${stderr}`);
          return listening;
        },
        { timeout: 10_000 },
      );
      const name = username('sigterm');
      assert.equal(
        (await http(`${url}/auth/register`, { body: { username: name, password: STRONG_PASSWORD } })).status,
        201,
      );

      const inFlight = http(`${url}/auth/login`, { body: { username: name, password: STRONG_PASSWORD } });
      await new Promise((resolve) => setTimeout(resolve, 30));
      child.kill('SIGTERM');
      const res = await inFlight;
      assert.equal(res.status, 200, 'the request in flight finished');
      assert.ok(res.body.access_token);
      const [code] = await exited;
      assert.equal(code, 0);
      assert.match(stdout, /"signal":"SIGTERM","msg":"shutting down"/);
      await assert.rejects(fetch(`${url}/healthz`), TypeError, 'no longer listening');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
