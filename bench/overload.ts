/**
 * The overload rows of `make bench`: login under overload, with and without admission control, each against an auth
 * process of its own on 127.0.0.1 with the client address in `X-Forwarded-For`. (a) 2x and 5x the ceiling, (a') a
 * retry storm (a closed loop: each connection's next login as soon as the last is answered), (b) a flood from one
 * address beside 8 honest clients, (c) the cost of a refusal (400, 429, 503); (a), (a') and (b) once with admission
 * off and once on. Run alone: `node --import tsx bench/run.ts --only overload --seconds 5 [--dry-run]`.
 * What each row does and how to read it: docs/benchmarks.md, "Overload".
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@authstack/auth/config';
import { createPasswordHasher } from '@authstack/auth/passwords';
import { startAuth } from '@authstack/auth/server';
import { createPool } from '@authstack/auth/store/db';
import { createUserStore } from '@authstack/auth/store/users';
import { freePort } from '@authstack/testing';
import { gatedBcrypt } from '@authstack/testing/gated-bcrypt';
import autocannon from 'autocannon';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface OverloadEnv {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  cost: number;
  /** Logins/s: cores / bcrypt time. */
  ceiling: number;
  seconds: number;
}

export interface Latency {
  count: number;
  p50: number;
  p99: number;
}

export interface RateRow {
  admission: 'off' | 'on';
  factor: number;
  /** poisson: independent clients (open model); bursts: autocannon's overallRate, every connection in step. */
  arrivals: 'poisson' | 'bursts';
  offered_per_s: number;
  logins_per_s: number;
  of_ceiling: number;
  admitted: Latency;
  shed: Latency;
  other: number;
  unanswered: number;
  budget_ms: number;
}

/** The retry storm: a closed loop, every connection sends its next login as soon as the last is answered. */
export interface StormRow {
  admission: 'off' | 'on';
  connections: number;
  logins_per_s: number;
  of_ceiling: number;
  admitted: Latency;
  shed: Latency;
  shed_per_s: number;
  other: number;
  unanswered: number;
  /** The load generator's CPU (this process: autocannon), in cores. */
  generator_cpu: number;
}

export interface FloodRow {
  admission: 'off' | 'on';
  clients_logins_per_s: number;
  clients_of_ceiling: number;
  clients_success_rate: number;
  clients_ok: Latency;
  /** From a client's first attempt to its login, waits after a 503 included. */
  clients_time_to_login: Latency;
  clients_shed: number;
  clients_unanswered: number;
  flood_per_s: number;
  flood_judged: number;
  flood_shed: number;
  flood_shed_latency: Latency;
}

export interface RefusalRow {
  refusal: string;
  status: number;
  per_s: number;
  p50: number;
  p99: number;
  unexpected: number;
}

export interface OverloadReport {
  connections: { rate: number; flood: number; clients: number; refusal: number };
  admission_on: { capacity: number; budget_ms: number; max_per_client: number; max_per_account: number };
  rates: RateRow[];
  storm: StormRow[];
  flood: FloodRow[];
  refusals: RefusalRow[];
}

const PASSWORD = 'overload benchmark passphrase';
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

