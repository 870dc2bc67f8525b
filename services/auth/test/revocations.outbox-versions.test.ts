/**
 * The revocations outbox: finishing an older read of a row never deletes work queued after it, also when the row
 * was finished and queued again in between (a slower settle on another replica), and one row that keeps failing
 * does not hold back the others.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { settleRevocations } from '../src/domain/admin.ts';
import { queueRevocation } from '../src/store/revocations.ts';
import { registerAndLogin, useAuth } from './support.ts';

describe('the revocations outbox', () => {
  const auth = useAuth();

  const queue = async (userId: string) => {
    const client = await auth.service.db.connect();
    try {
      await client.query('BEGIN');
      await queueRevocation(client, userId, { endSessions: true, privilegesChanged: false });
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  };

  it('when a row is finished and queued again while a slower settle holds its old read, then that settle leaves the new row', async () => {
    const { user } = await registerAndLogin(auth.url);
    const { revocations } = auth.service.useCases;
    await queue(user.id);
    const [slow] = await revocations.pending({ userId: user.id }); // a settle that reads, then stalls
    const [fast] = await revocations.pending({ userId: user.id });
    assert.ok(slow && fast);
    await revocations.done(fast); // another settle finishes the row
    await queue(user.id); // a newer change queues work again
    await revocations.done(slow); // the stalled settle finishes its old read
    const left = await revocations.pending({ userId: user.id });
    assert.equal(left.length, 1, 'the newer work is still queued');
  });

  it('when one queued row keeps failing, then the rows after it are still carried out', async () => {
    const first = await registerAndLogin(auth.url);
    const second = await registerAndLogin(auth.url);
    await queue(first.user.id);
    await queue(second.user.id);
    const { revocations, sessions } = auth.service.useCases;
    const failing = {
      revocations,
      sessions: {
        ...sessions,
        revokeAll: async (userId: string) => {
          if (userId === first.user.id) throw new Error('this row fails');
          return sessions.revokeAll(userId);
        },
      },
    } as unknown as Parameters<typeof settleRevocations>[0];
    await assert.rejects(settleRevocations(failing, { limit: 100 }), /this row fails/);
    assert.equal((await revocations.pending({ userId: first.user.id })).length, 1, 'the failing row stays');
    assert.equal(
      (await revocations.pending({ userId: second.user.id })).length,
      0,
      'the next row was carried out',
    );
  });
});
