/** The resource service reads the same Redis settings as auth (session mode's one lookup per request). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('resource Redis settings', () => {
  it('when Sentinels and a master are set, then the target names them', () => {
    const { redis } = loadConfig({
      REDIS_URL: 'redis://default:pw@redis:6379/1',
      REDIS_SENTINELS: 's1:26379',
      REDIS_SENTINEL_MASTER: 'authstack',
    });
    assert.deepEqual(redis, {
      url: 'redis://default:pw@redis:6379/1',
      clusterNodes: undefined,
      natMap: undefined,
      sentinel: {
        sentinels: [{ host: 's1', port: 26379 }],
        master: 'authstack',
        username: undefined,
        password: undefined,
      },
    });
  });

  it('when REDIS_SENTINELS is set without a master, then start-up stops naming REDIS_SENTINEL_MASTER', () => {
    assert.throws(
      () => loadConfig({ REDIS_SENTINELS: 's1:26379' }),
      (error: unknown) => error instanceof ConfigError && error.variable === 'REDIS_SENTINEL_MASTER',
    );
  });
});
