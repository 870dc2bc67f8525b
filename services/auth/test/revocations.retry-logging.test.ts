/**
 * The retry of queued session revocations (after an account change whose revocation failed) warns once when it
 * starts failing, not on every retry, and says when it works again: an outage of minutes must not fill the log.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '@authstack/telemetry';
import { eventually, logLines } from '@authstack/testing';
import type { UseCaseDeps } from '../src/domain/deps.ts';
import { startRevocationRetry } from '../src/revocation-retry.ts';

describe('the queued revocations retry', () => {
  it('when the store fails on every retry, then one warning; when it answers again, then one info line', async () => {
    const { lines, destination } = logLines();
    const logger = createLogger({ service: 'auth', level: 'info', destination });
    let down = true;
    let calls = 0;
    const useCases = {
      revocations: {
        pending: async () => {
          calls += 1;
          if (down) throw new Error('connection refused');
          return [];
        },
        done: async () => {},
      },
      sessions: {},
    } as unknown as UseCaseDeps;

    const retry = startRevocationRetry(useCases, logger, 5);
    try {
      await eventually(() => assert.ok(calls >= 5, `retried ${calls} times`));
      const warnings = () => lines.filter((line) => line.includes('not carried out yet'));
      assert.equal(warnings().length, 1);
      down = false;
      const seen = calls;
      await eventually(() => assert.ok(lines.some((line) => line.includes('carried out again'))));
      await eventually(() => assert.ok(calls >= seen + 3));
      assert.equal(lines.filter((line) => line.includes('carried out again')).length, 1);
      assert.equal(warnings().length, 1);
    } finally {
      await retry.stop();
    }
  });
});
