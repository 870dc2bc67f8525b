/**
 * `node --test --test-global-setup=packages/testing/src/global-setup.ts`: runs once per test run.
 * Uses DATABASE_URL and REDIS_URL when set; otherwise starts PostgreSQL 16 and Redis 7 with
 * testcontainers (Docker required) and exports their URLs to every test file.
 */
import { execFileSync } from 'node:child_process';

interface Stoppable {
  stop(options?: { remove?: boolean; removeVolumes?: boolean }): Promise<unknown>;
}
const started: Stoppable[] = [];
/** 256 MB of /dev/shm, as `shm_size` of the postgres service in docker-compose.yml (Docker's default is 64 MB). */
export const POSTGRES_SHM_BYTES = 256 * 1024 * 1024;

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
  // Labelled with the run (AUTHSTACK_TESTCONTAINERS_RUN) so the container stage can find them, print their logs and
  // states when the suite fails, and remove them.
  const labels = { 'org.authstack.testcontainers-run': process.env.AUTHSTACK_TESTCONTAINERS_RUN ?? 'local' };
  const [postgres, redis] = await Promise.all([
    // The compose stack's PostgreSQL settings (docker-compose.yml): the same shared memory size.
    new PostgreSqlContainer('postgres:16.6-alpine')
      .withSharedMemorySize(POSTGRES_SHM_BYTES)
      .withLabels(labels)
      .start(),
    new RedisContainer('redis:7.4.2-alpine').withLabels(labels).start(),
  ]);
  started.push(postgres, redis);
  process.env.DATABASE_URL = postgres.getConnectionUri();
  process.env.REDIS_URL = redis.getConnectionUrl();
}

export async function globalTeardown(): Promise<void> {
  // AUTHSTACK_TESTCONTAINERS_KEEP=1 (the container stage): stopped but not removed, so their logs and exit states can
  // still be read after a failed run; the stage removes them.
  const remove = process.env.AUTHSTACK_TESTCONTAINERS_KEEP !== '1';
  await Promise.all(started.map((container) => container.stop({ remove, removeVolumes: remove })));
}
