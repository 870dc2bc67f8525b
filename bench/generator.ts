/**
 * Gateway against direct, measured by two generators on the same servers: autocannon (JavaScript, in the bench's
 * Node process) and wrk (C, a process of its own). The resource service runs as a process of its own, so the CPU
 * each generator takes is its own: autocannon's is the bench process's CPU time during the row, wrk's its own.
 * Both keep connections alive (one TLS handshake per connection, at the start), so the difference is the
 * generator's CPU: on a small machine a generator that needs a core for itself takes it from nginx and the service.
 */
import { readFileSync } from 'node:fs';
import { loadConfig as loadResourceConfig } from '@authstack/resource/config';
import { startResource } from '@authstack/resource/server';
import autocannon from 'autocannon';
import { makeCerts, startGateway } from '../infra/nginx/local-gateway.ts';
import type { BenchOptions } from './options.ts';
import { nginxPids, ROOT, startNodeServer } from './procs.ts';
import { benchEnv, login, registerUsers, startAuthInProcess } from './stack.ts';
import {
  coresBusy,
  machineJiffies,
  measureRounds,
  processCpuSeconds,
  rssMiB,
  type WrkLoad,
  type WrkRound,
} from './wrk.ts';

const SAME_PROCESS = "autocannon, in the service's own process";
type Generator = 'wrk' | 'autocannon' | typeof SAME_PROCESS;

export interface GeneratorRow {
  generator: Generator;
  target: 'direct' | 'gateway';
  rps: number;
  p50: number;
  p99: number;
  generatorCpu: number;
  serverCpu: number;
  nginxCpu: number;
  machineBusy: number;
  non2xx: number;
  errors: number;
}

export interface GeneratorResult {
  path: string;
  connections: number;
  nginxWorkers: number;
  rows: GeneratorRow[];
  /** gateway / direct, per generator. */
  ratios: { wrk: number; autocannon: number; autocannonSameProcess: number };
  /** The resource process's resident memory at rest and at its peak under the rows' load, MiB. */
  resourceMemory: { restMiB: number; loadMiB: number };
}

/** One autocannon round in this process, with the same figures as a wrk round. */
async function autocannonRound(load: WrkLoad): Promise<WrkRound> {
  const watch = load.watch ?? [];
  const serverBefore = watch.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
  const cpuBefore = process.cpuUsage();
  const machine = machineJiffies();
  const started = performance.now();
  const result = await autocannon({
    url: load.url,
    connections: load.connections,
    duration: load.seconds,
    headers: load.headers ?? {},
  });
  const wall = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const serverAfter = watch.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
  return {
    rps: Math.round(result.requests.average * 10) / 10,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    generatorCpu: Math.round(((cpu.user + cpu.system) / 1e6 / wall) * 100) / 100,
    serverCpu: Math.round(((serverAfter - serverBefore) / wall) * 100) / 100,
    serverRssMiB: 0,
    machineBusy: coresBusy(machine),
  };
}

export async function runGenerator(options: BenchOptions): Promise<GeneratorResult> {
  const env = await benchEnv();
  const certs = makeCerts();
  const auth = await startAuthInProcess(env, 4);
  const connections = 32;
  try {
    const [user] = await registerUsers(auth.url, 1);
    const token = (await login(auth.url, user!)).access_token;
    const resourceEnv = {
      JWT_ISSUER: auth.service.config.issuer,
      JWKS_URI: `${auth.url}/.well-known/jwks.json`,
      REDIS_URL: process.env.REDIS_URL ?? '',
    };
    const rows: GeneratorRow[] = [];
    let peakRss = 0;
    /** The rows of `generators` against one resource (a process of its own, or this one) and a gateway. */
    const measureAgainst = async (
      resource: { url: string; pid?: number },
      generators: Generator[],
    ): Promise<void> => {
      const gateway = await startGateway({
        authUpstream: new URL(auth.url).host,
        resourceUpstream: new URL(resource.url).host,
        certs,
      });
      const nginx = nginxPids();
      try {
        for (const generator of generators) {
          for (const target of ['direct', 'gateway'] as const) {
            const load: WrkLoad = {
              url: `${target === 'direct' ? resource.url : gateway.httpsUrl}/api/protected`,
              connections,
              seconds: options.seconds,
              headers: { authorization: `Bearer ${token}` },
              watch: resource.pid ? [resource.pid] : [],
            };
            const nginxBefore = nginx.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
            const started = performance.now();
            const r = await measureRounds(
              load,
              options.rounds,
              generator === 'wrk' ? undefined : autocannonRound,
            );
            peakRss = Math.max(peakRss, r.serverRssMiB);
            const nginxSeconds = nginx.reduce((sum, pid) => sum + processCpuSeconds(pid), 0) - nginxBefore;
            rows.push({
              generator,
              target,
              rps: r.rps,
              p50: r.p50,
              p99: r.p99,
              generatorCpu: r.generatorCpu,
              serverCpu: r.serverCpu,
              nginxCpu: Math.round((nginxSeconds / ((performance.now() - started) / 1000)) * 100) / 100,
              machineBusy: r.machineBusy,
              non2xx: r.non2xx,
              errors: r.errors,
            });
            console.log(
              `bench: generator ${generator.padEnd(40)} ${target.padEnd(8)} ${String(r.rps).padStart(8)} req/s  generator cpu ${r.generatorCpu}  resource cpu ${r.serverCpu}  machine ${r.machineBusy} cores busy`,
            );
          }
        }
      } finally {
        await gateway.stop();
      }
    };

    const child = await startNodeServer('services/resource/src/server.ts', resourceEnv, {
      healthPath: '/readyz',
    });
    const resourceMemory = { restMiB: rssMiB(child.pid), loadMiB: 0 };
    try {
      await measureAgainst(child, ['wrk', 'autocannon']);
      resourceMemory.loadMiB = peakRss;
    } finally {
      await child.stop();
    }
    // The old harness: autocannon inside the process that also serves the requests.
    const inProcess = await startResource(
      loadResourceConfig({ ...resourceEnv, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent' }),
    );
    try {
      await measureAgainst(inProcess, [SAME_PROCESS]);
    } finally {
      await inProcess.stop();
    }

    const ratio = (generator: Generator) => {
      const of = (target: string) => rows.find((r) => r.generator === generator && r.target === target)!.rps;
      return Math.round((of('gateway') / of('direct')) * 1000) / 1000;
    };
    return {
      path: '/api/protected',
      connections,
      nginxWorkers: Number(
        /worker_processes\s+(\d+)/.exec(
          readFileSync(`${ROOT}infra/nginx/native.conf.template`, 'utf8'),
        )?.[1] ?? 0,
      ),
      rows,
      resourceMemory,
      ratios: {
        wrk: ratio('wrk'),
        autocannon: ratio('autocannon'),
        autocannonSameProcess: ratio(SAME_PROCESS),
      },
    };
  } finally {
    await auth.stop();
    certs.remove();
    await env.clear();
  }
}
