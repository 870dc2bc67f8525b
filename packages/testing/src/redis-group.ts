/**
 * A Redis primary, its replicas and Sentinels as local `redis-server` processes (the binary on PATH, as Debian's
 * redis-server package or the redis image installs it), on free ports, with data under a temporary folder: for the
 * tests of Sentinel mode and of waiting for replicas. Passwords on the data nodes and the Sentinels, as in the `ha`
 * compose profile. `stop()` kills every process and removes the folder.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from './eventually.ts';
import { freePort } from './tcp-proxy.ts';

export interface RedisGroup {
  /** The master group's name the Sentinels monitor. */
  master: string;
  /** The data nodes' password (user default) and the Sentinels' own. */
  password: string;
  sentinelPassword: string;
  /** Ports: the first primary, then the replicas, and the Sentinels. */
  primary: number;
  replicas: number[];
  sentinels: number[];
  /** Kill one data node with SIGKILL (no shutdown, as `docker kill` does). */
  kill(port: number): void;
  /** A client of one node (caller disconnects it). */
  node(port: number): Redis;
  stop(): Promise<void>;
}

export async function startRedisGroup(options: { replicas: number; sentinels: number }): Promise<RedisGroup> {
  const dir = mkdtempSync(join(tmpdir(), 'authstack-redis-group-'));
  const master = 'authstack';
  const password = `data-${process.pid}-${Date.now()}`;
  const sentinelPassword = `sentinel-${process.pid}-${Date.now()}`;
  const processes = new Map<number, ChildProcess>();
  const launch = (port: number, args: string[]) => {
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    child.on('error', () => {}); // a missing binary shows as the wait below failing, with its cause
    processes.set(port, child);
  };
  const node = (port: number) =>
    new Redis({ port, host: '127.0.0.1', password, lazyConnect: true, maxRetriesPerRequest: 1 }).on(
      'error',
      () => {},
    );
  const dataNode = (port: number, extra: string[]) => {
    const data = join(dir, String(port));
    rmSync(data, { recursive: true, force: true });
    launch(port, [
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', `${port}.rdb`],
      ...['--save', '', '--appendonly', 'no', '--requirepass', password, '--masterauth', password],
      ...extra,
    ]);
  };

  const primary = await freePort();
  const replicas = await Promise.all(Array.from({ length: options.replicas }, freePort));
  const sentinels = await Promise.all(Array.from({ length: options.sentinels }, freePort));
  const stop = async () => {
    for (const child of processes.values()) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    dataNode(primary, []);
    for (const port of replicas) dataNode(port, ['--replicaof', '127.0.0.1', String(primary)]);
    // The waiting clients never reconnect by themselves (retryStrategy null): each try connects again if it must.
    // A client that also reconnects on its own can, when a try's connect() meets its pending reconnect, keep a
    // reconnect loop that disconnect() does not end, and that keeps the test process alive for ever.
    const check = new Redis({
      port: primary,
      host: '127.0.0.1',
      password,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    }).on('error', () => {});
    try {
      await eventually(async () => {
        if (check.status === 'wait' || check.status === 'end') await check.connect();
        const info = await check.info('replication');
        return (
          info.includes(`connected_slaves:${replicas.length}`) && !/state=(wait_bgsave|send_bulk)/.test(info)
        );
      }, 20_000);
    } finally {
      check.disconnect();
    }
    for (const port of sentinels) {
      const file = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `requirepass ${sentinelPassword}`,
          `sentinel sentinel-pass ${sentinelPassword}`,
          `sentinel monitor ${master} 127.0.0.1 ${primary} ${Math.floor(sentinels.length / 2) + 1}`,
          `sentinel auth-pass ${master} ${password}`,
          `sentinel down-after-milliseconds ${master} 1000`,
          `sentinel failover-timeout ${master} 5000`,
          '',
        ].join('\n'),
      );
      launch(port, [file, '--sentinel']);
    }
    for (const port of sentinels) {
      const sentinel = new Redis({
        port,
        host: '127.0.0.1',
        password: sentinelPassword,
        lazyConnect: true,
        maxRetriesPerRequest: 1,
        retryStrategy: () => null,
      }).on('error', () => {});
      try {
        await eventually(async () => {
          if (sentinel.status === 'wait' || sentinel.status === 'end') await sentinel.connect();
          const known = (await sentinel.call('SENTINEL', 'REPLICAS', master)) as unknown[];
          const peers = (await sentinel.call('SENTINEL', 'SENTINELS', master)) as unknown[];
          return known.length === replicas.length && peers.length === sentinels.length - 1;
        }, 30_000);
      } finally {
        sentinel.disconnect();
      }
    }
  } catch (error) {
    await stop();
    throw new Error('could not start redis-server processes (is redis-server on PATH?)', { cause: error });
  }
  return {
    master,
    password,
    sentinelPassword,
    primary,
    replicas,
    sentinels,
    kill: (port) => processes.get(port)?.kill('SIGKILL'),
    node,
    stop,
  };
}
