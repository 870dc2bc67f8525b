/**
 * The project's benchmark: `make bench` (needs DATABASE_URL / REDIS_URL like the tests, and nginx).
 *
 * In one run, on this machine, with wrk (bench/wrk.ts):
 *   - bcrypt time at the configured cost, and the login ceiling it implies (cores / bcrypt time);
 *   - the login rate (direct and through the gateway) against that ceiling;
 *   - the protected path against the unauthenticated endpoint of the same service;
 *   - stateless against session-checked verification, and with the verified-token cache off;
 *   - through the HTTPS gateway against direct;
 *   - the cookie path through the gateway (the cookie exchange, an auth_request whose answer the gateway keeps for
 *     GATEWAY_COOKIE_EXCHANGE_CACHE=1 s) next to the bearer path, and with that cache off: the minted-token cache on
 *     (COOKIE_TOKEN_CACHE_TTL=30) and off (0); then the cookie session's revocation window (logout's answer to the
 *     first 401 with the old cookie), a few times;
 *   - login under overload, with and without admission control (bench/overload.ts).
 * Then the sections of bench/sections.ts: verifier peers, gateway vs direct by generator, login against the
 * ceiling at several bcrypt costs, capacity. Throughput rows use wrk (median of rounds).
 * Writes bench/results/latest.json, the SVG charts and the tables in docs/benchmarks.md.
 *
 * Options: bench/options.ts (`make bench ARGS='--only overload --seconds 5 --dry-run'`): `--only` runs some
 * groups (paths, overload, peers, generator, login, capacity; the others' figures in the JSON are kept),
 * `--seconds N` per round, `--rounds N`, `--dry-run` prints and writes nothing, `--smoke` for the CI smoke.
 *
 * Everything runs on 127.0.0.1 and stops by itself; the load generator shares the machine's cores with the
 * services, so figures are for comparison on one machine, not capacity planning.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig as loadAuthConfig } from '@authstack/auth/config';
import { migrate } from '@authstack/auth/migrate';
import { startAuth } from '@authstack/auth/server';
import { AuthClient } from '@authstack/client';
import { loadConfig as loadResourceConfig } from '@authstack/resource/config';
import { startResource } from '@authstack/resource/server';
import { createTestDatabase, infraUrls, redisNamespace } from '@authstack/testing';
import bcrypt from 'bcrypt';
import { makeCerts, startGateway } from '../infra/nginx/local-gateway.ts';
import { cookieRevocationWindow } from '../infra/nginx/revocation-window.ts';
import { writeSecondRoundGoals } from './goals-second-round.ts';
import { parseOptions } from './options.ts';
import { type OverloadReport, overloadRows, overloadTable } from './overload.ts';
import { formatDocs, runSections } from './sections.ts';
import { measureRounds } from './wrk.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OPTIONS = parseOptions(process.argv.slice(2));
const GROUPS = OPTIONS.sections as Set<string>;
const SECONDS = OPTIONS.seconds;
const COST = OPTIONS.smoke ? 4 : Number(process.env.BCRYPT_COST ?? 12);
const CORES = os.availableParallelism();

interface Row {
  name: string;
  path: string;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function measure(
  name: string,
  url: string,
  options: {
    connections: number;
    method?: 'GET' | 'POST';
    headers?: Record<string, string>;
    bodies?: string[];
  },
): Promise<Row> {
  const result = await measureRounds(
    {
      url,
      connections: options.connections,
      seconds: SECONDS,
      ...(options.bodies ? { bodies: options.bodies } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
    },
    OPTIONS.rounds,
  );
  const row: Row = {
    name,
    path: new URL(url).pathname,
    connections: options.connections,
    rps: result.rps,
    p50: result.p50,
    p99: result.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
  console.log(
    `bench: ${name.padEnd(48)} ${String(row.rps).padStart(8)} req/s  p50 ${row.p50} ms  p99 ${row.p99} ms  non-2xx ${row.non2xx}`,
  );
  return row;
}

/** The cookie session's revocation window through the gateway with its default exchange cache, measured. */
export interface CookieRevocationWindow {
  exchange_cache_s: number;
  poll_ms: number;
  samples_ms: number[];
  median_ms: number;
  max_ms: number;
  /** Requests with the old cookie answered other than 401 after the first 401 (0: none). */
  accepted_after: number;
}

