/** `@authstack/config`'s Redis settings: a URL, or Sentinels and a master name; bad values name their variable. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import {
  ConfigError,
  checkRedis,
  parseEnvironment,
  parseSentinels,
  redisFields,
  redisTarget,
} from '../src/index.ts';

const schema = z.object(redisFields).superRefine(checkRedis);
const load = (env: Record<string, string>) => redisTarget(parseEnvironment(schema, env));
const refused = (env: Record<string, string>, variable: string, message: RegExp) =>
  assert.throws(
    () => load(env),
    (error: unknown) =>
      error instanceof ConfigError && error.variable === variable && message.test(error.message),
  );

describe('Redis settings', () => {
  it('when only REDIS_URL is set, then the target is that URL and no Sentinel', () => {
    assert.deepEqual(load({ REDIS_URL: 'redis://r:6379/2' }), {
      url: 'redis://r:6379/2',
      sentinel: undefined,
      clusterNodes: undefined,
      natMap: undefined,
    });
  });

  it('when Sentinels and a master are set, then the target lists them with the Sentinel credentials', () => {
    assert.deepEqual(
      load({
        REDIS_URL: 'redis://default:pw@ignored:6379/0',
        REDIS_SENTINELS: 'sentinel-1:26379, redis_sentinel_2:26379,[fd00::3]:26380,10.0.0.4:1',
        REDIS_SENTINEL_MASTER: 'authstack',
        REDIS_SENTINEL_USERNAME: 'app',
        REDIS_SENTINEL_PASSWORD: 'secret',
      }),
      {
        url: 'redis://default:pw@ignored:6379/0',
        clusterNodes: undefined,
        natMap: undefined,
        sentinel: {
          sentinels: [
            { host: 'sentinel-1', port: 26379 },
            { host: 'redis_sentinel_2', port: 26379 },
            { host: 'fd00::3', port: 26380 },
            { host: '10.0.0.4', port: 1 },
          ],
          master: 'authstack',
          username: 'app',
          password: 'secret',
        },
      },
    );
  });

  it('when REDIS_SENTINELS is malformed, then start-up stops naming it', () => {
    for (const value of [
      'sentinel-1',
      'sentinel-1:',
      'sentinel-1:0',
      'sentinel-1:65536',
      'sentinel-1:26379,',
      'a b:26379',
      'fd00::3:26379',
      'sentinel-1:26379,sentinel-1:26379',
      'http://sentinel-1:26379',
      Array.from({ length: 17 }, (_, i) => `s${i}:26379`).join(','),
    ]) {
      assert.equal(parseSentinels(value), undefined, value);
      refused({ REDIS_SENTINELS: value, REDIS_SENTINEL_MASTER: 'm' }, 'REDIS_SENTINELS', /host:port/);
    }
  });

  it('when Sentinel settings are incomplete or inconsistent, then start-up stops naming the variable to fix', () => {
    refused({ REDIS_SENTINELS: 's:26379' }, 'REDIS_SENTINEL_MASTER', /required with REDIS_SENTINELS/);
    refused(
      { REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_MASTER: 'my master' },
      'REDIS_SENTINEL_MASTER',
      /group name/,
    );
    refused({ REDIS_SENTINEL_MASTER: 'authstack' }, 'REDIS_SENTINEL_MASTER', /set REDIS_SENTINELS/);
    refused({ REDIS_SENTINEL_PASSWORD: 'x' }, 'REDIS_SENTINEL_PASSWORD', /set REDIS_SENTINELS/);
    refused(
      { REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_MASTER: 'm', REDIS_SENTINEL_USERNAME: 'app' },
      'REDIS_SENTINEL_PASSWORD',
      /required with REDIS_SENTINEL_USERNAME/,
    );
    refused(
      { REDIS_URL: 'rediss://r:6380/0', REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_MASTER: 'm' },
      'REDIS_URL',
      /not supported/,
    );
  });

  it('when cluster nodes and a NAT map are set, then the target lists them and no Sentinel', () => {
    const target = load({
      REDIS_URL: 'redis://:pw@ignored:6379/0',
      REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7000',
      REDIS_CLUSTER_NAT_MAP: '10.0.0.1:7000=127.0.0.1:17000',
    });
    assert.deepEqual(target.clusterNodes, [
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7000 },
    ]);
    assert.deepEqual(target.natMap, { '10.0.0.1:7000': { host: '127.0.0.1', port: 17000 } });
    assert.equal(target.sentinel, undefined);
  });

  it('when both Sentinels and cluster nodes are set, then start-up stops naming REDIS_CLUSTER_NODES', () => {
    refused(
      {
        REDIS_URL: 'redis://r:6379/0',
        REDIS_SENTINELS: 's1:26379',
        REDIS_SENTINEL_MASTER: 'authstack',
        REDIS_CLUSTER_NODES: 'n1:7000',
      },
      'REDIS_CLUSTER_NODES',
      /exclude each other/,
    );
  });

  it('when a NAT map is set without cluster nodes, then start-up stops naming REDIS_CLUSTER_NAT_MAP', () => {
    refused(
      { REDIS_URL: 'redis://r:6379/0', REDIS_CLUSTER_NAT_MAP: '10.0.0.1:7000=127.0.0.1:17000' },
      'REDIS_CLUSTER_NAT_MAP',
      /REDIS_CLUSTER_NODES/,
    );
  });
});
