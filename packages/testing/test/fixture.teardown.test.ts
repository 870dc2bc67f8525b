/**
 * The fixtures tear down what they start: a describe's database is dropped and its Redis keys are cleared when
 * the describe ends, a test's when the test ends; teardowns run last-in first-out, all of them even when one
 * fails; `clearRedisPrefix` removes every key under a prefix, across batches, and nothing else.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import {
  clearRedisPrefix,
  infraUrls,
  keyPrefix,
  scanRedisKeys,
  suiteScope,
  type TestDatabase,
  testScope,
  uniqueName,
  useDatabase,
  useFixture,
  useRedisClient,
} from '../src/index.ts';

// The test Redis: a single server in `make test`, the three-primary cluster in `make test-cluster` (where the keys
// below spread over every primary, so a clear that scanned one node only would leave most of them).
const redis = useRedisClient(suiteScope());

async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: infraUrls().databaseUrl });
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

const keysUnder = (prefix: string) => scanRedisKeys(redis, `${prefix}*`);

/** One SET a key: a cluster's pipeline keeps to one node, and these keys are on every primary. */
async function writeKeys(prefix: string, count: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, i) => redis.set(`${prefix}k${i}`, '1', 'EX', 600)));
}

describe('clearRedisPrefix', () => {
  const prefix = `${uniqueName('clear')}:`; // cleared by the function under test itself
  const sibling = `${prefix.slice(0, -1)}x:`; // shares every character but the separator

  it('when more keys than one batch are under the prefix, then all go and a sibling prefix is untouched', async () => {
    await writeKeys(prefix, 1_234);
    await writeKeys(sibling, 3);
    assert.equal(await clearRedisPrefix(prefix, 100), 1_234);
    assert.deepEqual(await keysUnder(prefix), []);
    assert.equal((await keysUnder(sibling)).length, 3);
    assert.equal(await clearRedisPrefix(sibling), 3);
  });

  it('when the prefix holds glob characters, then they match only themselves', async () => {
    const globby = `${prefix}[a]*?:`;
    await writeKeys(globby, 2);
    await writeKeys(`${prefix}a:`, 2);
    assert.equal(await clearRedisPrefix(globby), 2);
    assert.equal((await keysUnder(`${prefix}a:`)).length, 2);
    await clearRedisPrefix(prefix);
  });

  it('when the prefix is empty, then it refuses rather than clear the whole database', async () => {
    await assert.rejects(clearRedisPrefix(''), { message: /empty prefix/ });
  });
});

describe('a describe-level fixture', () => {
  const seen: { db?: TestDatabase; prefix?: string } = {};

  describe('while it runs', () => {
    const fixture = useFixture(async (scope) => {
      const db = await useDatabase(scope);
      return { db, prefix: keyPrefix(db) };
    });

    it('then its database exists and its keys can be written', async () => {
      assert.ok(await databaseExists(fixture.db.name));
      await writeKeys(fixture.prefix, 3);
      seen.db = fixture.db;
      seen.prefix = fixture.prefix;
    });
  });

  it('when its describe has ended, then the database is dropped and the keys under it are gone', async () => {
    assert.ok(seen.db && seen.prefix, 'the inner describe ran');
    assert.equal(await databaseExists(seen.db.name), false);
    assert.deepEqual(await keysUnder(seen.prefix), []);
  });
});

describe('a test-level scope', () => {
  const order: string[] = [];
  let name = '';

  it('runs its teardowns last-in first-out, all of them when one throws', async (t) => {
    const scope = testScope({
      after: (run) =>
        t.after(() =>
          assert.rejects(run(), (error: Error) => {
            assert.equal(error.message, 'second fails');
            return true;
          }),
        ),
    });
    scope.defer(() => order.push('first'));
    scope.defer(() => {
      order.push('second');
      throw new Error('second fails');
    });
    scope.defer(() => order.push('third'));
    const db = await useDatabase(testScope(t));
    name = db.name;
  });

  it('when the test has ended, then its database is dropped and every teardown ran in reverse', async () => {
    assert.deepEqual(order, ['third', 'second', 'first']);
    assert.ok(name);
    assert.equal(await databaseExists(name), false);
  });
});