async function pathRows(ctx: {
  dbUrl: string;
  redisUrl: string;
  redisPrefix: string;
  certs: ReturnType<typeof makeCerts>;
  stops: (() => Promise<void>)[];
}): Promise<{ rows: Row[]; revocation: CookieRevocationWindow }> {
  const { redisUrl, certs, stops } = ctx;
  const authEnv = {
    DATABASE_URL: ctx.dbUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: ctx.redisPrefix,
    KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    PASSWORD_PEPPER: randomBytes(32).toString('base64'),
    PORT: '0',
    BCRYPT_COST: String(COST),
    ACCESS_TOKEN_TTL: '3600',
    LOG_LEVEL: 'silent',
    REGISTER_MAX_PER_IP_PER_HOUR: '100000',
    LOGIN_MAX_FAILURES_PER_IP_PER_DAY: '100000',
    LOGIN_MAX_SUCCESSES_PER_USER_PER_HOUR: '1000000',
    LOGIN_MAX_SUCCESSES_PER_IP_PER_HOUR: '1000000',
    // Admission control off in effect (one client address; shedding is measured by the overload rows).
    BCRYPT_QUEUE_BUDGET_MS: '60000',
    BCRYPT_MAX_PER_CLIENT: '10000',
    BCRYPT_MAX_PER_ACCOUNT: '10000',
  };
  const auth = await startAuth(loadAuthConfig(authEnv));
  stops.push(auth.stop);
  // The same service with the minted-token cache off: every cookie exchange signs a token.
  const authNoTokenCache = await startAuth(loadAuthConfig({ ...authEnv, COOKIE_TOKEN_CACHE_TTL: '0' }));
  stops.push(authNoTokenCache.stop);
  const resourceEnv = {
    PORT: '0',
    LOG_LEVEL: 'silent',
    JWT_ISSUER: auth.service.config.issuer,
    JWKS_URI: `${auth.url}/.well-known/jwks.json`,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: ctx.redisPrefix,
  };
  const stateless = await startResource(loadResourceConfig(resourceEnv));
  const noCache = await startResource(loadResourceConfig({ ...resourceEnv, TOKEN_CACHE_SIZE: '0' }));
  const session = await startResource(loadResourceConfig({ ...resourceEnv, VERIFY_MODE: 'session' }));
  stops.push(stateless.stop, noCache.stop, session.stop);
  const gateway = await startGateway({
    authUpstream: new URL(auth.url).host,
    resourceUpstream: new URL(stateless.url).host,
    certs,
    loginRate: '100000r/s',
    loginBurst: '100000',
  });
  stops.push(gateway.stop);
  // The gateway's cookie exchange cache off (GATEWAY_COOKIE_EXCHANGE_CACHE=0): an exchange per request, with auth's
  // minted-token cache on and off.
  const gatewayNoExchangeCache = await startGateway({
    authUpstream: new URL(auth.url).host,
    resourceUpstream: new URL(stateless.url).host,
    certs,
    cookieExchangeCache: 0,
  });
  stops.push(gatewayNoExchangeCache.stop);
  const gatewayNoTokenCache = await startGateway({
    authUpstream: new URL(authNoTokenCache.url).host,
    resourceUpstream: new URL(stateless.url).host,
    certs,
    cookieExchangeCache: 0,
  });
  stops.push(gatewayNoTokenCache.stop);

  // Users, one per connection, and a token; the gateway's certificate is verified once with the CA
  // (wrk itself never verifies certificates).
  const api = new AuthClient({ baseUrl: gateway.httpsUrl, ca: readFileSync(certs.ca) });
  const users = Array.from({ length: 8 }, (_, n) => ({
    username: `bench${n}${randomBytes(3).toString('hex')}`,
    password: 'benchmark passphrase',
  }));
  for (const user of users) await api.register(user.username, user.password);
  // The token's and the cookie's users are not among the login rows' users: their many logins would end those
  // sessions (the oldest go past SESSIONS_MAX_PER_USER), and the rows would then measure 401s.
  const reader = {
    username: `benchreader${randomBytes(3).toString('hex')}`,
    password: 'benchmark passphrase',
  };
  const browserUser = {
    username: `benchcookie${randomBytes(3).toString('hex')}`,
    password: 'benchmark passphrase',
  };
  await api.register(reader.username, reader.password);
  await api.register(browserUser.username, browserUser.password);
  const { tokens } = await api.login(reader.username, reader.password);
  if (!tokens) throw new Error('a bearer login keeps its tokens');
  const token = tokens.accessToken;
  const bearer = { authorization: `Bearer ${token}` };
  const bodies = users.map((u) => JSON.stringify(u));
  // A cookie session (one browser): the gateway exchanges the cookie for a token once a window (by default), or on
  // every request with its exchange cache off.
  const browser = new AuthClient({ baseUrl: gateway.httpsUrl, ca: readFileSync(certs.ca), mode: 'cookie' });
  await browser.login(browserUser.username, browserUser.password);
  const cookie = { cookie: `__Host-session=${browser.cookies['__Host-session']}` };

  const rows: Row[] = [];
  rows.push(
    await measure('login, direct', `${auth.url}/auth/login`, { connections: 8, method: 'POST', bodies }),
  );
  rows.push(
    await measure('login, through the gateway', `${gateway.httpsUrl}/auth/login`, {
      connections: 8,
      method: 'POST',
      bodies,
    }),
  );
  rows.push(await measure('public (no auth), direct', `${stateless.url}/api/public`, { connections: 32 }));
  rows.push(
    await measure('protected, stateless, direct', `${stateless.url}/api/protected`, {
      connections: 32,
      headers: bearer,
    }),
  );
  rows.push(
    await measure('protected, stateless, no token cache, direct', `${noCache.url}/api/protected`, {
      connections: 32,
      headers: bearer,
    }),
  );
  rows.push(
    await measure('protected, session-checked, direct', `${session.url}/api/protected`, {
      connections: 32,
      headers: bearer,
    }),
  );
  rows.push(
    await measure('public (no auth), through the gateway', `${gateway.httpsUrl}/api/public`, {
      connections: 32,
    }),
  );
  rows.push(
    await measure('protected, stateless, through the gateway', `${gateway.httpsUrl}/api/protected`, {
      connections: 32,
      headers: bearer,
    }),
  );
  rows.push(
    await measure(
      'protected, cookie session, through the gateway, exchange cache 1 s',
      `${gateway.httpsUrl}/api/protected`,
      { connections: 32, headers: cookie },
    ),
  );
  rows.push(
    await measure(
      'protected, cookie session, through the gateway, exchange cache off, minted-token cache on',
      `${gatewayNoExchangeCache.httpsUrl}/api/protected`,
      { connections: 32, headers: cookie },
    ),
  );
  rows.push(
    await measure(
      'protected, cookie session, through the gateway, exchange cache off, minted-token cache off',
      `${gatewayNoTokenCache.httpsUrl}/api/protected`,
      { connections: 32, headers: cookie },
    ),
  );

  // The price of the exchange cache: a logout reaches the cookie path up to a window later. Each sample logs a
  // session in, uses it, logs it out and polls with the old cookie (at whatever moment of the clock it falls).
  const pollMs = 10;
  const samples: number[] = [];
  let acceptedAfter = 0;
  for (let n = 0; n < (OPTIONS.smoke ? 3 : 7); n++) {
    const measured = await cookieRevocationWindow({
      baseUrl: gateway.httpsUrl,
      ca: readFileSync(certs.ca),
      username: browserUser.username,
      password: browserUser.password,
      pollMs,
      confirmMs: 300,
    });
    samples.push(measured.windowMs);
    acceptedAfter += measured.acceptedAfter;
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const revocation: CookieRevocationWindow = {
    exchange_cache_s: 1,
    poll_ms: pollMs,
    samples_ms: samples,
    median_ms: sorted[Math.floor(sorted.length / 2)]!,
    max_ms: sorted.at(-1)!,
    accepted_after: acceptedAfter,
  };
  console.log(
    `bench: cookie session revocation window (exchange cache 1 s): median ${revocation.median_ms} ms, max ${revocation.max_ms} ms of ${samples.length}`,
  );
  return { rows, revocation };
}

async function main(): Promise<void> {
  const extra = await runSections(OPTIONS);
  const resultsPath = join(OPTIONS.out, 'latest.json');
  if (!OPTIONS.dryRun) mkdirSync(OPTIONS.out, { recursive: true });
  const previous = existsSync(resultsPath) ? (JSON.parse(readFileSync(resultsPath, 'utf8')) as object) : {};
  if (!GROUPS.has('paths') && !GROUPS.has('overload')) {
    if (!OPTIONS.dryRun)
      writeFileSync(resultsPath, `${JSON.stringify({ ...previous, ...extra }, null, 2)}\n`);
    formatDocs(OPTIONS);
    return;
  }
  const { redisUrl } = infraUrls();
  const db = await createTestDatabase();
  await migrate(db.url);
  const redis = redisNamespace();
  const certs = makeCerts();
  const stops: (() => Promise<void>)[] = [];
  try {
    // bcrypt alone: the login path's floor.
    const samples: number[] = [];
    for (let n = 0; n < 8; n++) {
      const start = performance.now();
      await bcrypt.hash('benchmark passphrase', COST);
      samples.push(performance.now() - start);
    }
    const bcryptMs = samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;
    const ceiling = CORES / (bcryptMs / 1000);
    console.log(
      `bench: bcrypt cost ${COST}: ${bcryptMs.toFixed(1)} ms (median of 8); ceiling ${ceiling.toFixed(1)} logins/s on ${CORES} cores`,
    );

    const paths = GROUPS.has('paths')
      ? await pathRows({ dbUrl: db.url, redisUrl, redisPrefix: redis.prefix, certs, stops })
      : undefined;
    const rows = paths?.rows ?? [];
    // The overload rows start auth processes with keys of their own: a database and key prefix of their own, so
    // the paths group's signing key (under another key-encryption key) is not in their way.
    const overloadDb = GROUPS.has('overload') ? await createTestDatabase() : undefined;
    const overloadRedis = redisNamespace();
    if (overloadDb) {
      await migrate(overloadDb.url);
      stops.push(async () => {
        await overloadRedis.clear();
        await overloadDb.drop();
      });
    }
    const overload = overloadDb
      ? await overloadRows(
          {
            databaseUrl: overloadDb.url,
            redisUrl,
            redisPrefix: overloadRedis.prefix,
            cost: COST,
            ceiling: Math.round(ceiling * 10) / 10,
            seconds: SECONDS,
          },
          (line) => console.log(line),
        )
      : undefined;

    const nginxVersion = spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr.replace(
      /^nginx version: /,
      '',
    );
    const report = {
      date: new Date().toISOString(),
      machine: {
        cpu: os.cpus()[0]?.model ?? 'unknown',
        cores: CORES,
        memory_gib: Math.round(os.totalmem() / 2 ** 30),
      },
      node: process.version,
      nginx: nginxVersion.trim(),
      seconds_per_row: SECONDS,
      bcrypt: {
        cost: COST,
        median_ms: Math.round(bcryptMs * 10) / 10,
        ceiling_logins_per_s: Math.round(ceiling * 10) / 10,
      },
      rows,
      ...(paths ? { cookie_revocation_window: paths.revocation } : {}),
      ...(overload ? { overload } : {}),
    };
    if (OPTIONS.dryRun) {
      console.log('bench: --dry-run: nothing written');
      return;
    }
    // A run of some groups keeps the other groups' figures.
    const earlier = previous as Partial<typeof report>;
    const merged = {
      ...earlier,
      ...extra,
      ...report,
      rows: GROUPS.has('paths') ? rows : (earlier.rows ?? []),
      ...(overload ? { overload } : earlier.overload ? { overload: earlier.overload } : {}),
    };
    writeFileSync(resultsPath, `${JSON.stringify(merged, null, 2)}\n`);
    if (OPTIONS.docs && GROUPS.has('paths')) writeDocs(report);
    if (OPTIONS.docs && overload) writeOverloadDocs(report, overload);
    // The second round's goals, from every figure latest.json now holds (this run's and the kept ones).
    for (const g of writeSecondRoundGoals(
      resultsPath,
      OPTIONS.docs ? join(ROOT, 'docs/benchmarks.md') : undefined,
    ))
      console.log(`bench: goal ${g.met ? 'met   ' : 'MISSED'} ${g.goal}: ${g.figure}`);
    formatDocs(OPTIONS);
    console.log(`bench: wrote ${resultsPath}${OPTIONS.docs ? ' and docs/benchmarks.md' : ''}`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await redis.clear().catch(() => {});
    await db.drop();
    certs.remove();
  }
}

function writeDocs(report: {
  date: string;
  machine: { cpu: string; cores: number; memory_gib: number };
  node: string;
  nginx: string;
  seconds_per_row: number;
  bcrypt: { cost: number; median_ms: number; ceiling_logins_per_s: number };
  rows: Row[];
  cookie_revocation_window?: CookieRevocationWindow;
}): void {
  const path = `${ROOT}docs/benchmarks.md`;
  const window = report.cookie_revocation_window;
  const text = readFileSync(path, 'utf8');
  const table = [
    ...(OPTIONS.smoke
      ? ['> **Smoke run, not a measurement** (`--smoke`: 1 s rounds, bcrypt cost 4, a busy machine).', '']
      : []),
    `Measured ${report.date.slice(0, 10)} on ${report.machine.cores} cores (${report.machine.cpu}), ${report.machine.memory_gib} GiB, Node ${report.node}, ${report.nginx}; ${report.seconds_per_row} s per round, wrk, median of ${OPTIONS.rounds} round(s); \`make bench\`.`,
    '',
    `bcrypt at cost ${report.bcrypt.cost}: **${report.bcrypt.median_ms} ms** per hash (median of 8), so the login ceiling is ${report.machine.cores} / ${(report.bcrypt.median_ms / 1000).toFixed(4)} s = **${report.bcrypt.ceiling_logins_per_s} logins/s**.`,
    '',
    '| measurement | path | connections | req/s | p50 ms | p99 ms | non-2xx |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...report.rows.map(
      (r) =>
        `| ${r.name} | \`${r.path}\` | ${r.connections} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.non2xx + r.errors} |`,
    ),
    ...(window
      ? [
          '',
          `Revocation window of a cookie session through the gateway (exchange cache ${window.exchange_cache_s} s; logout's 200 to the first 401 with the old cookie, polled every ${window.poll_ms} ms, ${window.samples_ms.length} logouts): median **${window.median_ms} ms**, max **${window.max_ms} ms**${window.accepted_after ? `; **${window.accepted_after} answers other than 401 after the first 401**` : ''}.`,
        ]
      : []),
  ].join('\n');
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  writeFileSync(path, text.replace(new RegExp(`${begin}[\\s\\S]*${end}`), `${begin}\n${table}\n${end}`));
}

function writeOverloadDocs(
  report: {
    date: string;
    machine: { cpu: string; cores: number };
    seconds_per_row: number;
    bcrypt: { cost: number; median_ms: number; ceiling_logins_per_s: number };
  },
  overload: OverloadReport,
): void {
  const path = `${ROOT}docs/benchmarks.md`;
  const table = overloadTable(overload, {
    date: report.date,
    cores: report.machine.cores,
    cpu: report.machine.cpu,
    seconds: report.seconds_per_row,
    cost: report.bcrypt.cost,
    bcryptMs: report.bcrypt.median_ms,
    ceiling: report.bcrypt.ceiling_logins_per_s,
  });
  const begin = '<!-- bench-overload:begin -->';
  const end = '<!-- bench-overload:end -->';
  const text = readFileSync(path, 'utf8');
  writeFileSync(path, text.replace(new RegExp(`${begin}[\\s\\S]*${end}`), `${begin}\n${table}\n${end}`));
}

await main();
