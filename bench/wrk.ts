/**
 * The load generator for the throughput rows: Debian's `wrk` (C, one thread by default), never in the bench's own
 * Node process, so the server under test keeps the event loop and the cores wrk leaves it.
 *
 * `wrkRound()` runs wrk once with `bench/wrk.lua` (requests from a file: a token per line for Bearer rows, a JSON
 * body per line for logins) and reads the script's one-line JSON summary, plus the CPU seconds wrk itself used
 * (from its parent shell's `cutime`/`cstime`), so every row says how much of the machine the generator took.
 * `measureRounds()` repeats it and keeps the median of each figure.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LUA = fileURLToPath(new URL('./wrk.lua', import.meta.url));
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

export interface WrkLoad {
  url: string;
  connections: number;
  seconds: number;
  threads?: number;
  /** Bearer tokens used in turn, or JSON bodies POSTed in turn; neither: a plain GET. */
  tokens?: string[];
  bodies?: string[];
  /** Fixed extra headers (plain GET only). */
  headers?: Record<string, string>;
  /** Processes whose CPU use to report (the server under test); sampled for resident memory too. */
  watch?: number[];
}

export interface WrkRound {
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  requests: number;
  /** Socket errors and timeouts. */
  errors: number;
  /** Responses with status >= 400. */
  non2xx: number;
  /** CPU seconds per wall second used by wrk, and by the watched processes (1.0 = one core). */
  generatorCpu: number;
  serverCpu: number;
  /** Largest resident set seen across the watched processes, MiB (summed over them). */
  serverRssMiB: number;
  /** Cores busy machine-wide during the round (/proc/stat), whoever used them: 2.0 = both of 2 cores. */
  machineBusy: number;
}

/** Busy and total jiffies of all cores since boot (/proc/stat). */
export function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((sum, n) => sum + n, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/** Cores busy between two readings. */
export function coresBusy(before: { busy: number; total: number }): number {
  const after = machineJiffies();
  const share = (after.busy - before.busy) / Math.max(after.total - before.total, 1);
  return Math.round(share * os.availableParallelism() * 100) / 100;
}

export function wrkAvailable(): boolean {
  return spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error === undefined;
}

export function wrkVersion(): string {
  const out = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  return `${out.stdout}${out.stderr}`.split('\n')[0]?.trim() ?? 'wrk';
}

/** utime + stime of a live process, in seconds (0 when it is gone). */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Resident memory of a live process, MiB (0 when it is gone). */
export function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return Math.round((kb / 1024) * 10) / 10;
  } catch {
    return 0;
  }
}

/** The direct children of `pid` (from /proc), e.g. nginx's workers under its master. */
export function childPids(pid: number): number[] {
  const out = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  return out.stdout
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((n) => n > 0);
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;

export async function wrkRound(load: WrkLoad): Promise<WrkRound> {
  const dir = mkdtempSync(join(os.tmpdir(), 'authstack-wrk-'));
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };
  if (load.tokens || load.bodies) {
    const items = join(dir, 'items.txt');
    writeFileSync(items, `${(load.tokens ?? load.bodies)!.join('\n')}\n`);
    env.WRK_ITEMS = items;
    env.WRK_MODE = load.tokens ? 'bearer' : 'body';
  } else {
    env.WRK_ITEMS = '';
  }
  const args = [
    `-t${load.threads ?? 1}`,
    `-c${load.connections}`,
    `-d${load.seconds}s`,
    '--timeout',
    '30s',
    '-s',
    LUA,
    ...Object.entries(load.headers ?? {}).flatMap(([name, value]) => ['-H', `${name}: ${value}`]),
    load.url,
  ];
  const watch = load.watch ?? [];
  const cpuBefore = watch.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
  let rssPeak = watch.reduce((sum, pid) => sum + rssMiB(pid), 0);
  const sampler = setInterval(() => {
    rssPeak = Math.max(
      rssPeak,
      watch.reduce((sum, pid) => sum + rssMiB(pid), 0),
    );
  }, 250);
  const started = performance.now();
  const machine = machineJiffies();
  try {
    // The shell waits for wrk, then prints its own /proc stat: fields cutime and cstime are wrk's CPU time.
    const child = spawn('sh', ['-c', 'wrk "$@"; code=$?; cat /proc/$$/stat; exit $code', 'sh', ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
    });
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    const wall = (performance.now() - started) / 1000;
    const line = /WRK_JSON (\{.*\})/.exec(stdout)?.[1];
    if (code !== 0 || !line) throw new Error(`wrk failed (${code}): ${stderr.trim() || stdout.trim()}`);
    const r = JSON.parse(line) as Record<string, number>;
    const statLine = stdout.trim().split('\n').at(-1) ?? '';
    const fields = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
    const wrkCpu = (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
    const cpuAfter = watch.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
    const seconds = r.duration_us! / 1e6;
    // wrk keeps every connection busy (a closed loop). When one request takes more than 2 % of the round (the
    // login rows), counting completions in the window loses up to one request time per connection; Little's law
    // (connections / mean latency) gives the steady rate instead.
    const slow = r.requests! > 0 && r.mean_us! / 1e6 > 0.02 * seconds;
    return {
      rps: round1(slow ? load.connections / (r.mean_us! / 1e6) : r.requests! / seconds),
      p50: round2(r.p50_us! / 1000),
      p90: round2(r.p90_us! / 1000),
      p99: round2(r.p99_us! / 1000),
      requests: r.requests!,
      errors: r.connect! + r.read! + r.write! + r.timeout!,
      non2xx: r.status!,
      generatorCpu: round2(wrkCpu / wall),
      serverCpu: round2((cpuAfter - cpuBefore) / seconds),
      serverRssMiB: round1(rssPeak),
      machineBusy: coresBusy(machine),
    };
  } finally {
    clearInterval(sampler);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `rounds` rounds of the same load; each figure is the median over the rounds (sums for errors). */
export async function measureRounds(
  load: WrkLoad,
  rounds: number,
  run: (load: WrkLoad) => Promise<WrkRound> = wrkRound,
): Promise<WrkRound & { rounds: number; rpsByRound: number[] }> {
  const results: WrkRound[] = [];
  for (let n = 0; n < rounds; n++) results.push(await run(load));
  const pick = (key: keyof WrkRound) => median(results.map((r) => r[key]));
  return {
    rps: round1(pick('rps')),
    p50: round2(pick('p50')),
    p90: round2(pick('p90')),
    p99: round2(pick('p99')),
    requests: results.reduce((sum, r) => sum + r.requests, 0),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    generatorCpu: round2(pick('generatorCpu')),
    serverCpu: round2(pick('serverCpu')),
    serverRssMiB: Math.max(...results.map((r) => r.serverRssMiB)),
    machineBusy: round2(pick('machineBusy')),
    rounds,
    rpsByRound: results.map((r) => r.rps),
  };
}
