/** `eventually` polls until an assertion passes or a condition holds, and fails naming the last assertion. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually } from '../src/index.ts';

describe('eventually', () => {
  it('when the assertion passes on the third try, then it resolves with what the check returned', async () => {
    let calls = 0;
    const value = await eventually(
      () => {
        calls++;
        assert.ok(calls >= 3, `try ${calls}`);
        return 'ready';
      },
      { interval: 1 },
    );
    assert.equal(value, 'ready');
    assert.equal(calls, 3);
  });

  it('when the condition returns false, then it tries again', async () => {
    let calls = 0;
    await eventually(async () => ++calls === 2, { interval: 1 });
    assert.equal(calls, 2);
  });

  it('when the assertion never passes, then it rejects with that assertion as the cause', async () => {
    await assert.rejects(
      eventually(() => assert.equal(1, 2, 'never equal'), { timeout: 20, interval: 5 }),
      (error: Error) => {
        assert.match(error.message, /condition not met within 20 ms/);
        assert.match((error.cause as Error).message, /^never equal/);
        return true;
      },
    );
  });
});
