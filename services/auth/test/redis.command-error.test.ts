/**
 * A Redis command or script that Redis refuses is a bug, not an outage: it is logged at
 * error and answers a generic 500 problem, not 503 "unavailable" (which is kept for a Redis that cannot be
 * reached: dependencies.outage.test.ts). The refusal is provoked for real: a key the service keeps as a set
 * holds a string.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http, type JsonResponse, suiteScope, useRedisClient } from '@authstack/testing';
import { registerAndLogin, useAuth } from './support.ts';

describe('Redis command and script errors', () => {
  const scope = suiteScope();
  const logLines: string[] = [];
  const auth = useAuth({ logTo: logLines });
  const redis = useRedisClient(scope);

  /** A user whose session index (a Redis set) has been overwritten with a string. */
  async function userWithBrokenIndex() {
    const user = await registerAndLogin(auth.url);
    const key = `${auth.config.redisKeyPrefix}user-sessions:{${user.user.id}}`; // as store/sessions.ts names it
    await redis.set(key, 'not a set', 'EX', 600);
    return { ...user, key };
  }

  async function assertBug(res: JsonResponse) {
    assert.equal(res.status, 500);
    assert.equal(res.body.code, 'internal_error');
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal(
      JSON.stringify(res.body).includes('WRONGTYPE'),
      false,
      'nothing internal reaches the client',
    );
    const logged = logLines
      .map((line) => JSON.parse(line) as { level: string; code?: string; request_id?: string })
      .find((line) => line.request_id === res.body.request_id && line.code === 'internal_error');
    assert.equal(logged?.level, 'error');
  }

  it('when a Redis command is refused (wrong type), then 500 internal_error, logged at error, not 503', async () => {
    const user = await userWithBrokenIndex();
    try {
      await assertBug(await http(`${auth.url}/auth/sessions`, { token: user.access_token }));
    } finally {
      await redis.del(user.key);
    }
  });

  it('when a Redis script fails, then 500 internal_error, logged at error, not 503', async () => {
    const user = await userWithBrokenIndex();
    try {
      await assertBug(
        await http(`${auth.url}/auth/logout-all`, { method: 'POST', token: user.access_token }),
      );
    } finally {
      await redis.del(user.key);
    }
  });
});
