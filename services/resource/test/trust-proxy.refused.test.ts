/**
 * The resource service parses `TRUST_PROXY` with the same parser as auth. Before,
 * it handed the raw string to express: `1` meant the address 0.0.0.1 instead of one hop, and `true` was not
 * refused as trusting everyone.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config.ts';

const run = promisify(execFile);
const resourceDir = fileURLToPath(new URL('..', import.meta.url));

describe('resource TRUST_PROXY', () => {
  const start = (env: Record<string, string | undefined>) =>
    run(process.execPath, ['src/server.ts'], {
      cwd: resourceDir,
      env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', ...env },
    }).catch((error: { code: number; stderr: string }) => error) as Promise<{ code: number; stderr: string }>;

  for (const value of ['true', '*', '0.0.0.0/0', '::/0', '::ffff:0:0/96']) {
    it(`when TRUST_PROXY=${value}, then start-up stops naming TRUST_PROXY`, async () => {
      const result = await start({ TRUST_PROXY: value });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /configuration error: TRUST_PROXY: .*trusting every address/);
    });
  }

  it('when TRUST_PROXY=1, then it is one trusted hop, as in auth', () => {
    assert.equal(loadConfig({ TRUST_PROXY: '1' }).trustProxy, 1);
  });

  it('when TRUST_PROXY is a list, then it is the same list as auth reads', () => {
    assert.deepEqual(loadConfig({ TRUST_PROXY: 'Loopback, 10.0.0.0/8' }).trustProxy, [
      'loopback',
      '10.0.0.0/8',
    ]);
    assert.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false);
  });
});
