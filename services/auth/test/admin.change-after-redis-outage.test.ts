/**
 * A disable or a demotion is saved in PostgreSQL, then its sessions are ended in Redis. When Redis goes away between
 * the two, the change must still be audited (the event is written in the change's own transaction) and its
 * revocation must still happen: it is queued in the same transaction and carried out by the admin's retry, or by
 * the service on its own once Redis is back.
 *
 * Redis is cut "right after the commit" without any hook in the service: the test holds the admin rows' lock, so the
 * change waits inside its transaction (its session check already passed); Redis is cut, then the lock released.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRedisProxy, eventually, http, useFixture } from '@authstack/testing';
import pg from 'pg';
import { type AdminStack, patchUser, secondAdmin, startWithAdmin } from './admin-support.ts';

type Stack = AdminStack & { redis: Awaited<ReturnType<typeof createRedisProxy>> };

const RETRY_MS = 300;

/** Send `body` as a PATCH of `target` that commits while Redis is cut; Redis comes back afterwards. */
async function changeWhileRedisCut(stack: Stack, target: string, body: unknown) {
  const locker = new pg.Client({ connectionString: stack.db.url });
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query(`SELECT id FROM users WHERE 'admin' = ANY(roles) FOR UPDATE`);
    const pending = patchUser(stack.auth.url, stack.admin.access_token, target, body);
    await eventually(async () => {
      // pg_stat_activity is read once per transaction and then cached: clear it, or the locker never sees the wait
      await locker.query('SELECT pg_stat_clear_snapshot()');
      const { rowCount } = await locker.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return (rowCount ?? 0) > 0;
    });
    await stack.redis.cut();
    await locker.query('COMMIT');
    return await pending;
  } finally {
    await locker.end();
  }
}

const events = (stack: Stack, type: string, userId: string) =>
  http<{ events: { details: Record<string, unknown> }[] }>(
    `${stack.auth.url}/auth/admin/events?type=${type}&user_id=${userId}`,
    { token: stack.admin.access_token },
  );

/** The account's live sessions, as the admin API lists them (what a session-mode verifier checks). */
const liveSessions = async (stack: Stack, userId: string) => {
  const res = await http<{ sessions: unknown[] }>(`${stack.auth.url}/auth/admin/users/${userId}/sessions`, {
    token: stack.admin.access_token,
  });
  assert.equal(res.status, 200);
  return res.body.sessions.length;
};

describe('when Redis fails right after an admin change is committed', () => {
  const stack = useFixture<Stack>(async (scope) => {
    const redis = await createRedisProxy();
    scope.defer(() => redis.close());
    return {
      ...(await startWithAdmin(scope, { env: redis.env, options: { revocationRetryMs: RETRY_MS } })),
      redis,
    };
  });

  it('when a demotion answers 503 and the admin retries, then the retry ends the sessions and the change is audited once', async () => {
    const b = await secondAdmin(stack.auth.url, stack.admin);
    const first = await changeWhileRedisCut(stack, b.user.id, { roles: ['user'] });
    assert.equal(first.status, 503);
    assert.equal(first.body.code, 'service_unavailable');

    await stack.redis.restore();
    // Until the service has reconnected to Redis the retry is 503 too; the last answer is the failure's cause.
    const retry = await eventually(
      async () => {
        const res = await patchUser(stack.auth.url, stack.admin.access_token, b.user.id, { roles: ['user'] });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return res;
      },
      { timeout: 20_000, interval: 200 },
    );
    assert.deepEqual((retry.body.user as { roles: string[] }).roles, ['user']);

    assert.equal(await liveSessions(stack, b.user.id), 0, 'the demoted admin has no session left');
    const refreshed = await http(`${stack.auth.url}/auth/refresh`, {
      body: { refresh_token: b.refresh_token },
    });
    assert.equal(refreshed.body.code, 'invalid_grant');
    const audited = await events(stack, 'role_change', b.user.id);
    assert.equal(audited.status, 200);
    assert.equal(
      audited.body.events.filter((e) => JSON.stringify(e.details.to) === '["user"]').length,
      1,
      'the demotion is audited once: by the request that saved it, not by the retry',
    );
  });

  it('when a disable answers 503 and nobody retries, then the service ends the sessions once Redis is back', async () => {
    const b = await secondAdmin(stack.auth.url, stack.admin);
    const first = await changeWhileRedisCut(stack, b.user.id, { disabled: true });
    assert.equal(first.status, 503);

    await stack.redis.restore();
    const audited = await eventually(
      async () => {
        const res = await events(stack, 'user_disabled', b.user.id);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return res;
      },
      { timeout: 20_000, interval: 200 },
    );
    assert.equal(audited.body.events.length, 1, 'the disable is audited although its request failed');
    await eventually(async () => assert.equal(await liveSessions(stack, b.user.id), 0), 20_000, 100);
  });
});
