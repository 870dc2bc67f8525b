/** Login abuse limits: a refused attempt spends no other counter, successful logins bounded, password change reaching 429. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http } from '@authstack/testing';
import { STRONG_PASSWORD, startTestAuth, useAuth, username } from './support.ts';

describe('abuse limits: all or nothing, successes bounded, password change limited', () => {
  const auth = useAuth({ env: { TRUST_PROXY: 'loopback' } });
  const loginFrom = (ip: string, body: unknown, base = auth.url) =>
    http<{ access_token: string; code: string }>(`${base}/auth/login`, {
      body,
      headers: { 'x-forwarded-for': ip },
    });
  const newUser = async (base = auth.url) => {
    const name = username('al');
    const res = await http(`${base}/auth/register`, { body: { username: name, password: STRONG_PASSWORD } });
    assert.equal(res.status, 201);
    return name;
  };
  const withAuth = async (overrides: Record<string, string>, work: (base: string) => Promise<void>) => {
    const instance = await startTestAuth({ ...auth.env, ...overrides });
    try {
      await work(instance.url);
    } finally {
      await instance.stop();
    }
  };

  it('when an IP over its daily cap keeps trying a victim, then nothing is counted against the victim and the right password from another IP succeeds', async () => {
    await withAuth(
      { LOGIN_MAX_FAILURES_PER_IP_PER_DAY: '3', LOGIN_MAX_FAILURES_PER_USER_PER_HOUR: '5' },
      async (base) => {
        const victim = await newUser(base);
        const attacker = '203.0.113.66';
        for (let i = 0; i < 3; i++) {
          const res = await loginFrom(attacker, { username: `ghost${i}zz`, password: 'nope nope' }, base);
          assert.equal(res.status, 401, 'the attacker spends its own budget');
        }
        for (let i = 0; i < 6; i++) {
          const refused = await loginFrom(attacker, { username: victim, password: 'guess guess' }, base);
          assert.equal(refused.status, 429, `refused attempt ${i + 1}`);
          assert.equal(refused.body.code, 'too_many_attempts');
        }
        const owner = await loginFrom('198.51.100.66', { username: victim, password: STRONG_PASSWORD }, base);
        assert.equal(owner.status, 200, 'the six refused attempts consumed none of the victim’s counters');
      },
    );
  });

  it('when a pair is blocked, then its refused attempts do not spend the IP’s daily budget', async () => {
    await withAuth(
      { LOGIN_MAX_FAILURES_PER_USER_IP: '2', LOGIN_MAX_FAILURES_PER_IP_PER_DAY: '4' },
      async (base) => {
        const ip = '203.0.113.67';
        const blocked = await newUser(base);
        for (let i = 0; i < 2; i++) {
          assert.equal((await loginFrom(ip, { username: blocked, password: 'nope nope' }, base)).status, 401);
        }
        for (let i = 0; i < 5; i++) {
          assert.equal((await loginFrom(ip, { username: blocked, password: 'nope nope' }, base)).status, 429);
        }
        // 2 of the IP's 4 failures are spent; the refused attempts took none, so two more are judged.
        const other = await newUser(base);
        assert.equal((await loginFrom(ip, { username: other, password: 'nope nope' }, base)).status, 401);
        assert.equal((await loginFrom(ip, { username: other, password: STRONG_PASSWORD }, base)).status, 200);
      },
    );
  });

  it('when one account logs in successfully more often than LOGIN_MAX_SUCCESSES_PER_USER_PER_HOUR, then 429 with Retry-After, from any IP', async () => {
    await withAuth({ LOGIN_MAX_SUCCESSES_PER_USER_PER_HOUR: '3' }, async (base) => {
      const name = await newUser(base);
      for (let i = 0; i < 3; i++) {
        const ok = await loginFrom(
          `198.51.100.${70 + i}`,
          { username: name, password: STRONG_PASSWORD },
          base,
        );
        assert.equal(ok.status, 200, `login ${i + 1}`);
      }
      const over = await loginFrom('198.51.100.80', { username: name, password: STRONG_PASSWORD }, base);
      assert.equal(over.status, 429);
      assert.equal(over.body.code, 'too_many_attempts');
      const retryAfter = Number(over.headers.get('retry-after'));
      assert.ok(retryAfter > 3500 && retryAfter <= 3600, `Retry-After ${retryAfter}`);
      const someoneElse = await newUser(base);
      assert.equal(
        (await loginFrom('198.51.100.80', { username: someoneElse, password: STRONG_PASSWORD }, base)).status,
        200,
        'only that account is bounded',
      );
    });
  });

  it('when one client logs in successfully more often than LOGIN_MAX_SUCCESSES_PER_IP_PER_HOUR, then 429, and other clients are unaffected', async () => {
    await withAuth({ LOGIN_MAX_SUCCESSES_PER_IP_PER_HOUR: '3' }, async (base) => {
      const users = [await newUser(base), await newUser(base), await newUser(base), await newUser(base)];
      const ip = '198.51.100.90';
      for (const name of users.slice(0, 3)) {
        assert.equal((await loginFrom(ip, { username: name, password: STRONG_PASSWORD }, base)).status, 200);
      }
      const over = await loginFrom(ip, { username: users[3], password: STRONG_PASSWORD }, base);
      assert.equal(over.status, 429);
      assert.equal(over.body.code, 'too_many_attempts');
      assert.ok(Number(over.headers.get('retry-after')) > 0);
      assert.equal(
        (await loginFrom('198.51.100.91', { username: users[3], password: STRONG_PASSWORD }, base)).status,
        200,
      );
    });
  });

  it('when passwords are wrong, then the success budget is not spent', async () => {
    await withAuth({ LOGIN_MAX_SUCCESSES_PER_USER_PER_HOUR: '1' }, async (base) => {
      const name = await newUser(base);
      for (let i = 0; i < 3; i++) {
        assert.equal(
          (await loginFrom(`198.51.100.${100 + i}`, { username: name, password: 'nope nope' }, base)).status,
          401,
        );
      }
      assert.equal(
        (await loginFrom('198.51.100.110', { username: name, password: STRONG_PASSWORD }, base)).status,
        200,
      );
    });
  });

  it('when the current password is wrong on password change again and again, then the 6th answer is 429', async () => {
    const name = await newUser();
    const session = await loginFrom('198.51.100.120', { username: name, password: STRONG_PASSWORD });
    assert.equal(session.status, 200);
    const change = () =>
      http(`${auth.url}/auth/password`, {
        token: session.body.access_token,
        body: { current_password: 'not my password', new_password: 'a brand new passphrase' },
        headers: { 'x-forwarded-for': '198.51.100.121' },
      });
    for (let i = 1; i <= 5; i++) {
      const res = await change();
      assert.equal(res.status, 401, `attempt ${i}`);
      assert.equal(res.body.code, 'invalid_credentials');
    }
    const limited = await change();
    assert.equal(limited.status, 429);
    assert.equal(limited.body.code, 'too_many_attempts');
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
  });
});
