/**
 * Fixtures: a test file (or a describe, or one test) gets what it starts torn down by the same helper that
 * started it. A `Scope` collects teardowns and runs them last-in first-out when node:test ends the suite or the
 * test, so a server stops before its database is dropped and its Redis keys are cleared.
 *
 *   describe('…', () => {
 *     const auth = useAuth();            // started in the describe's `before`, torn down in its `after`
 *     it('…', async (t) => {
 *       const extra = await startSomething(testScope(t));   // torn down when this test ends
 *     });
 *   });
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before } from 'node:test';
import type { RedisClient } from '@authstack/redis';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { clearRedisPrefix, testRedisClient } from './redis.ts';

type Teardown = () => unknown;

/** Where teardowns go; they run last-in first-out when the scope ends. */
export interface Scope {
  defer(teardown: Teardown): void;
}

function collect(register: (run: () => Promise<void>) => void): Scope {
  const teardowns: Teardown[] = [];
  register(async () => {
    const errors: unknown[] = [];
    for (const teardown of teardowns.splice(0).reverse()) {
      try {
        await teardown();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'teardown failed');
  });
  return { defer: (teardown) => void teardowns.push(teardown) };
}

/** The enclosing describe (or the file, at top level): call it in the describe's body, not in a hook. */
export const suiteScope = (): Scope => collect((run) => after(run));

/** One test: `it('…', async (t) => { … testScope(t) … })`; torn down when that test ends, pass or fail. */
export const testScope = (t: { after(fn: () => Promise<void>): void }): Scope =>
  collect((run) => t.after(run));

/**
 * A fixture for the enclosing describe: `start` runs in the describe's `before`, what it defers in its `after`.
 * Call it in the describe's body; the returned object is filled in before the first test runs (not before).
 */
export function useFixture<T extends object>(start: (scope: Scope) => Promise<T>): T {
  const scope = suiteScope();
  const handle = {} as T;
  before(async () => {
    Object.assign(handle, await start(scope));
  });
  return handle;
}

/**
 * A database of its own, optionally prepared (migrated); dropped when the scope ends, together with every Redis
 * key under `keyPrefix(db)` prefixes made from it.
 */
export async function useDatabase(
  scope: Scope,
  prepare?: (url: string) => Promise<void>,
): Promise<TestDatabase> {
  const db = await createTestDatabase();
  scope.defer(() => db.drop());
  scope.defer(() => clearRedisPrefix(databaseKeyPrefix(db)));
  if (prepare) await prepare(db.url);
  return db;
}

const databaseKeyPrefix = (db: TestDatabase) => `${db.name}:`;

/** A Redis key prefix of its own under the database's: cleared when the database's scope ends. */
export const keyPrefix = (db: TestDatabase) => `${databaseKeyPrefix(db)}${randomBytes(4).toString('hex')}:`;

/** A Redis key prefix of its own, for tests without a database; cleared when the scope ends. */
export function useRedisPrefix(scope: Scope): string {
  const prefix = `test_${process.pid}_${randomBytes(4).toString('hex')}:`;
  scope.defer(() => clearRedisPrefix(prefix));
  return prefix;
}

/** A fresh directory under the system's temporary directory, removed with its contents when `scope` ends. */
export function useTempDir(scope: Scope, stem: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${stem}-`));
  scope.defer(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A PostgreSQL client connected to `url`, ended when `scope` ends (before a database it uses is dropped). */
export async function usePgClient(scope: Scope, url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  scope.defer(() => client.end());
  return client;
}

/** A client of the test Redis (a cluster client under `make test-cluster`), disconnected when `scope` ends. */
export function useRedisClient(scope: Scope): RedisClient {
  const redis = testRedisClient();
  scope.defer(() => redis.disconnect());
  return redis;
}

/** A log destination that keeps each line written to it, for asserting on what a service logged. */
export function logLines(lines: string[] = []): { lines: string[]; destination: Writable } {
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, destination };
}
