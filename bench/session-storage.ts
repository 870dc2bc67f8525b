/**
 * Redis storage per login session: keys and bytes after login, after N refreshes, after logout.
 *
 *   DATABASE_URL=... REDIS_URL=... node --import tsx bench/session-storage.ts [refreshes=1000] [sessions=200]
 *
 * Starts the real auth service on 127.0.0.1 (port 0) with a database and a Redis key prefix of its own (`sb-<6 hex>:`,
 * as long as the default `authstack:`),
 * logs one user in, refreshes that session N times through the HTTP API, and sums `MEMORY USAGE <key> SAMPLES 0`
 * over the session's keys (every key under the prefix except the rate limiter's `rl:` counters). Then logs in
 * `sessions` more users once each (after the logout, measured from there), for the average cost of a fresh
 * session with its per-user index. It deletes
 * its keys and its database afterwards. Sequential, a few seconds: not a load test.
 * Results go to stdout; docs/benchmarks.md ("Session storage") quotes them.
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '@authstack/auth/config';
import { migrate } from '@authstack/auth/migrate';
import { startAuth } from '@authstack/auth/server';
import { createTestDatabase, http, infraUrls } from '@authstack/testing';
import { Redis } from 'ioredis';

const REFRESHES = Number(process.argv[2] ?? 1000);
const SESSIONS = Number(process.argv[3] ?? 200);
const PASSWORD = 'session storage bench passphrase';

type Tokens = { access_token: string; refresh_token: string };

async function main(): Promise<void> {
  const { redisUrl } = infraUrls();
  const db = await createTestDatabase();
  // As long as the default `authstack:` (10 characters), so the bytes are those of a default deployment.
  const prefix = `sb-${randomBytes(3).toString('hex')}:`;
  const redis = new Redis(redisUrl);
  let stop: (() => Promise<void>) | undefined;
  try {
    await migrate(db.url);
    const auth = await startAuth(
      loadConfig({
        DATABASE_URL: db.url,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        HOST: '127.0.0.1',
        PORT: '0',
        BCRYPT_COST: '4',
        LOG_LEVEL: 'silent',
        REGISTER_MAX_PER_IP_PER_HOUR: '100000',
        LOGIN_MAX_FAILURES_PER_IP_PER_DAY: '100000',
      }),
    );
    stop = auth.stop;

    /** Keys under the prefix that are not rate-limit counters, and their summed MEMORY USAGE. */
    const footprint = async () => {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        keys.push(...batch.filter((k) => !k.startsWith(`${prefix}rl:`)));
        cursor = next;
      } while (cursor !== '0');
      let bytes = 0;
      for (const key of keys) bytes += Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
      return { keys: keys.length, bytes };
    };
    const signUp = async () => {
      const username = `bench${randomBytes(5).toString('hex')}`;
      const reg = await http(`${auth.url}/auth/register`, { body: { username, password: PASSWORD } });
      if (reg.status !== 201) throw new Error(`register: ${reg.status}`);
      const res = await http<Tokens>(`${auth.url}/auth/login`, { body: { username, password: PASSWORD } });
      if (res.status !== 200) throw new Error(`login: ${res.status}`);
      return res.body;
    };

    const first = await signUp();
    const afterLogin = await footprint();
    let token = first.refresh_token;
    let access = first.access_token;
    const rows: { after: string; keys: number; bytes: number }[] = [{ after: 'login', ...afterLogin }];
    for (let n = 1; n <= REFRESHES; n++) {
      const res = await http<Tokens>(`${auth.url}/auth/refresh`, { body: { refresh_token: token } });
      if (res.status !== 200) throw new Error(`refresh ${n}: ${res.status}`);
      token = res.body.refresh_token;
      access = res.body.access_token;
      if (n === 1 || n === 100 || n === 500 || n === REFRESHES)
        rows.push({ after: `${n} refreshes`, ...(await footprint()) });
    }
    const out = await http(`${auth.url}/auth/logout`, { method: 'POST', token: access });
    if (out.status !== 200) throw new Error(`logout: ${out.status}`);
    rows.push({ after: 'logout', ...(await footprint()) });

    for (let n = 0; n < SESSIONS; n++) await signUp();
    const many = await footprint();

    const last = rows.find((r) => r.after === `${REFRESHES} refreshes`)!;
    const perRefresh = (last.bytes - afterLogin.bytes) / REFRESHES;
    const loggedOut = rows.at(-1)!;
    const perSession = (many.bytes - loggedOut.bytes) / SESSIONS;
    // A client refreshing every 5 minutes for the 30-day default absolute lifetime: 8,640 refreshes.
    const busy = afterLogin.bytes + 8640 * perRefresh;
    console.log(`session storage, prefix ${prefix}`);
    console.table(rows);
    console.log(
      JSON.stringify(
        {
          refreshes: REFRESHES,
          bytes_per_refresh: Math.round(perRefresh * 10) / 10,
          sessions: SESSIONS,
          keys_per_session: (many.keys - loggedOut.keys) / SESSIONS,
          bytes_per_session: Math.round(perSession),
          sessions_per_gib_fresh: Math.floor(2 ** 30 / perSession),
          bytes_per_session_refreshed_every_5_min_for_30_days: Math.round(busy),
          sessions_per_gib_refreshed_every_5_min_for_30_days: Math.floor(2 ** 30 / busy),
        },
        null,
        2,
      ),
    );
  } finally {
    await stop?.();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
    await db.drop();
  }
}

await main();