function latency(samples: number[]): Latency {
  if (samples.length === 0) return { count: 0, p50: 0, p99: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  return { count: sorted.length, p50: round(at(0.5)), p99: round(at(0.99)) };
}

interface Tally {
  byStatus: Map<number, number[]>;
  seconds: number;
  count(status: number): number;
  total(): number;
  /** Requests sent that had no answer when the row ended (their latency is unknown, beyond the row). */
  unanswered(): number;
}

/** The tally of a row: latencies by status, out of `sent` requests. */
function tallyOf(byStatus: Map<number, number[]>, seconds: number, sent: number): Tally {
  const total = () => [...byStatus.values()].reduce((sum, list) => sum + list.length, 0);
  return {
    byStatus,
    seconds,
    count: (status) => byStatus.get(status)?.length ?? 0,
    total,
    unanswered: () => Math.max(0, sent - total()),
  };
}

/** Record one answer's latency under its status. */
function record(byStatus: Map<number, number[]>, status: number, ms: number): void {
  const list = byStatus.get(status);
  if (list) list.push(ms);
  else byStatus.set(status, [ms]);
}

/** autocannon on `url` with a body and client address per request; latencies kept per status. */
async function drive(options: {
  url: string;
  connections: number;
  seconds: number;
  overallRate?: number;
  next: (n: number) => { body: string; ip: string };
}): Promise<Tally> {
  let n = 0;
  const byStatus = new Map<number, number[]>();
  let finish!: (error: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    finish = (error) => (error ? reject(error) : resolve());
  });
  const instance = autocannon(
    {
      url: options.url,
      method: 'POST',
      connections: options.connections,
      duration: options.seconds,
      ...(options.overallRate ? { overallRate: options.overallRate } : {}),
      requests: [
        {
          method: 'POST',
          setupRequest: (req: autocannon.Request) => {
            const { body, ip } = options.next(n++);
            return {
              ...req,
              body,
              headers: { ...req.headers, 'content-type': 'application/json', 'x-forwarded-for': ip },
            };
          },
        },
      ],
    },
    (error) => finish(error),
  );
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) =>
    record(byStatus, status, ms),
  );
  await finished;
  return tallyOf(byStatus, options.seconds, n);
}

/** A repeatable uniform random source (mulberry32), so a row's arrival times are the same on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Logins arriving as from many independent clients: an open model with Poisson arrivals at `rate` per second
 * (exponential gaps, seeded), sent over at most `connections` keep-alive connections. An arrival that finds every
 * connection waiting for an answer is not sent (a client that gives up) and counts as unanswered, as do requests
 * still unanswered when the row ends (aborted then). Latency counts from the arrival.
 */
async function openDrive(options: {
  url: string;
  connections: number;
  seconds: number;
  rate: number;
  seed: number;
  next: (n: number) => { body: string; ip: string };
}): Promise<Tally> {
  const target = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const byStatus = new Map<number, number[]>();
  const random = seededRandom(options.seed);
  const end = performance.now() + options.seconds * 1000;
  const pending = new Set<http.ClientRequest>();
  let sent = 0;
  const send = (n: number, arrival: number) => {
    const { body, ip } = options.next(n);
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-forwarded-for': ip,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          pending.delete(req);
          record(byStatus, res.statusCode ?? 0, performance.now() - arrival);
        });
      },
    );
    req.on('error', () => pending.delete(req)); // aborted at the row's end: counted as unanswered
    pending.add(req);
    req.end(body);
  };
  let arrival = performance.now();
  while (true) {
    arrival += (-Math.log(1 - random()) / options.rate) * 1000;
    if (arrival >= end) break;
    const wait = arrival - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (pending.size < options.connections) send(sent, arrival);
    sent++;
  }
  const rest = end - performance.now();
  if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
  for (const req of pending) req.destroy();
  agent.destroy();
  return tallyOf(byStatus, options.seconds, sent);
}

/**
 * Clients that log in over and over like real ones: one request at a time each, and after a 503 they wait the
 * `Retry-After` it gives. Each login's latency, and its time to log in (from the first attempt, shed retries and
 * their waits included).
 */
async function politeClients(options: {
  url: string;
  seconds: number;
  clients: { username: string; ip: string }[];
}) {
  const deadline = Date.now() + options.seconds * 1000;
  const ok: number[] = [];
  const timeToLogin: number[] = [];
  const counts = { attempts: 0, shed: 0, other: 0, unanswered: 0 };
  await Promise.all(
    options.clients.map(async (client) => {
      let firstAttempt = performance.now();
      while (Date.now() < deadline) {
        counts.attempts++;
        const start = performance.now();
        let status: number;
        let retryAfter: number;
        try {
          const res = await fetch(options.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-forwarded-for': client.ip },
            body: JSON.stringify({ username: client.username, password: PASSWORD }),
            signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
          });
          await res.arrayBuffer();
          status = res.status;
          retryAfter = Number(res.headers.get('retry-after')) || 1;
        } catch {
          counts.unanswered++; // still waiting when the row ended
          break;
        }
        const now = performance.now();
        if (status === 200) {
          ok.push(now - start);
          timeToLogin.push(now - firstAttempt);
          firstAttempt = now;
        } else if (status === 503) {
          counts.shed++;
          const wait = Math.min(retryAfter * 1000, deadline - Date.now());
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        } else {
          counts.other++;
          firstAttempt = now;
        }
      }
    }),
  );
  return { ok, timeToLogin, ...counts };
}

