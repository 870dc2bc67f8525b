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
  // As the compose stack's PostgreSQL (docker-compose.yml): tini as PID 1 and a health check without a shell. The
  // module's own check is a shell running pg_isready every 250 ms with a 1 s timeout; on a busy machine a check runs
  // out its time, its shell is killed, and the orphaned pg_isready is adopted by PID 1. Were that PostgreSQL, its
  // exit (status 2, or SIGPIPE on the closed output) would read as a crashed backend, and PostgreSQL would drop
  // every connection of the run to recover (docs/operations.md, "Health checks and PID 1").
  class PostgreSqlUnderInit extends PostgreSqlContainer {
    constructor(image: string) {
      super(image);
      this.hostConfig.Init = true;
      this.withHealthCheck({
        test: ['CMD', 'pg_isready', '--host', '127.0.0.1', '--username', 'test', '--dbname', 'test'],
        interval: 500,
        timeout: 5_000,
        retries: 240,
      });
    }
  }
  const [postgres, redis] = await Promise.all([
    // The compose stack's PostgreSQL settings (docker-compose.yml): the same shared memory size.
    new PostgreSqlUnderInit('postgres:16.6-alpine')
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
