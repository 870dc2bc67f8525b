/**
 * Load-test accounts: `make seed USERS=N` and `make unseed` (domain/load-test-users.ts).
 *   node services/auth/src/cli/load-test-users.ts seed 10000 > load-tests/data/users.json
 *   node services/auth/src/cli/load-test-users.ts unseed
 * Reads the auth service's configuration (DATABASE_URL, REDIS_URL, PASSWORD_PEPPER, BCRYPT_COST, ... or their
 * `_FILE` forms), so it runs natively after loading .env, or in the auth container (`docker compose exec -T auth`).
 * `seed` writes the users file (JSON) to stdout; messages go to stderr.
 */

import { createRedis } from '@authstack/redis';
import { ConfigError, loadConfig } from '../config.ts';
import { seedLoadTestUsers, unseedLoadTestUsers } from '../domain/load-test-users.ts';
import { createPasswordHasher } from '../domain/passwords.ts';
import { createPool } from '../store/db.ts';
import { createLoadTestUserStore } from '../store/load-test-users.ts';
import { createSessionStore } from '../store/sessions.ts';

const [command, countArg] = process.argv.slice(2);
const usage = 'usage: load-test-users.ts seed <count> | unseed';

try {
  if (command !== 'seed' && command !== 'unseed') throw new Error(usage);
  const config = loadConfig();
  const db = createPool(config.databaseUrl, 2);
  const store = createLoadTestUserStore(db);
  const started = performance.now();
  try {
    if (command === 'seed') {
      const count = Number(countArg);
      const passwords = createPasswordHasher({ pepper: config.passwordPepper, cost: config.bcryptCost });
      const seeded = await seedLoadTestUsers({ store, passwords }, count);
      process.stdout.write(`${JSON.stringify(seeded)}\n`);
      const skipped = count - seeded.usernames.length;
      console.error(
        `seed: ${seeded.usernames.length} load-test accounts ready (bcrypt cost ${config.bcryptCost}) in ` +
          `${((performance.now() - started) / 1000).toFixed(1)} s` +
          (skipped ? `; ${skipped} names belong to real accounts and were left alone` : ''),
      );
    } else {
      const redis = createRedis(config.redis);
      await redis.connect();
      try {
        const sessions = createSessionStore(redis, config.redisKeyPrefix, {
          idleTtl: config.refreshIdleTtl,
          absoluteTtl: config.refreshAbsoluteTtl,
          maxPerUser: config.sessionsMaxPerUser,
        });
        const removed = await unseedLoadTestUsers({ store, sessions });
        console.error(`unseed: removed ${removed.users} load-test accounts and ${removed.sessions} sessions`);
      } finally {
        redis.disconnect();
      }
    }
  } finally {
    await db.end();
  }
} catch (error) {
  const message =
    error instanceof ConfigError ? `configuration error: ${error.message}` : String((error as Error).message);
  console.error(`load-test-users: ${message}`);
  process.exit(1);
}
