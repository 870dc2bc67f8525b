/**
 * The login limits as two slot groups (the IP's, then the username's) with a compensation, straight on the
 * store (`createLimits`), in `make test` and against the cluster in `make test-cluster`. The guarantees of the one
 * all-or-nothing script they replace: parallel attempts never overshoot a limit, a refused attempt leaves no point
 * behind on any counter (the compensation gave the IP's back), and an IP over its cap never reaches the username's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { suiteScope, useRedisClient, useRedisPrefix } from '@authstack/testing';
import {
  createLimits,
  LimitReached,
  type LimitSettings,
  loginIpKey,
  loginPairKey,
  loginSuccessIpKey,
  loginSuccessUserKey,
  loginUserKey,
} from '../src/store/limits.ts';

const HIGH: LimitSettings = {
  pairFailures: 1000,
  pairBlockSeconds: 900,
  ipFailuresPerDay: 1000,
  userFailuresPerHour: 1000,
  userSuccessesPerHour: 1000,
  ipSuccessesPerHour: 1000,
  registrationsPerHour: 10,
};

describe('login limits in two slot groups', () => {
  const scope = suiteScope();
  const prefix = useRedisPrefix(scope);
  const redis = useRedisClient(scope);

  const count = async (key: string) => Number((await redis.get(key)) ?? 0);
  /** Reserve `n` attempts at once; the reserved ones fail (wrong password). How many were let through. */
  const parallelWrongGuesses = async (
    limits: ReturnType<typeof createLimits>,
    n: number,
    user: string,
    ip: string,
  ) => {
    const outcomes = await Promise.allSettled(Array.from({ length: n }, () => limits.reserveLogin(user, ip)));
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') await outcome.value.failed();
      else assert.ok(outcome.reason instanceof LimitReached, String(outcome.reason));
    }
    return outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
  };

  it('when 40 wrong guesses at one username arrive at once, then exactly its limit get through and the IP keeps only their points', async () => {
    const limits = createLimits(redis, prefix, { ...HIGH, userFailuresPerHour: 5 });
    const ip = '198.51.100.1';
    assert.equal(await parallelWrongGuesses(limits, 40, 'victim1', ip), 5);
    assert.equal(await count(loginUserKey(prefix, 'victim1')), 5);
    // 35 refusals by the username group: each took an IP point first and gave it back.
    assert.equal(await count(loginIpKey(prefix, ip)), 5, 'IP failures: the judged attempts only');
    assert.equal(await count(loginSuccessIpKey(prefix, ip)), 0, 'IP successes: all given back');
    assert.equal(await count(loginSuccessUserKey(prefix, 'victim1')), 0);
  });

  it('when 40 wrong guesses from one IP arrive at once, then exactly its limit get through and the usernames keep only theirs', async () => {
    const limits = createLimits(redis, prefix, { ...HIGH, ipFailuresPerDay: 4 });
    const ip = '198.51.100.2';
    const users = Array.from({ length: 40 }, (_, i) => `spray${i}`);
    const outcomes = await Promise.allSettled(users.map((user) => limits.reserveLogin(user, ip)));
    for (const outcome of outcomes) if (outcome.status === 'fulfilled') await outcome.value.failed();
    assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 4);
    assert.equal(await count(loginIpKey(prefix, ip)), 4);
    let userPoints = 0;
    for (const user of users) userPoints += await count(loginUserKey(prefix, user));
    assert.equal(userPoints, 4, 'the refused attempts never reached the username group');
  });

  it('when an IP is over its cap, then its attempts at a victim leave no counter of the victim', async () => {
    const limits = createLimits(redis, prefix, { ...HIGH, ipFailuresPerDay: 2 });
    const ip = '198.51.100.3';
    assert.equal(await parallelWrongGuesses(limits, 2, 'someone', ip), 2);
    assert.equal(await parallelWrongGuesses(limits, 10, 'victim3', ip), 0);
    for (const key of [
      loginUserKey(prefix, 'victim3'),
      loginSuccessUserKey(prefix, 'victim3'),
      loginPairKey(prefix, 'victim3', ip),
    ]) {
      assert.equal(await redis.exists(key), 0, key);
    }
  });
});
