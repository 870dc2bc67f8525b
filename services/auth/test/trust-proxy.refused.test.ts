/**
 * `TRUST_PROXY` values that trust everyone stop start-up (the real process, as
 * the operator starts it), and the value means what the shared parser says.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { testEnv, useMigratedDatabase } from './support.ts';

const run = promisify(execFile);
const authDir = fileURLToPath(new URL('..', import.meta.url));

describe('auth TRUST_PROXY', () => {
  const db = useMigratedDatabase();

  const start = (env: Record<string, string | undefined>) =>
    run(process.execPath, ['src/server.ts'], { cwd: authDir, env: { PATH: process.env.PATH, ...env } }).catch(
      (error: { code: number; stderr: string }) => error,
    ) as Promise<{ code: number; stderr: string }>;

  for (const value of ['true', '*', '0.0.0.0/0', '::/0', '::ffff:0:0/96']) {
    it(`when TRUST_PROXY=${value}, then start-up stops naming TRUST_PROXY`, async () => {
      const result = await start(testEnv(db, { TRUST_PROXY: value }));
      assert.equal(result.code, 1);
      assert.match(result.stderr, /configuration error: TRUST_PROXY: .*trusting every address/);
    });
  }

  it('when TRUST_PROXY is a hop count or a list, then auth reads it as the shared parser does', () => {
    assert.equal(loadConfig(testEnv(db, { TRUST_PROXY: '1' })).trustProxy, 1);
    assert.equal(loadConfig(testEnv(db, { TRUST_PROXY: 'false' })).trustProxy, false);
    assert.deepEqual(loadConfig(testEnv(db, { TRUST_PROXY: 'loopback, 10.0.0.0/8' })).trustProxy, [
      'loopback',
      '10.0.0.0/8',
    ]);
  });
});
