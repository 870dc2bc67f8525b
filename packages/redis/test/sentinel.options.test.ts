/** The ioredis options of Sentinel mode: data-node credentials and database from the URL, failover handling on. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sentinelOptions } from '../src/index.ts';

const sentinel = { sentinels: [{ host: 's1', port: 26379 }], master: 'authstack', password: 'sp' };

describe('sentinelOptions', () => {
  it('when the URL carries credentials and a database, then they go to the data nodes, the Sentinel ones to the Sentinels', () => {
    const options = sentinelOptions('redis://app:p%40ss@ignored:6379/3', sentinel);
    assert.deepEqual(
      {
        sentinels: options.sentinels,
        name: options.name,
        role: options.role,
        username: options.username,
        password: options.password,
        db: options.db,
        sentinelPassword: options.sentinelPassword,
        failoverDetector: options.failoverDetector,
      },
      {
        sentinels: [{ host: 's1', port: 26379 }],
        name: 'authstack',
        role: 'master',
        username: 'app',
        password: 'p@ss',
        db: 3,
        sentinelPassword: 'sp',
        failoverDetector: false,
      },
    );
    assert.equal(sentinelOptions('redis://ignored', sentinel).db, 0);
  });

  it('when a node answers READONLY (a demoted primary), then the client reconnects; other errors do not', () => {
    const { reconnectOnError } = sentinelOptions('redis://x', sentinel);
    assert.equal(
      reconnectOnError?.(new Error("READONLY You can't write against a read only replica.")),
      true,
    );
    assert.equal(reconnectOnError?.(new Error('ERR unknown command')), false);
  });

  it('when the URL asks for TLS, then Sentinel mode refuses it rather than connect in clear', () => {
    assert.throws(() => sentinelOptions('rediss://x:6380/0', sentinel), /redis:\/\/ URLs only/);
  });
});