/** Poll `done` every 10 ms; after 30 s stop the run with what it was waiting for. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`bench: gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface ChildAuth {
  url: string;
  /** A gauge or counter from its /metrics (0 when absent), label values matched as given. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Wait until no admitted hashing work is left (the previous row's backlog). */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

/** `node services/auth/src/server.ts` with `env`, ready when /readyz answers 200. */
async function startChildAuth(env: Record<string, string>): Promise<ChildAuth> {
  const port = await freePort();
  const child = spawn(process.execPath, ['services/auth/src/server.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      ...(process.env.UV_THREADPOOL_SIZE ? { UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE } : {}),
      ...env,
      HOST: '127.0.0.1',
      PORT: String(port),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`auth exited with ${child.exitCode} at start-up`);
    const ready = await fetch(`${url}/readyz`).then(
      (res) => res.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error('auth did not become ready within 60 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text
      .split('\n')
      .find(
        (l) =>
          (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) &&
          Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
      );
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  };
  return {
    url,
    metric,
    async drain() {
      const until = Date.now() + 300_000;
      while ((await metric('auth_bcrypt_in_flight')) > 0 && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function overloadRows(env: OverloadEnv, log: (line: string) => void): Promise<OverloadReport> {
  // One key-encryption key and pepper for every instance: they share the database and its signing key.
  const kek = randomBytes(32).toString('base64');
  const pepper = randomBytes(32).toString('base64');
  const baseEnv = (prefix: string, extra: Record<string, string> = {}): Record<string, string> => ({
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: env.redisUrl,
    REDIS_KEY_PREFIX: `${env.redisPrefix}${prefix}:`,
    KEY_ENCRYPTION_KEY: kek,
    PASSWORD_PEPPER: pepper,
    BCRYPT_COST: String(env.cost),
    LOG_LEVEL: 'silent',
    TRUST_PROXY: 'loopback',
    REGISTER_MAX_PER_IP_PER_HOUR: '100000',
    LOGIN_MAX_FAILURES_PER_IP_PER_DAY: '1000000',
    LOGIN_MAX_SUCCESSES_PER_USER_PER_HOUR: '1000000',
    LOGIN_MAX_SUCCESSES_PER_IP_PER_HOUR: '1000000',
    SESSIONS_MAX_PER_USER: '1000',
    ...extra,
  });
  const off = {
    BCRYPT_QUEUE_BUDGET_MS: '60000',
    BCRYPT_MAX_PER_CLIENT: '10000',
    BCRYPT_MAX_PER_ACCOUNT: '10000',
  };
  const stops: (() => Promise<void>)[] = [];
  const pool = createPool(env.databaseUrl, 2);
  try {
    // Accounts, inserted with one peppered hash (the same password for all), so that setting up costs one
    // bcrypt hash, not one per account; each instance gets its own (separate limit counters and sessions).
    const hash = await createPasswordHasher({ pepper: Buffer.from(pepper, 'base64'), cost: env.cost }).hash(
      PASSWORD,
    );
    const store = createUserStore(pool);
    const makeUsers = async (stem: string, count: number) => {
      const names: string[] = [];
      for (let i = 0; i < count; i++) {
        const username = `${stem}${i}x${randomBytes(3).toString('hex')}`;
        await store.insert({ username, passwordHash: hash, roles: ['user'] });
        names.push(username);
      }
      return names;
    };

    // One at a time (the first makes the signing key), each its own process.
    const offAuth = await startChildAuth(baseEnv('ovoff', off));
    stops.push(offAuth.stop);
    const onAuth = await startChildAuth(baseEnv('ovon'));
    stops.push(onAuth.stop);
    const plan = {
      poolSize: await onAuth.metric('auth_bcrypt_threadpool_size'),
      workers: await onAuth.metric('auth_bcrypt_workers'),
      hashMs: (await onAuth.metric('auth_bcrypt_hash_seconds')) * 1000,
      budgetMs: (await onAuth.metric('auth_bcrypt_queue_budget_seconds')) * 1000,
      capacity: await onAuth.metric('auth_bcrypt_admission_capacity'),
      maxPerClient: await onAuth.metric('auth_bcrypt_admission_max_per_client'),
      maxPerAccount: await onAuth.metric('auth_bcrypt_admission_max_per_account'),
    };
    log(
      `bench: admission on: pool ${plan.poolSize}, workers ${plan.workers}, hash ${round(plan.hashMs)} ms, budget ${Math.round(plan.budgetMs)} ms, capacity ${plan.capacity}, per client ${plan.maxPerClient}, per account ${plan.maxPerAccount}`,
    );
    const instances = [
      { admission: 'off' as const, auth: offAuth, budgetMs: 60_000 },
      { admission: 'on' as const, auth: onAuth, budgetMs: plan.budgetMs },
    ];
    // Before each row, both instances finish the previous rows' work (requests unanswered at a row's end are
    // still being served, and would take the cores from the next row).
    const drainAll = async () => {
      for (const { auth } of instances) await auth.drain();
    };
    const users = new Map<string, { many: string[]; clients: string[] }>();
    for (const { admission } of instances) {
      users.set(admission, {
        many: await makeUsers(`ov${admission}m`, 64),
        clients: await makeUsers(`ov${admission}c`, 8),
      });
    }

    // (a) 2x and 5x the ceiling from 64 addresses over 64 accounts, at most 64 connections.
    const RATE_CONNECTIONS = 64;
    const rates: RateRow[] = [];
    // Poisson arrivals (independent clients) at 2x and 5x; then 2x in aligned bursts, as autocannon's overallRate
    // sends them: every connection its quota at the start of each second, all connections in step.
    const runs = [
      { factor: 2, arrivals: 'poisson' as const },
      { factor: 5, arrivals: 'poisson' as const },
      { factor: 2, arrivals: 'bursts' as const },
    ];
    for (const { factor, arrivals } of runs) {
      for (const { admission, auth, budgetMs } of instances) {
        const many = users.get(admission)!.many;
        const offered = Math.max(1, Math.round(env.ceiling * factor));
        await drainAll();
        const next = (n: number) => ({
          body: JSON.stringify({ username: many[n % many.length], password: PASSWORD }),
          ip: `10.1.0.${n % RATE_CONNECTIONS}`,
        });
        const load = {
          url: `${auth.url}/auth/login`,
          connections: RATE_CONNECTIONS,
          seconds: env.seconds,
          next,
        };
        const tally =
          arrivals === 'poisson'
            ? await openDrive({ ...load, rate: offered, seed: factor })
            : await drive({ ...load, overallRate: offered });
        const ok = tally.count(200);
        const row: RateRow = {
          admission,
          factor,
          arrivals,
          offered_per_s: offered,
          logins_per_s: round(ok / tally.seconds),
          of_ceiling: round(ok / tally.seconds / env.ceiling, 2),
          admitted: latency(tally.byStatus.get(200) ?? []),
          shed: latency(tally.byStatus.get(503) ?? []),
          other: tally.total() - ok - tally.count(503),
          unanswered: tally.unanswered(),
          budget_ms: Math.round(budgetMs),
        };
        rates.push(row);
        log(
          `bench: overload ${factor}x ${arrivals}, admission ${admission.padEnd(3)}: ${row.logins_per_s} logins/s (${row.of_ceiling} of ceiling), admitted p50 ${row.admitted.p50} p99 ${row.admitted.p99} ms, shed ${row.shed.count} (p99 ${row.shed.p99} ms), other ${row.other}, unanswered ${row.unanswered}`,
        );
      }
    }

    // (a') A retry storm: 64 connections, a closed loop (each sends its next login as soon as the last is answered,
    // a 503's Retry-After not waited out), 64 addresses and accounts, right passwords.
    const storm: StormRow[] = [];
    for (const { admission, auth } of instances) {
      const many = users.get(admission)!.many;
      await drainAll();
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      const tally = await drive({
        url: `${auth.url}/auth/login`,
        connections: RATE_CONNECTIONS,
        seconds: env.seconds,
        next: (n) => ({
          body: JSON.stringify({ username: many[n % many.length], password: PASSWORD }),
          ip: `10.4.0.${n % RATE_CONNECTIONS}`,
        }),
      });
      const cpu = process.cpuUsage(cpuBefore);
      const wall = (performance.now() - started) / 1000;
      const ok = tally.count(200);
      const row: StormRow = {
        admission,
        connections: RATE_CONNECTIONS,
        logins_per_s: round(ok / tally.seconds),
        of_ceiling: round(ok / tally.seconds / env.ceiling, 2),
        admitted: latency(tally.byStatus.get(200) ?? []),
        shed: latency(tally.byStatus.get(503) ?? []),
        shed_per_s: round(tally.count(503) / tally.seconds),
        other: tally.total() - ok - tally.count(503),
        unanswered: tally.unanswered(),
        generator_cpu: round((cpu.user + cpu.system) / 1e6 / wall, 2),
      };
      storm.push(row);
      log(
        `bench: retry storm, admission ${admission.padEnd(3)}: ${row.logins_per_s} logins/s (${row.of_ceiling} of ceiling), admitted p50 ${row.admitted.p50} p99 ${row.admitted.p99} ms, shed ${row.shed.count} (${row.shed_per_s}/s, p99 ${row.shed.p99} ms), other ${row.other}, unanswered ${row.unanswered}, generator cpu ${row.generator_cpu}`,
      );
    }

    // (b) one address floods wrong passwords while 8 clients log in correctly.
    const FLOOD_CONNECTIONS = 48;
    const flood: FloodRow[] = [];
    for (const { admission, auth } of instances) {
      const clients = users.get(admission)!.clients;
      await drainAll();
      const [floodTally, polite] = await Promise.all([
        drive({
          url: `${auth.url}/auth/login`,
          connections: FLOOD_CONNECTIONS,
          seconds: env.seconds,
          next: (n) => ({
            body: JSON.stringify({ username: `nobody${n}x${admission}`, password: 'wrong password, again' }),
            ip: '203.0.113.66',
          }),
        }),
        politeClients({
          url: `${auth.url}/auth/login`,
          seconds: env.seconds,
          clients: clients.map((username, n) => ({ username, ip: `10.2.0.${n}` })),
        }),
      ]);
      const row: FloodRow = {
        admission,
        clients_logins_per_s: round(polite.ok.length / env.seconds),
        clients_of_ceiling: round(polite.ok.length / env.seconds / env.ceiling, 2),
        clients_success_rate: round(polite.ok.length / Math.max(1, polite.attempts), 3),
        clients_ok: latency(polite.ok),
        clients_time_to_login: latency(polite.timeToLogin),
        clients_shed: polite.shed,
        clients_unanswered: polite.unanswered,
        flood_per_s: round(floodTally.total() / floodTally.seconds),
        flood_judged: floodTally.count(401),
        flood_shed: floodTally.count(503),
        flood_shed_latency: latency(floodTally.byStatus.get(503) ?? []),
      };
      flood.push(row);
      log(
        `bench: flood + 8 clients, admission ${admission.padEnd(3)}: clients ${row.clients_logins_per_s} logins/s (${row.clients_of_ceiling} of ceiling), success ${row.clients_success_rate}, p99 ${row.clients_ok.p99} ms, time to log in p99 ${row.clients_time_to_login.p99} ms, shed ${row.clients_shed}, unanswered ${row.clients_unanswered}; flood ${row.flood_per_s} req/s, ${row.flood_judged} judged, ${row.flood_shed} shed`,
      );
    }
    await drainAll();
    for (const stop of stops.splice(0).reverse()) await stop();

    // (c) the cost of a refusal, in this process (its bcrypt is injected and held shut while the queue is full).
    const gate = gatedBcrypt();
    const refusing = await startAuth(
      loadConfig({
        ...baseEnv('ovref', {
          LOGIN_MAX_FAILURES_PER_USER_IP: '1',
          BCRYPT_MAX_PER_CLIENT: '10000',
          BCRYPT_MAX_PER_ACCOUNT: '10000',
          UV_THREADPOOL_SIZE: '2',
          BCRYPT_QUEUE_BUDGET_MS: '1200',
        }),
        PORT: '0',
      }),
      // A fixed plan, whatever the cost: 2 workers, a hash time of 200 ms, capacity floor(1200 x 2 / 200) - 4 = 8
      // slots to hold full (at a low cost the derived capacity would be hundreds of held requests). No shed delay:
      // the shed row measures what a refusal costs, not how long it is held back.
      { bcrypt: gate.engine, hashMs: 200, shedDelayMs: 0 },
    );
    stops.push(refusing.stop);
    // At most the capacity: an over-the-limit refusal holds an admission slot for its Redis round trip.
    const REFUSAL_CONNECTIONS = Math.min(16, refusing.service.useCases.admission.plan.capacity);
    const refusals: RefusalRow[] = [];
    const refusal = async (name: string, status: number, body: (n: number) => string, ip = '10.3.0.1') => {
      const tally = await drive({
        url: `${refusing.url}/auth/login`,
        connections: REFUSAL_CONNECTIONS,
        seconds: env.seconds,
        next: (n) => ({ body: body(n), ip }),
      });
      const lat = latency(tally.byStatus.get(status) ?? []);
      const row: RefusalRow = {
        refusal: name,
        status,
        per_s: round(tally.count(status) / tally.seconds),
        p50: lat.p50,
        p99: lat.p99,
        unexpected: tally.total() - tally.count(status),
      };
      refusals.push(row);
      log(
        `bench: refusal ${name.padEnd(38)} ${String(row.per_s).padStart(8)} req/s  p50 ${row.p50} ms  p99 ${row.p99} ms  other statuses ${row.unexpected}`,
      );
    };
    await refusal('malformed body (400 invalid_input)', 400, () => JSON.stringify({ username: 'someone' }));
    // One wrong password blocks the (username, address) pair (LOGIN_MAX_FAILURES_PER_USER_IP=1).
    const [blocked] = await makeUsers('ovblk', 1);
    await fetch(`${refusing.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.3.0.2' },
      body: JSON.stringify({ username: blocked, password: 'wrong password, once' }),
    }).then((res) => res.arrayBuffer());
    await refusal(
      'over the limit (429 too_many_attempts)',
      429,
      () => JSON.stringify({ username: blocked, password: PASSWORD }),
      '10.3.0.2',
    );
    // The 429 row's last requests may still hold slots (an over-the-limit login holds one for its Redis round trip),
    // and requests the row's connections sent before it ended may be admitted after it: a holder shed by them
    // (503 `overloaded`) tries again until the queue is full.
    const admission = refusing.service.useCases.admission;
    await until(() => admission.inFlight() === 0, 'the 429 row to finish');
    gate.close();
    const capacity = admission.plan.capacity;
    let opened = false;
    const hold = async (n: number): Promise<number> => {
      for (;;) {
        const res = await fetch(`${refusing.url}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.3.1.${n}` },
          body: JSON.stringify({ username: `holder${n}`, password: PASSWORD }),
        });
        await res.arrayBuffer();
        if (res.status !== 503 || opened) return res.status;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    // Settled, never rejected: a holder that fails while the row waits must not end the process as an unhandled
    // rejection (which would hide why the row stopped); it is reported after the row.
    const holders = Promise.allSettled(Array.from({ length: capacity }, (_, n) => hold(n)));
    try {
      await until(() => gate.waiting() >= capacity, `${capacity} logins to hold the queue full`);
      await refusal('shed (503 overloaded)', 503, (n) =>
        JSON.stringify({ username: `ovshed${n % 64}`, password: PASSWORD }),
      );
    } finally {
      opened = true;
      gate.open();
    }
    const failed = (await holders).find((result) => result.status === 'rejected');
    if (failed) throw new Error('bench: a login holding the queue failed', { cause: failed.reason });

    return {
      connections: {
        rate: RATE_CONNECTIONS,
        flood: FLOOD_CONNECTIONS,
        clients: 8,
        refusal: REFUSAL_CONNECTIONS,
      },
      admission_on: {
        capacity: plan.capacity,
        budget_ms: Math.round(plan.budgetMs),
        max_per_client: plan.maxPerClient,
        max_per_account: plan.maxPerAccount,
      },
      rates,
      storm,
      flood,
      refusals,
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await pool.end().catch(() => {});
  }
}

/** The markdown for docs/benchmarks.md's overload section (between its markers). */
export function overloadTable(
  report: OverloadReport,
  context: {
    date: string;
    cores: number;
    cpu: string;
    seconds: number;
    cost: number;
    bcryptMs: number;
    ceiling: number;
  },
): string {
  const r = report;
  return [
    `Measured ${context.date.slice(0, 10)} on ${context.cores} cores (${context.cpu}); ${context.seconds} s per row; bcrypt cost ${context.cost} at ${context.bcryptMs} ms, ceiling **${context.ceiling} logins/s**; admission on: capacity ${r.admission_on.capacity}, budget ${r.admission_on.budget_ms} ms, ${r.admission_on.max_per_client} per client, ${r.admission_on.max_per_account} per account; \`make bench\`.`,
    '',
    `(a) Logins at 2x and 5x the ceiling, at most ${r.connections.rate} connections, ${r.connections.rate} addresses and accounts; arrivals "poisson": independent clients (an open model, latency from each arrival), "bursts": autocannon's \`overallRate\`, every connection its request at the start of each second, all in step:`,
    '',
    '| offered | arrivals | admission | logins/s | of ceiling | admitted p50 ms | admitted p99 ms | shed | shed p50 ms | shed p99 ms | other | unanswered |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.rates.map(
      (x) =>
        `| ${x.factor}x (${x.offered_per_s}/s) | ${x.arrivals} | ${x.admission} | ${x.logins_per_s} | ${x.of_ceiling} | ${x.admitted.p50} | ${x.admitted.p99} | ${x.shed.count} | ${x.shed.p50} | ${x.shed.p99} | ${x.other} | ${x.unanswered} |`,
    ),
    '',
    `(a') A retry storm: ${r.connections.rate} connections, ${r.connections.rate} addresses and accounts, right passwords, a closed loop (each connection sends its next login as soon as the last is answered; a 503's \`Retry-After\` is not waited out); generator CPU in cores (autocannon, in the bench's process):`,
    '',
    '| admission | logins/s | of ceiling | admitted p50 ms | admitted p99 ms | shed | shed/s | shed p50 ms | shed p99 ms | other | unanswered | generator CPU |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.storm.map(
      (x) =>
        `| ${x.admission} | ${x.logins_per_s} | ${x.of_ceiling} | ${x.admitted.p50} | ${x.admitted.p99} | ${x.shed.count} | ${x.shed_per_s} | ${x.shed.p50} | ${x.shed.p99} | ${x.other} | ${x.unanswered} | ${x.generator_cpu} |`,
    ),
    '',
    `(b) ${r.connections.flood} connections from one address sending wrong passwords while ${r.connections.clients} clients log in correctly:`,
    '',
    '| admission | clients logins/s | of ceiling | clients success rate | clients p50 ms | clients p99 ms | time to log in p99 ms | clients shed | clients unanswered | flood req/s | flood judged (401) | flood shed | flood shed p99 ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.flood.map(
      (x) =>
        `| ${x.admission} | ${x.clients_logins_per_s} | ${x.clients_of_ceiling} | ${x.clients_success_rate} | ${x.clients_ok.p50} | ${x.clients_ok.p99} | ${x.clients_time_to_login.p99} | ${x.clients_shed} | ${x.clients_unanswered} | ${x.flood_per_s} | ${x.flood_judged} | ${x.flood_shed} | ${x.flood_shed_latency.p99} |`,
    ),
    '',
    `(c) The cost of a refusal, ${r.connections.refusal} connections, nothing else running (the shed row with the hashing queue held full):`,
    '',
    '| refusal | status | req/s | p50 ms | p99 ms | other statuses |',
    '|---|---:|---:|---:|---:|---:|',
    ...r.refusals.map(
      (x) => `| ${x.refusal} | ${x.status} | ${x.per_s} | ${x.p50} | ${x.p99} | ${x.unexpected} |`,
    ),
  ].join('\n');
}
