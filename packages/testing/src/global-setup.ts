/**
 * `node --test --test-global-setup=packages/testing/src/global-setup.ts`: runs once per test run.
 * Uses DATABASE_URL and REDIS_URL when set; otherwise starts PostgreSQL 16 and Redis 7 with
 * testcontainers (Docker required) and exports their URLs to every test file.
 */
import { execFileSync } from 'node:child_process';

interface Stoppable {
  stop(): Promise<unknown>;
}
const started: Stoppable[] = [];

function dockerAvailable(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

export async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL && process.env.REDIS_URL) return;
  if (!dockerAvailable()) {
    throw new Error(
      'Tests need PostgreSQL and Redis: set DATABASE_URL and REDIS_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres, redis://127.0.0.1:6379/0) or start Docker so testcontainers can run them.',
    );
  }
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const { RedisContainer } = await import('@testcontainers/redis');
  const [postgres, redis] = await Promise.all([
    new PostgreSqlContainer('postgres:16.6-alpine').start(),
    new RedisContainer('redis:7.4.2-alpine').start(),
  ]);
  started.push(postgres, redis);
  process.env.DATABASE_URL = postgres.getConnectionUri();
  process.env.REDIS_URL = redis.getConnectionUrl();
}

export async function globalTeardown(): Promise<void> {
  await Promise.all(started.map((container) => container.stop()));
}
