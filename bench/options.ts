/**
 * `make bench` options (after `--` or in the environment):
 *   --only paths,peers,generator,login,capacity   sections to run (default: all; `overload` too where run.ts has it)
 *   --seconds N (BENCH_SECONDS, default 10)       length of one wrk round
 *   --rounds N (BENCH_ROUNDS, default 3)          rounds per row; each figure is the median
 *   --costs 10,11,12 (BENCH_COSTS)                bcrypt costs of the login-vs-ceiling rows
 *   --sessions N (BENCH_SESSIONS, default 10000)  live sessions for the Redis memory figure
 *   --users N (default 100)                       users (tokens) behind the verifier rows
 *   --out DIR (default bench/results)             where latest.json goes
 *   --charts DIR (default docs/benchmarks)        where the SVG charts go
 *   --no-docs                                     leave docs/benchmarks.md alone
 *   --no-profile                                  no --cpu-prof reruns for missed goals
 *   --dry-run                                     print the figures, write nothing (no JSON, charts or docs)
 *   --smoke                                       tiny settings: 1 s, 1 round, costs 4,5, 200 sessions, 10
 *                                                 users, no profiles; figures are marked "smoke, not a measurement"
 */
import { resolve } from 'node:path';
import { ROOT } from './procs.ts';

/** `overload` is bench/overload.ts's group on main (run by run.ts, not by bench/sections.ts). */
export const SECTIONS = ['paths', 'overload', 'peers', 'generator', 'login', 'capacity'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  sections: Set<Section>;
  seconds: number;
  rounds: number;
  costs: number[];
  sessions: number;
  users: number;
  out: string;
  charts: string;
  docs: boolean;
  profile: boolean;
  smoke: boolean;
  dryRun: boolean;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const args = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      args.set(arg.slice(2), next);
      i++;
    } else args.set(arg.slice(2), true);
  }
  const smoke = args.has('smoke') || env.BENCH_SMOKE === '1';
  const value = (name: string, envName: string | undefined, fallback: string, smokeValue: string) => {
    const given = args.get(name);
    if (typeof given === 'string') return given;
    if (envName && env[envName]) return env[envName]!;
    return smoke ? smokeValue : fallback;
  };
  const number = (name: string, raw: string) => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0)
      throw new Error(`bench: --${name} must be a positive number, got ${raw}`);
    return n;
  };
  const only = args.get('only');
  const sections = new Set<Section>();
  for (const name of typeof only === 'string' ? only.split(',') : SECTIONS) {
    if (!(SECTIONS as readonly string[]).includes(name)) {
      throw new Error(`bench: unknown section ${name} (known: ${SECTIONS.join(', ')})`);
    }
    sections.add(name as Section);
  }
  const costs = value('costs', 'BENCH_COSTS', '10,11,12', '4,5')
    .split(',')
    .map((c) => number('costs', c));
  return {
    sections,
    seconds: number('seconds', value('seconds', 'BENCH_SECONDS', '10', '1')),
    rounds: number('rounds', value('rounds', 'BENCH_ROUNDS', '3', '1')),
    costs,
    sessions: number('sessions', value('sessions', 'BENCH_SESSIONS', '10000', '200')),
    users: number('users', value('users', undefined, '100', '10')),
    out: resolve(ROOT, value('out', undefined, 'bench/results', 'bench/results')),
    charts: resolve(ROOT, value('charts', undefined, 'docs/benchmarks', 'docs/benchmarks')),
    docs: !args.has('no-docs') && !args.has('dry-run'),
    dryRun: args.has('dry-run'),
    profile: !args.has('no-profile') && !smoke,
    smoke,
  };
}
