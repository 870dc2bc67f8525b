/**
 * Revocations an account change queued but could not carry out (Redis failed after the commit): settled at start-up,
 * then on a timer, until done. Every replica may run them; ending sessions twice is harmless. One warning per
 * outage, not one per retry.
 */
import type { Logger } from '@authstack/telemetry';
import { settleRevocations } from './domain/admin.ts';
import type { UseCaseDeps } from './domain/deps.ts';

export function startRevocationRetry(
  useCases: UseCaseDeps,
  logger: Logger,
  everyMs: number,
): { stop(): Promise<void> } {
  let settling: Promise<void> = Promise.resolve();
  let running = false;
  let failing = false;
  const settle = () => {
    if (running) return; // a slow settle is not joined by a second one on the same replica
    running = true;
    settling = settleRevocations(useCases, { limit: 100 })
      .then(
        () => {
          if (failing) logger.info('queued session revocations carried out again');
          failing = false;
        },
        (error: unknown) => {
          if (!failing)
            logger.warn({ err: error }, 'queued session revocations not carried out yet; retrying');
          failing = true;
        },
      )
      .finally(() => {
        running = false;
      });
  };
  settle();
  const timer = setInterval(settle, everyMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await settling;
    },
  };
}
