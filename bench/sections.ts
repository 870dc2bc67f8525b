/**
 * The sections `bench/run.ts` runs besides its own rows (`paths`): verifier peers, gateway vs direct by
 * generator, login against the ceiling, capacity; then the computed capacity table, the goals, the charts and
 * the docs blocks.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import { runCapacity } from './capacity.ts';
import { runCeiling } from './ceiling.ts';
import { writeCharts } from './charts.ts';
import { runGenerator } from './generator.ts';
import type { BenchOptions } from './options.ts';
import { runPeers } from './peers.ts';
import { ROOT } from './procs.ts';
import { computeCapacity, type ExtraReport, goals, sections, writeSections } from './report.ts';
import { wrkAvailable, wrkVersion } from './wrk.ts';

const loadavg = () => os.loadavg().map((n) => Math.round(n * 100) / 100);

export async function runSections(options: BenchOptions): Promise<ExtraReport> {
  if (!wrkAvailable()) {
    throw new Error(
      'bench: wrk is not installed (Debian: apt-get install -y wrk); the throughput rows use it',
    );
  }
  const start = loadavg();
  const report: ExtraReport = {
    smoke: options.smoke,
    note: '',
    loadavg: { start, end: start },
    generator: `${wrkVersion()}, 1 thread, keep-alive; median of ${options.rounds} round(s) of ${options.seconds} s`,
    rounds: options.rounds,
    seconds_per_round: options.seconds,
  };
  const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await run();
    console.log(`bench: section ${name} took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return result;
  };
  if (options.sections.has('peers')) report.peers = await timed('peers', () => runPeers(options));
  if (options.sections.has('generator')) {
    report.gateway_vs_direct = await timed('generator', () => runGenerator(options));
  }
  if (options.sections.has('login')) report.login_ceiling = await timed('login', () => runCeiling(options));
  if (options.sections.has('capacity')) {
    const measured = await timed('capacity', () => runCapacity(options));
    const c = report.login_ceiling;
    report.capacity = {
      ...measured,
      memory: {
        ...(c
          ? {
              auth_rest_mib: c.memory.authRestMiB,
              auth_login_load_mib: c.memory.authLoginLoadMiB,
              nginx_rest_mib: c.memory.nginxRestMiB,
              nginx_load_mib: c.memory.nginxLoadMiB,
            }
          : {}),
        ...(report.gateway_vs_direct
          ? {
              resource_rest_mib: report.gateway_vs_direct.resourceMemory.restMiB,
              resource_load_mib: report.gateway_vs_direct.resourceMemory.loadMiB,
            }
          : {}),
        ...(report.peers
          ? {
              peers: Object.fromEntries(
                report.peers.rows.map((r) => [r.label, { rest: r.rssRestMiB, load: r.rssLoadMiB }]),
              ),
            }
          : {}),
      },
      ...(c ? { computed: computeCapacity(c, measured) } : {}),
    };
  }
  report.goals = goals(report);
  report.loadavg.end = loadavg();
  const machine = `${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`;
  report.note = options.smoke
    ? `Smoke settings (${options.seconds} s rounds, ${options.rounds} round, tiny costs and counts) on ${machine}; load average ${report.loadavg.start[0]} at the start, ${report.loadavg.end[0]} at the end. Run \`make bench\` on a quiet machine for figures.`
    : `Measured ${new Date().toISOString().slice(0, 16)} UTC on ${machine} with \`make bench\`: ${report.generator}. Load average (1 min) ${report.loadavg.start[0]} at the start, ${report.loadavg.end[0]} at the end.`;
  const chartNote = options.smoke
    ? 'smoke run: not a measurement'
    : `${os.availableParallelism()} cores, wrk`;
  report.charts = options.dryRun
    ? []
    : await writeCharts(
        options.charts,
        {
          ...(report.peers ? { peers: report.peers } : {}),
          ...(report.login_ceiling ? { ceiling: report.login_ceiling } : {}),
        },
        chartNote,
      );
  if (options.docs) {
    const docs = join(ROOT, 'docs/benchmarks.md');
    writeSections(docs, sections(report, relative(join(ROOT, 'docs'), options.charts)));
  }
  return report;
}

/** latest.json: the paths rows (when run) and every section. */
export function writeResults(options: BenchOptions, report: object): string {
  if (options.dryRun) return 'nothing (--dry-run)';
  mkdirSync(options.out, { recursive: true });
  const path = join(options.out, 'latest.json');
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}

/**
 * docs/benchmarks.md as biome formats it (tables aligned), so `make lint` passes after `make bench`; and, when the
 * run wrote the project's results file, the figures other docs quote from it (`make doc-figures`).
 */
export function formatDocs(options: BenchOptions): void {
  if (!options.docs) return;
  if (resolve(options.out) === resolve(ROOT, 'bench/results')) {
    const figures = spawnSync(process.execPath, [join(ROOT, 'scripts/doc-figures.ts')], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (figures.status !== 0) console.warn(`bench: make doc-figures failed: ${figures.stderr}`);
  }
  const biome = join(ROOT, 'node_modules/@biomejs/biome/bin/biome');
  const out = spawnSync(process.execPath, [biome, 'format', '--write', 'docs/benchmarks.md'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (out.status !== 0) console.warn(`bench: biome format docs/benchmarks.md failed: ${out.stderr}`);
}
