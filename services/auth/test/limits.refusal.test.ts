/**
 * The limiter refuses with `LimitReached` and the wait (store/limits.ts), no HTTP status; the use cases answer it
 * with the catalogue's `too_many_attempts`: the login counts the refusal as `rate_limited`, and the error handler answers it as 429 with
 * `Retry-After` equal to the body's `retry_after`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http, suiteScope, useRedisClient, useRedisPrefix } from '@authstack/testing';
import { createLimits, LimitReached, type LimitSettings } from '../src/store/limits.ts';
import { registerAndLogin, useAuth } from './support.ts';

const SETTINGS: LimitSettings = {
  pairFailures: 1,
  pairBlockSeconds: 120,
  ipFailuresPerDay: 100,
  userFailuresPerHour: 100,
  userSuccessesPerHour: 100,
  ipSuccessesPerHour: 100,
  registrationsPerHour: 1,
};

describe('the limiter refuses with LimitReached', () => {
  const scope = suiteScope();
  const prefix = useRedisPrefix(scope);
  const redis = useRedisClient(scope);

  it('when a login pair is at its limit, then reserveLogin rejects with LimitReached and its wait in seconds', async () => {
    const limits = createLimits(redis, prefix, SETTINGS);
    const attempt = await limits.reserveLogin('pair-at-limit', '198.51.100.7');
    await attempt.failed();

    await assert.rejects(limits.reserveLogin('pair-at-limit', '198.51.100.7'), (error: unknown) => {
      assert.ok(error instanceof LimitReached, 'LimitReached');
      assert.ok(error.retryAfterSec >= 1 && error.retryAfterSec <= SETTINGS.pairBlockSeconds);
      return true;
    });
  });

  it('when an address has used its registrations, then reserveRegistration rejects with LimitReached', async () => {
    const limits = createLimits(redis, prefix, SETTINGS);
    await limits.reserveRegistration('198.51.100.8');

    await assert.rejects(limits.reserveRegistration('198.51.100.8'), (error: unknown) => {
      assert.ok(error instanceof LimitReached, 'LimitReached');
      assert.ok(error.retryAfterSec >= 1 && error.retryAfterSec <= 3600);
      return true;
    });
  });
});

describe('a login refused by the limits', () => {
  const auth = useAuth({ env: { LOGIN_MAX_FAILURES_PER_USER_IP: '1' } });

  const rateLimitedCount = async () => {
    const text = await (await fetch(`${auth.url}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('auth_login_total{') && l.includes('outcome="rate_limited"'));
    return Number(line?.split(' ').at(-1) ?? 0);
  };

  it('when the limit is reached, then 429 too_many_attempts with Retry-After equal to retry_after, counted as rate_limited', async () => {
    const user = await registerAndLogin(auth.url);
    const countBefore = await rateLimitedCount();
    const wrong = await http(`${auth.url}/auth/login`, {
      body: { username: user.username, password: 'not the password' },
    });
    assert.equal(wrong.status, 401);

    const refused = await http<{ code: string; retry_after: number }>(`${auth.url}/auth/login`, {
      body: { username: user.username, password: user.password },
    });

    assert.equal(refused.status, 429);
    assert.equal(refused.body.code, 'too_many_attempts');
    assert.match(refused.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.ok(refused.body.retry_after >= 1);
    assert.equal(refused.headers.get('retry-after'), String(refused.body.retry_after));
    assert.equal(await rateLimitedCount(), countBefore + 1);
  });
});
