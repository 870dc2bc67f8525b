/** Redis Cluster mode of `@authstack/redis`: its settings, hash tags, and which cluster failures are a 503. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, Redis, ReplyError } from 'ioredis';
import {
  clusterNatMapSchema,
  clusterNodesSchema,
  createRedis,
  hashTag,
  isRedisUnavailable,
  sessionKeyOf,
  userSessionsKeyOf,
} from '../src/index.ts';

describe('Redis Cluster settings', () => {
  it('when REDIS_CLUSTER_NODES lists host:port seeds, then they are parsed (IPv6 in brackets); unset is a single Redis', () => {
    assert.deepEqual(clusterNodesSchema.parse('10.0.0.1:7000, redis-1.example:7001,[::1]:7002'), [
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-1.example', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    assert.equal(clusterNodesSchema.parse(undefined), undefined);
  });

  it('when REDIS_CLUSTER_NODES or REDIS_CLUSTER_NAT_MAP is malformed, then the schema names the bad item', () => {
    for (const bad of ['redis', 'host:0', 'host:70000', ',', 'a:1;b:2']) {
      assert.equal(clusterNodesSchema.safeParse(bad).success, false, bad);
    }
    assert.match(
      clusterNatMapSchema.safeParse('10.0.0.1:7000').error?.issues[0]?.message ?? '',
      /host:port=host:port/,
    );
    assert.deepEqual(clusterNatMapSchema.parse('10.0.0.1:7000=127.0.0.1:17000'), {
      '10.0.0.1:7000': { host: '127.0.0.1', port: 17000 },
    });
  });

  it('when cluster nodes are given, then the factory makes a Cluster, else a Redis; a database other than 0 is refused', () => {
    const nodes = [{ host: '127.0.0.1', port: 1 }];
    const cluster = createRedis({ url: 'redis://:secret@127.0.0.1:6379/0', clusterNodes: nodes });
    const single = createRedis('redis://127.0.0.1:6379/0');
    try {
      assert.ok(cluster instanceof Cluster);
      assert.ok(single instanceof Redis);
    } finally {
      cluster.disconnect();
      single.disconnect();
    }
    assert.throws(
      () => createRedis({ url: 'redis://127.0.0.1:6379/3', clusterNodes: nodes }),
      /only database 0/,
    );
  });

  it('when a client asks for auto-pipelining, then a single Redis and a Cluster get it; by default neither does', () => {
    const nodes = [{ host: '127.0.0.1', port: 1 }];
    const clients = [
      createRedis('redis://127.0.0.1:6379/0', { autoPipelining: true }),
      createRedis({ url: 'redis://127.0.0.1:6379/0', clusterNodes: nodes }, { autoPipelining: true }),
      createRedis('redis://127.0.0.1:6379/0'),
      createRedis({ url: 'redis://127.0.0.1:6379/0', clusterNodes: nodes }),
    ];
    try {
      assert.deepEqual(
        clients.map((client) => client.options.enableAutoPipelining),
        [true, true, false, false],
      );
    } finally {
      for (const client of clients) client.disconnect();
    }
  });

  it('when a value is made a hash tag, then braces and % are encoded so the tag is exactly the value', () => {
    assert.equal(hashTag('3f0c-uuid'), '{3f0c-uuid}');
    assert.equal(hashTag('}eve{'), '{%7Deve%7B}');
    assert.equal(hashTag('100%'), '{100%25}');
    assert.equal(hashTag(''), '{%}');
  });

  it('when a session key and its user index are named, then both carry the user id as the hash tag under the prefix', () => {
    assert.equal(sessionKeyOf('p:', 'u-1', 's-1'), 'p:session:{u-1}:s-1');
    assert.equal(userSessionsKeyOf('p:', 'u-1'), 'p:user-sessions:{u-1}');
    assert.equal(sessionKeyOf('p:', '}x{', 's'), `p:session:${hashTag('}x{')}:s`);
  });

  it('when a cluster cannot serve a slot or be reached, then it is unavailable (503); a cross-slot command is a bug', () => {
    const reply = (message: string) => new ReplyError(message) as Error;
    for (const unavailable of [
      reply('CLUSTERDOWN The cluster is down'),
      reply('TRYAGAIN Multiple keys request during rehashing of slot'),
      new Error("Cluster isn't ready and enableOfflineQueue options is false"),
      new Error('None of startup nodes is available'),
      new Error('Failed to refresh slots cache.'),
      new Error('Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN'),
    ]) {
      assert.equal(isRedisUnavailable(unavailable), true, unavailable.message);
    }
    assert.equal(isRedisUnavailable(reply("CROSSSLOT Keys in request don't hash to the same slot")), false);
  });
});
