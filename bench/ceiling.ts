/**
 * Login against the ceiling, at each bcrypt cost: the ceiling is the parallel hashes per second this machine does
 * (`hash-ceiling.ts`, UV_THREADPOOL_SIZE comparisons in flight, in a process of its own); the achieved rate is
 * wrk's logins per second through the HTTPS gateway (and direct) to an auth process of its own with that pool
 * size. Also records auth's and nginx's resident memory at rest and under login load.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import { type Gateway, makeCerts, startGateway } from '../infra/nginx/local-gateway.ts';
import type { BenchOptions } from './options.ts';
import { type NodeServer, nginxPids, ROOT, removeProfile, startNodeServer } from './procs.ts';
import { type ProfileSummary, summariseProfile } from './profile.ts';
import { type BenchEnv, benchEnv, registerUsers } from './stack.ts';
import { measureRounds, rssMiB } from './wrk.ts';

export interface CeilingRow {
  cost: number;
  /** One hash alone, ms. */
  hashMs: number;
  /** Parallel hashes per second (pool-size comparisons in flight). */
  ceiling: number;
  direct: number;
  gateway: number;
  directRatio: number;
  gatewayRatio: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  authCpu: number;
  generatorCpu: number;
}

export interface CeilingResult {
  cores: number;
  poolSize: number;
  connections: number;
  rows: CeilingRow[];
  memory: { authRestMiB: number; authLoginLoadMiB: number; nginxRestMiB: number; nginxLoadMiB: number };
  profile?: ProfileSummary;
}

/** What auth's start script does: one libuv thread per core, at least 4. */
export const poolSize = () =>
  Number(process.env.UV_THREADPOOL_SIZE) || Math.max(4, os.availableParallelism());

async function hashCeiling(cost: number, seconds: number, concurrency: number) {
  const child = spawn(process.execPath, [join(ROOT, 'bench/hash-ceiling.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      UV_THREADPOOL_SIZE: String(concurrency),
      BENCH_COST: String(cost),
      BENCH_SECONDS: String(seconds),
      BENCH_CONCURRENCY: String(concurrency),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += String(chunk);
  });
  const code = await new Promise((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`bench: hash-ceiling exited ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as { perSecond: number; aloneMs: number };
}

const r1 = (n: number) => Math.round(n * 10) / 10;
const r3 = (n: number) => Math.round(n * 1000) / 1000;

/** An auth process at `cost` and a gateway in front of it, with users registered; returns auth's profile path. */
async function withAuthAndGateway(
  env: BenchEnv,
  certs: { cert: string; key: string },
  cost: number,
  pool: number,
  cpuProf: boolean,
  body: (stack: { auth: NodeServer; gateway: Gateway; nginx: number[]; bodies: string[] }) => Promise<void>,
): Promise<string | undefined> {
  const auth = await startNodeServer(
    'services/auth/src/server.ts',
    { ...env.authEnv(cost), UV_THREADPOOL_SIZE: String(pool) },
    { healthPath: '/readyz', cpuProf },
  );
  let gateway: Gateway | undefined;
  try {
    const authHost = new URL(auth.url).host;
    gateway = await startGateway({
      authUpstream: authHost,
      resourceUpstream: authHost,
      certs,
      loginRate: '100000r/s',
      loginBurst: '100000',
    });
    const users = await registerUsers(auth.url, pool * 2);
    const nginx = nginxPids();
    await body({ auth, gateway, nginx, bodies: users.map((u) => JSON.stringify(u)) });
  } finally {
    await gateway?.stop();
  }
  return auth.stop();
}

export async function runCeiling(options: BenchOptions): Promise<CeilingResult> {
  const pool = poolSize();
  const connections = pool * 2;
  const env = await benchEnv();
  const certs = makeCerts();
  const rows: CeilingRow[] = [];
  const memory = { authRestMiB: 0, authLoginLoadMiB: 0, nginxRestMiB: 0, nginxLoadMiB: 0 };
  let profile: ProfileSummary | undefined;
  try {
    for (const cost of options.costs) {
      const seconds = options.seconds;
      const hashes: { perSecond: number; aloneMs: number }[] = [];
      for (let n = 0; n < options.rounds; n++) hashes.push(await hashCeiling(cost, seconds, pool));
      const ceiling = hashes.map((h) => h.perSecond).sort((a, b) => a - b)[Math.floor(hashes.length / 2)]!;
      const aloneMs = hashes.map((h) => h.aloneMs).sort((a, b) => a - b)[Math.floor(hashes.length / 2)]!;

      const last = cost === options.costs.at(-1);
      await withAuthAndGateway(env, certs, cost, pool, false, async ({ auth, gateway, nginx, bodies }) => {
        if (last) {
          memory.authRestMiB = rssMiB(auth.pid);
          memory.nginxRestMiB = r1(nginx.reduce((sum, pid) => sum + rssMiB(pid), 0));
        }
        const load = { connections, seconds: options.seconds, bodies, watch: [auth.pid] };
        const direct = await measureRounds({ ...load, url: `${auth.url}/auth/login` }, options.rounds);
        const viaGateway = await measureRounds(
          { ...load, url: `${gateway.httpsUrl}/auth/login`, watch: [auth.pid, ...nginx] },
          options.rounds,
        );
        if (last) {
          memory.authLoginLoadMiB = direct.serverRssMiB;
          memory.nginxLoadMiB = r1(nginx.reduce((sum, pid) => sum + rssMiB(pid), 0));
        }
        const row: CeilingRow = {
          cost,
          hashMs: r1(aloneMs),
          ceiling: r1(ceiling),
          direct: direct.rps,
          gateway: viaGateway.rps,
          directRatio: r3(direct.rps / ceiling),
          gatewayRatio: r3(viaGateway.rps / ceiling),
          p50: viaGateway.p50,
          p99: viaGateway.p99,
          non2xx: direct.non2xx + viaGateway.non2xx,
          errors: direct.errors + viaGateway.errors,
          authCpu: direct.serverCpu,
          generatorCpu: viaGateway.generatorCpu,
        };
        rows.push(row);
        console.log(
          `bench: login at cost ${cost}: ceiling ${row.ceiling}/s (one hash ${row.hashMs} ms, ${pool} in flight); direct ${row.direct}/s (${row.directRatio}); gateway ${row.gateway}/s (${row.gatewayRatio})`,
        );
      });
    }
    // A goal missed (gateway login < 0.90 of the ceiling): one more round at the highest cost under --cpu-prof.
    const worst = rows.at(-1);
    if (options.profile && worst && worst.gatewayRatio < 0.9) {
      const path = await withAuthAndGateway(
        env,
        certs,
        worst.cost,
        pool,
        true,
        async ({ gateway, bodies }) => {
          await measureRounds(
            { url: `${gateway.httpsUrl}/auth/login`, connections, seconds: options.seconds, bodies },
            1,
          );
        },
      );
      if (path) {
        profile = summariseProfile(path);
        removeProfile(path);
      }
    }
    return {
      cores: os.availableParallelism(),
      poolSize: pool,
      connections,
      rows,
      memory,
      ...(profile ? { profile } : {}),
    };
  } finally {
    certs.remove();
    await env.clear();
  }
}
