/**
 * Where the test servers are: `DATABASE_URL` and `REDIS_URL` when set (CI and native development); otherwise
 * `global-setup.ts` starts PostgreSQL and Redis with testcontainers once per run and exports the same two variables.
 */
import { randomBytes } from 'node:crypto';

export function infraUrls(): { databaseUrl: string; redisUrl: string } {
  const databaseUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  if (!databaseUrl || !redisUrl) {
    throw new Error(
      'DATABASE_URL and REDIS_URL must be set (the test global setup sets them from testcontainers when Docker is available)',
    );
  }
  return { databaseUrl, redisUrl };
}

export const uniqueName = (prefix: string) => `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
