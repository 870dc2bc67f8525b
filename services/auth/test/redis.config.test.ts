/** Auth's Redis settings: Sentinels (with the password from a file) and waiting for replicas. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';
import { newKek } from './support.ts';

const base = { KEY_ENCRYPTION_KEY: newKek(), PASSWORD_PEPPER: newKek() };

describe('auth Redis settings', () => {
  it('when nothing is set, then one Redis URL and no waiting for replicas', () => {
    const config = loadConfig(base);
    assert.deepEqual(config.redis, {
      url: 'redis://127.0.0.1:6379/0',
      sentinel: undefined,
      clusterNodes: undefined,
      natMap: undefined,
    });
    assert.deepEqual(config.redisWait, { replicas: 0, timeoutMs: 500 });
  });

  it('when Sentinels are set with the password in a file, then the target names them and the password is read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'auth-redis-config-'));
    try {
      writeFileSync(join(dir, 'sentinel_password'), 'from-a-file\n');
      const config = loadConfig({
        ...base,
        REDIS_URL: 'redis://default:pw@redis:6379/0',
        REDIS_SENTINELS: 'redis-sentinel-1:26379,redis-sentinel-2:26379',
        REDIS_SENTINEL_MASTER: 'authstack',
        REDIS_SENTINEL_PASSWORD_FILE: join(dir, 'sentinel_password'),
        REDIS_WAIT_REPLICAS: '1',
        REDIS_WAIT_TIMEOUT_MS: '250',
      });
      assert.deepEqual(config.redis.sentinel, {
        sentinels: [
          { host: 'redis-sentinel-1', port: 26379 },
          { host: 'redis-sentinel-2', port: 26379 },
        ],
        master: 'authstack',
        username: undefined,
        password: 'from-a-file',
      });
      assert.deepEqual(config.redisWait, { replicas: 1, timeoutMs: 250 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when WAIT for replicas is asked of a Redis Cluster, then start-up stops naming REDIS_WAIT_REPLICAS', () => {
    assert.throws(
      () => loadConfig({ ...base, REDIS_CLUSTER_NODES: 'n1:7000', REDIS_WAIT_REPLICAS: '1' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.variable === 'REDIS_WAIT_REPLICAS' &&
        /Cluster/.test(error.message),
    );
  });

  for (const [variable, value] of [
    ['REDIS_WAIT_REPLICAS', '-1'],
    ['REDIS_WAIT_REPLICAS', '6'],
    ['REDIS_WAIT_REPLICAS', 'one'],
    ['REDIS_WAIT_TIMEOUT_MS', '0'],
    ['REDIS_WAIT_TIMEOUT_MS', '10001'],
    ['REDIS_SENTINELS', 'redis-sentinel-1'],
  ] as const) {
    it(`when ${variable}=${value}, then start-up stops naming ${variable}`, () => {
      assert.throws(
        () => loadConfig({ ...base, REDIS_SENTINEL_MASTER: 'authstack', [variable]: value }),
        (error: unknown) => error instanceof ConfigError && error.variable === variable,
      );
    });
  }
});
