/** Which PostgreSQL failures are "cannot reach the database" (503) and which pass through (a bug: 500). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONNECTION_ERROR_CODES, HttpProblem } from '@authstack/http-problem';
import { isRedisUnavailable } from '@authstack/redis';
import { isConnectionError, withDb } from '../src/store/db.ts';

const failure = (code: string) => Object.assign(new Error(`connect ${code} 10.0.0.9:5432`), { code });

describe('PostgreSQL connection failures', () => {
  for (const code of CONNECTION_ERROR_CODES) {
    it(`when the connection fails with ${code}, then the call answers 503 service_unavailable, as Redis's does`, async () => {
      assert.ok(isConnectionError(failure(code)));
      assert.ok(isRedisUnavailable(failure(code)), 'the same list decides for Redis');
      await assert.rejects(
        withDb(() => Promise.reject(failure(code))),
        (error) =>
          error instanceof HttpProblem && error.status === 503 && error.code === 'service_unavailable',
      );
    });
  }

  it('when a statement violates a constraint, then the error passes through unchanged', async () => {
    const violation = Object.assign(new Error('duplicate key value'), { code: '23505' });
    assert.equal(isConnectionError(violation), false);
    await assert.rejects(
      withDb(() => Promise.reject(violation)),
      (error) => error === violation,
    );
  });
});
