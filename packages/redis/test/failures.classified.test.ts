/** `@authstack/redis`: unreachable is 503, a refused command passes through as the bug it is. */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { HttpProblem } from '@authstack/http-problem';
import { infraUrls } from '@authstack/testing';
import { createRedis, isRedisUnavailable, withRedis } from '../src/index.ts';

describe('Redis failures', () => {
  const redis = createRedis(infraUrls().redisUrl);
  before(async () => {
    await redis.connect();
  });
  after(() => {
    redis.disconnect();
  });

  it('when Redis refuses a command, then withRedis passes the reply error through (a bug: 500)', async () => {
    await assert.rejects(
      withRedis(() => redis.call('NO-SUCH-COMMAND')),
      (error: Error) => error.name === 'ReplyError' && /unknown command/i.test(error.message),
    );
  });

  it('when a Lua script fails, then withRedis passes the error through', async () => {
    await assert.rejects(
      withRedis(() => redis.eval("return redis.call('INCR', 'a', 'b', 'c')", 0)),
      (error: Error) => error.name === 'ReplyError' && !isRedisUnavailable(error),
    );
  });

  it('when Redis cannot be reached, then withRedis answers 503 service_unavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = createRedis(`redis://127.0.0.1:${port}/0`);
    try {
      await unreachable.connect().catch(() => {});
      await assert.rejects(
        withRedis(() => unreachable.get('x')),
        (error: unknown) =>
          error instanceof HttpProblem && error.status === 503 && error.code === 'service_unavailable',
      );
    } finally {
      unreachable.disconnect();
    }
  });

  it('when an error is not from Redis at all, then it is not called an outage', () => {
    assert.equal(isRedisUnavailable(new TypeError('x is undefined')), false);
  });
});
