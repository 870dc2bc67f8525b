/**
 * Redis Cluster: every Lua script of the session store and of the login limits names keys of one hash
 * slot only, and every key it touches is one it was given in KEYS. Runs against whatever Redis the suite uses (a
 * single one in `make test`, the cluster in `make test-cluster`): each script call is recorded on its way to Redis
 * and its KEYS are checked with `cluster-key-slot` (the slot function Redis Cluster and ioredis use), and the
 * operations must still work. Usernames and addresses with braces and IPv6 addresses are included.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import type { RedisClient } from '@authstack/redis';
import { scanRedisKeys, suiteScope, useRedisClient, useRedisPrefix } from '@authstack/testing';
import { createLimits, type LimitSettings, loginCounters } from '../src/store/limits.ts';
import { createSessionStore } from '../src/store/sessions.ts';

const keySlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

const LIMITS: LimitSettings = {
  pairFailures: 5,
  pairBlockSeconds: 900,
  ipFailuresPerDay: 100,
  userFailuresPerHour: 100,
  userSuccessesPerHour: 30,
  ipSuccessesPerHour: 300,
  registrationsPerHour: 10,
};

/** `redis`, with every EVAL's KEYS recorded. */
function recording(redis: RedisClient) {
  const calls: string[][] = [];
  const client = new Proxy(redis, {
    get(target, property, receiver) {
      if (property === 'eval') {
        return (script: string, numKeys: number, ...rest: (string | number)[]) => {
          calls.push(rest.slice(0, numKeys).map(String));
          return target.eval(script, numKeys, ...rest);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { client, calls };
}

const slotsOf = (keys: string[]) => [...new Set(keys.map(keySlot))];

describe('Redis keys and hash slots (Redis Cluster)', () => {
  const scope = suiteScope();
  const prefix = useRedisPrefix(scope);
  const redis = useRedisClient(scope);

  for (const userId of [randomUUID(), 'odd{id}x', 'a}b{c', '}x{']) {
    it(`when every session script runs for user ${JSON.stringify(userId)}, then each call's keys share one slot`, async () => {
      const { client, calls } = recording(redis);
      const sessions = createSessionStore(client, prefix, {
        idleTtl: 60,
        absoluteTtl: 600,
        maxPerUser: 2,
      });
      const now = Date.now();
      const sids = [randomUUID(), randomUUID(), randomUUID()];
      const token = { generation: 1, tokenHash: 'rt1', familyHash: 'fam' };
      const meta = { ip: '192.0.2.1', userAgent: 'test' };
      for (const [i, sid] of sids.entries()) {
        await sessions.create({ sid, userId, createdAt: now + i, ...meta }, token, 'cookie1');
      }
      assert.deepEqual(
        (await sessions.list(userId)).map((s) => s.id).sort(),
        sids.slice(1).sort(),
        'the cap of 2 evicted the oldest',
      );
      const rotated = await sessions.rotate(
        { userId, sid: sids[1]!, tokenHash: 'rt1', familyHash: 'fam' },
        'rt2',
        { now, ...meta },
      );
      assert.deepEqual(rotated, { outcome: 'rotated', generation: 2 });
      assert.equal((await sessions.useCookie(userId, sids[2]!, 'cookie1', now)).outcome, 'ok');
      await sessions.cacheToken(userId, sids[2]!, 'cookie1', 'token', now + 10_000);
      assert.equal(await sessions.rotateCookie(userId, sids[2]!, 'cookie1', 'cookie2'), true);
      await sessions.privilegesChanged(userId);
      assert.equal(await sessions.revoke(userId, sids[1]!), true);
      assert.equal(await sessions.revokeAll(userId), 1);
      assert.deepEqual(await sessions.list(userId), []);

      assert.ok(calls.length >= 9, 'every script call was recorded');
      for (const keys of calls) {
        assert.ok(keys.length > 0, 'a script names its keys in KEYS');
        assert.equal(slotsOf(keys).length, 1, `one slot for ${keys.join(', ')}`);
      }
      // Creating the third session evicted the first: its key was in that call's KEYS.
      const evicting = calls.find((keys) => keys.some((key) => key.endsWith(sids[0]!)) && keys.length > 3);
      assert.ok(evicting, 'the evicted session key was passed in KEYS');
    });
  }

  it('when the index changes between the read and the script, then the script is run again over the new index', async () => {
    const userId = randomUUID();
    const { client, calls } = recording(redis);
    const sessions = createSessionStore(client, prefix, {
      idleTtl: 60,
      absoluteTtl: 600,
      maxPerUser: 5,
    });
    const meta = { ip: '192.0.2.1', userAgent: 'test', userId };
    const token = { generation: 1, tokenHash: 'rt', familyHash: 'fam' };
    await sessions.create({ sid: 'first', createdAt: 1, ...meta }, token);
    // A login of the same user sneaks in right after revokeAll read the index: the first script call is stale.
    let sneaked = false;
    const racing = createSessionStore(
      new Proxy(client, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver);
          if (property !== 'zrange' || sneaked) return value;
          return async (...args: [string, string, string]) => {
            const read = await target.zrange(...args);
            sneaked = true;
            await sessions.create({ sid: 'second', createdAt: 2, ...meta }, token);
            return read;
          };
        },
      }),
      prefix,
      { idleTtl: 60, absoluteTtl: 600, maxPerUser: 5 },
    );
    calls.length = 0;
    assert.equal(await racing.revokeAll(userId), 2, 'both sessions, the one that came in between too');
    assert.deepEqual(await sessions.list(userId), []);
  });

  for (const [name, ip] of [
    ['IPv4', '203.0.113.9'],
    ['IPv6', '2001:db8::1'],
    ['braces', '{x}'],
  ] as const) {
    it(`when a login is reserved and settled (${name}), then each script call's keys share one slot`, async () => {
      const { client, calls } = recording(redis);
      const limits = createLimits(client, prefix, LIMITS);
      for (const user of ['alice', 'b{o}b', '}eve{']) {
        await (await limits.reserveLogin(user, ip)).succeeded();
        await (await limits.reserveLogin(user, ip)).failed();
        await (await limits.reserveLogin(user, ip)).release();
      }
      assert.ok(calls.length >= 27);
      for (const keys of calls) assert.equal(slotsOf(keys).length, 1, `one slot for ${keys.join(', ')}`);
    });
  }

  it('when the login counters are grouped, then every counter is in exactly one group and the groups name it', () => {
    const { ipGroup, userGroup } = loginCounters('p:', LIMITS, 'alice', '203.0.113.9');
    const keys = [...ipGroup, ...userGroup].map(([key]) => key);
    assert.equal(new Set(keys).size, 5, 'five counters');
    assert.equal(slotsOf(ipGroup.map(([key]) => key)).length, 1);
    assert.equal(slotsOf(userGroup.map(([key]) => key)).length, 1);
  });

  it('when a test prefix is scanned, then the keys on every primary are found', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `${prefix}scan:${i}`);
    await Promise.all(keys.map((key) => redis.set(key, '1', 'EX', 60)));
    assert.deepEqual((await scanRedisKeys(redis, `${prefix}scan:*`)).sort(), [...keys].sort());
  });
});
