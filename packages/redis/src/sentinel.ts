/**
 * Redis through Sentinel: the client asks the Sentinels which node is the primary of the named master, connects to
 * it, checks its role, and asks again whenever the connection drops or the node answers READONLY (a demoted
 * primary). The URL still gives the data nodes' credentials and database; its host and port are not used (see
 * docs/operations.md, "Redis with Sentinel").
 */
import type { RedisOptions } from 'ioredis';

export interface SentinelAddress {
  host: string;
  port: number;
}

export interface SentinelSettings {
  /** Every Sentinel the client may ask (it learns the others from them too). */
  sentinels: SentinelAddress[];
  /** The master group's name in the Sentinels' configuration (`sentinel monitor <name> ...`). */
  master: string;
  /** Credentials for the Sentinels themselves, when they require them (`requirepass` / ACL). */
  username?: string | undefined;
  password?: string | undefined;
}

/** A READONLY reply means this connection reached a node that is no longer the primary. */
const DEMOTED = /^READONLY /;

/** ioredis's options for `target`'s Sentinels, the data nodes' credentials and database taken from its URL. */
export function sentinelOptions(url: string, sentinel: SentinelSettings): RedisOptions {
  const parsed = new URL(url);
  if (parsed.protocol !== 'redis:') throw new Error('Sentinel mode supports redis:// URLs only (no TLS yet)');
  const database = parsed.pathname.replace(/^\//, '');
  return {
    sentinels: sentinel.sentinels.map(({ host, port }) => ({ host, port })),
    name: sentinel.master,
    role: 'master',
    sentinelUsername: sentinel.username,
    sentinelPassword: sentinel.password,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db: database === '' ? 0 : Number(database),
    // Off: ioredis's detector outlives a connection that died on its own, and a +switch-master arriving while the
    // client is reconnecting aborts the reconnection for good ("Connection is closed" from then on; seen in this
    // package's failover test, and redis/ioredis#1683). A killed primary closes its sockets, and a demoted one closes
    // its clients' connections (Redis does on REPLICAOF) or answers READONLY (below): each makes the client ask again.
    failoverDetector: false,
    // All Sentinels unreachable: keep trying (readiness reports it), as the plain client does.
    sentinelRetryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    // Reconnect (and so ask the Sentinels again) when the node says it is a replica now; the command fails (503).
    reconnectOnError: (error) => DEMOTED.test(error.message),
  };
}
