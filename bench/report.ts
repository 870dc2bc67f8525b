/**
 * The sections this harness adds to bench/results/latest.json and docs/benchmarks.md: verifier peers, login
 * against the ceiling, gateway vs direct by generator, capacity (measured, then computed for 2, 8 and 32 cores)
 * and the goals, each between its own `<!-- bench-<name>:begin/end -->` markers.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { CapacityResult } from './capacity.ts';
import type { CeilingResult } from './ceiling.ts';
import type { GeneratorResult } from './generator.ts';
import { ATTACKS, type PeersResult } from './peers.ts';
import type { ProfileSummary } from './profile.ts';

export interface ExtraReport {
  smoke: boolean;
  /** One line saying how the figures were taken (or that they are not a measurement). */
  note: string;
  loadavg: { start: number[]; end: number[] };
  generator: string;
  rounds: number;
  seconds_per_round: number;
  peers?: PeersResult;
  login_ceiling?: CeilingResult;
  gateway_vs_direct?: GeneratorResult;
  capacity?: CapacityResult & {
    memory: {
      auth_rest_mib?: number;
      auth_login_load_mib?: number;
      nginx_rest_mib?: number;
      nginx_load_mib?: number;
      resource_rest_mib?: number;
      resource_load_mib?: number;
      peers?: Record<string, { rest: number; load: number }>;
    };
    computed?: CapacityRow[];
    assumptions?: Record<string, number | string>;
  };
  goals?: Goal[];
  charts?: string[];
}

export interface Goal {
  goal: string;
  met: boolean;
  figure: string;
}

export interface CapacityRow {
  cores: number;
  limits: {
    bcrypt_cpu: number;
    libuv_pool_default_4: number;
    postgres_connections: number;
    redis_memory: number;
  };
  logins_per_s: number;
  runs_out_first: string;
  users: number;
  sessions: number;
  redis_gib: number;
}

/** Assumptions of the computed table (said next to it). */
export const ASSUMPTIONS = {
  logins_per_user_per_day: 1,
  busy_seconds_per_day: 8 * 3600,
  session_days_kept: 7,
  redis_gib_per_core: 1,
  auth_replicas: 1,
};

/** Users, sessions and logins/s on `cores` cores, from the measured per-core figures. */
export function computeCapacity(ceiling: CeilingResult, capacity: CapacityResult): CapacityRow[] {
  const row = ceiling.rows.at(-1);
  if (!row) return [];
  const perCore = row.ceiling / Math.min(ceiling.cores, ceiling.poolSize);
  const efficiency = Math.min(row.gatewayRatio, 1);
  const loginDb = Math.max(capacity.login.pgMsPerFlow, 0.01);
  const bytes = capacity.sessions.bytesPerSession;
  const sessionsPerLoginPerSecond = ASSUMPTIONS.busy_seconds_per_day * ASSUMPTIONS.session_days_kept;
  return [2, 8, 32].map((cores) => {
    const limits = {
      bcrypt_cpu: perCore * cores * efficiency,
      libuv_pool_default_4: perCore * Math.min(cores, 4) * efficiency,
      postgres_connections:
        (Math.min(capacity.dbPoolMax * ASSUMPTIONS.auth_replicas, capacity.pgMaxConnections) * 1000) /
        loginDb,
      redis_memory: (ASSUMPTIONS.redis_gib_per_core * cores * 2 ** 30) / (bytes * sessionsPerLoginPerSecond),
    };
    // The pool is raised to the core count by auth's start script; the default-pool column shows what happens
    // when it is not, and is not counted as the binding limit.
    const binding = {
      'bcrypt CPU': limits.bcrypt_cpu,
      'PostgreSQL connections': limits.postgres_connections,
      'Redis memory': limits.redis_memory,
    };
    const [first, rate] = Object.entries(binding).sort((a, b) => a[1] - b[1])[0]!;
    const users = rate * ASSUMPTIONS.busy_seconds_per_day * ASSUMPTIONS.logins_per_user_per_day;
    const sessions = users * ASSUMPTIONS.session_days_kept;
    const r = (n: number) => Math.round(n * 10) / 10;
    return {
      cores,
      limits: {
        bcrypt_cpu: r(limits.bcrypt_cpu),
        libuv_pool_default_4: r(limits.libuv_pool_default_4),
        postgres_connections: r(limits.postgres_connections),
        redis_memory: r(limits.redis_memory),
      },
      logins_per_s: r(rate),
      runs_out_first: first,
      users: Math.round(users),
      sessions: Math.round(sessions),
      redis_gib: Math.round(((sessions * bytes) / 2 ** 30) * 100) / 100,
    };
  });
}

export function goals(report: ExtraReport): Goal[] {
  const out: Goal[] = [];
  const peers = report.peers;
  if (peers) {
    const ours = peers.rows.find((r) => r.peer === 'verifier-cache')!;
    const best = peers.rows
      .filter((r) => r.peer !== 'limit' && r.peer !== 'verifier-cache')
      .sort((a, b) => b.rps - a.rps)[0]!;
    out.push({
      goal: '@authstack/verifier with its cache >= every peer',
      met: ours.rps >= best.rps,
      figure: `${ours.rps} req/s vs the best peer (${best.label}) ${best.rps} req/s`,
    });
    out.push({
      goal: '@authstack/verifier with its cache >= 0.90 of the limit',
      met: ours.ratio >= 0.9,
      figure: `${ours.ratio} of the bare handler`,
    });
    const wrong = peers.rows.flatMap((r) =>
      ATTACKS.filter((a) => r.correctness[a] === 'ACCEPTED').map((a) => `${r.label}: ${a}`),
    );
    out.push({
      goal: 'every verifier refuses every forged token it can check',
      met: wrong.length === 0,
      figure: wrong.length === 0 ? 'all refused' : `accepted: ${wrong.join('; ')}`,
    });
  }
  for (const row of report.login_ceiling?.rows ?? []) {
    out.push({
      goal: `login through the gateway at cost ${row.cost} >= 0.90 of the ceiling`,
      met: row.gatewayRatio >= 0.9,
      figure: `${row.gateway}/s of ${row.ceiling}/s = ${row.gatewayRatio}`,
    });
  }
  return out;
}

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1 });

function profileTable(title: string, p: ProfileSummary): string[] {
  return [
    `**${title}** (main thread, self time as a share of ${p.busySamples} busy samples; garbage collection ${p.gcShare} %):`,
    '',
    '| where | share % |',
    '|---|---:|',
    ...p.origins.slice(0, 6).map((o) => `| ${o.origin} | ${o.share} |`),
    '',
    '| top functions | at | share % |',
    '|---|---|---:|',
    ...p.functions.slice(0, 8).map((f) => `| \`${f.name}\` | ${f.where} | ${f.share} |`),
    '',
  ];
}

export function sections(report: ExtraReport, chartsPath: string): Record<string, string> {
  const out: Record<string, string> = {};
  const head = report.smoke ? `> **Smoke run, not a measurement.** ${report.note}` : `${report.note}`;
  const svg = (name: string, alt: string) =>
    report.charts?.includes(name) ? [`![${alt}](${chartsPath}/${name})`, ''] : [];

  if (report.peers) {
    const p = report.peers;
    out.peers = [
      head,
      '',
      `${p.users} users' tokens used in turn, ${p.connections} connections, one wrk thread; each peer in a process of its own.`,
      '',
      '| verifier | versions | req/s | p50 ms | p99 ms | ratio to the limit | wrk CPU | server CPU | machine cores busy | RSS rest / load MiB | non-2xx |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...p.rows.map(
        (r) =>
          `| ${r.label} | ${r.versions} | ${fmt(r.rps)} | ${r.p50} | ${r.p99} | ${r.ratio} | ${r.generatorCpu} | ${r.serverCpu} | ${r.machineBusy} | ${r.rssRestMiB} / ${r.rssLoadMiB} | ${r.non2xx + r.errors} |`,
      ),
      '',
      'Correctness: each forged token sent once to each peer before the load (`refused` = 401; `cannot check` = the',
      'library has no setting for it; `ACCEPTED` would be a failure). The valid token is accepted by every peer.',
      '',
      `| verifier | ${ATTACKS.join(' | ')} |`,
      `|---|${ATTACKS.map(() => '---').join('|')}|`,
      ...p.rows
        .filter((r) => r.peer !== 'limit')
        .map((r) => `| ${r.label} | ${ATTACKS.map((a) => r.correctness[a]).join(' | ')} |`),
      '',
      ...svg('verifiers-rps.svg', 'req/s by verifier'),
      ...svg('verifiers-latency.svg', 'latency percentiles by verifier'),
    ].join('\n');
  }

  if (report.login_ceiling) {
    const c = report.login_ceiling;
    out.login = [
      head,
      '',
      `Ceiling: ${c.poolSize} bcrypt comparisons in flight (UV_THREADPOOL_SIZE=${c.poolSize}) for the round's length, in a process of its own, on ${c.cores} cores. Login: wrk, ${c.connections} connections, ${c.connections} users, auth in a process of its own with the same pool size; through the HTTPS gateway and direct.`,
      '',
      '| bcrypt cost | one hash ms | ceiling hashes/s | login direct /s | ratio | login via gateway /s | ratio | p50 ms | p99 ms | auth CPU | non-2xx |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...c.rows.map(
        (r) =>
          `| ${r.cost} | ${r.hashMs} | ${r.ceiling} | ${r.direct} | ${r.directRatio} | ${r.gateway} | **${r.gatewayRatio}** | ${r.p50} | ${r.p99} | ${r.authCpu} | ${r.non2xx + r.errors} |`,
      ),
      '',
      ...svg('login-vs-ceiling.svg', 'login rate vs bcrypt cost against the ceiling'),
    ].join('\n');
  }

  if (report.gateway_vs_direct) {
    const g = report.gateway_vs_direct;
    out.generator = [
      head,
      '',
      `\`GET ${g.path}\` on the resource service (a process of its own), ${g.connections} keep-alive connections, nginx with ${g.nginxWorkers} worker; CPU = CPU seconds per wall second (1.0 = one core).`,
      '',
      '| generator | target | req/s | p50 ms | p99 ms | generator CPU | resource CPU | nginx CPU | machine cores busy | CPU µs per request: generator / resource / nginx |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...g.rows.map((r) => {
        const us = (cores: number) => (r.rps > 0 ? Math.round((cores / r.rps) * 1e6) : 0);
        const nginx = r.target === 'gateway';
        return `| ${r.generator} | ${r.target} | ${fmt(r.rps)} | ${r.p50} | ${r.p99} | ${r.generatorCpu} | ${r.serverCpu} | ${nginx ? r.nginxCpu : '–'} | ${r.machineBusy} | ${us(r.generatorCpu)} / ${us(r.serverCpu)} / ${nginx ? us(r.nginxCpu) : '–'} |`;
      }),
      '',
      `Gateway / direct: **${g.ratios.wrk}** with wrk, **${g.ratios.autocannon}** with autocannon in a process of its own, **${g.ratios.autocannonSameProcess}** with autocannon in the service's process (how the harness measured before: its generator CPU is the service's too).`,
    ].join('\n');
  }

  if (report.capacity) {
    const k = report.capacity;
    const flow = (name: string, f: CapacityResult['login']) =>
      `| ${name} | ${f.redisCommandsPerFlow} (${Object.entries(f.redisCommands)
        .map(([c, n]) => `${c} ${n}`)
        .join(
          ', ',
        )}) | ${f.redisBytesPerFlow} | ${f.redisKeysPerFlow} | ${f.pgQueriesPerFlow} | ${f.pgMsPerFlow} | ${f.pgRowsPerFlow.inserted} / ${f.pgRowsPerFlow.updated} / ${f.pgRowsPerFlow.deleted} (${
        Object.entries(f.pgRowsPerFlow.byTable)
          .map(([t, n]) => `${t} ${n}`)
          .join(', ') || 'none'
      }) |`;
    const m = k.memory;
    out.capacity = [
      head,
      '',
      '**Measured**, per flow (averages over the flows; sequential requests to the real auth service):',
      '',
      '| flow | Redis commands sent | Redis bytes added | keys added | SQL queries | SQL ms | PostgreSQL rows inserted / updated / deleted |',
      '|---|---|---:|---:|---:|---:|---|',
      flow('login', k.login),
      flow('refresh', k.refresh),
      '',
      `**Measured**: ${fmt(k.sessions.count)} live sessions (one per user, a ${k.sessions.userAgentBytes}-byte browser user agent) take ${fmt(k.sessions.keys)} keys and **${fmt(k.sessions.bytes)} B** of \`MEMORY USAGE\` (${fmt(k.sessions.bytesPerSession)} B per session with its per-user index; Redis's \`used_memory\` grew by ${fmt(k.sessions.usedMemoryDelta)} B, indicative only since the server is shared).`,
      '',
      '**Measured** resident memory (MiB):',
      '',
      '| process | at rest | under load |',
      '|---|---:|---:|',
      ...(m.auth_rest_mib !== undefined
        ? [`| auth (login load at the highest cost) | ${m.auth_rest_mib} | ${m.auth_login_load_mib} |`]
        : []),
      ...(m.resource_rest_mib !== undefined
        ? [`| resource (stateless, protected load) | ${m.resource_rest_mib} | ${m.resource_load_mib} |`]
        : []),
      ...(m.nginx_rest_mib !== undefined
        ? [`| nginx (master + workers) | ${m.nginx_rest_mib} | ${m.nginx_load_mib} |`]
        : []),
      ...Object.entries(m.peers ?? {}).map(([name, v]) => `| ${name} | ${v.rest} | ${v.load} |`),
      '',
      ...(k.computed?.length
        ? [
            `**Computed** from the measured figures above (per-core hash rate and gateway login ratio at the highest cost, SQL time per login, bytes per session) and these assumptions: each user logs in ${ASSUMPTIONS.logins_per_user_per_day}× a day within ${ASSUMPTIONS.busy_seconds_per_day / 3600} busy hours and keeps each session ${ASSUMPTIONS.session_days_kept} days (the idle lifetime); Redis gets ${ASSUMPTIONS.redis_gib_per_core} GiB per core; ${ASSUMPTIONS.auth_replicas} auth process with DB_POOL_MAX=${k.dbPoolMax} (PostgreSQL max_connections ${k.pgMaxConnections}). Each limit is the login rate at which that resource is used up.`,
            '',
            '| cores | bcrypt CPU limit /s | libuv pool left at 4 /s | PostgreSQL connections limit /s | Redis memory limit /s | logins/s | runs out first | users | live sessions | Redis GiB |',
            '|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|',
            ...k.computed.map(
              (r) =>
                `| ${r.cores} | ${fmt(r.limits.bcrypt_cpu)} | ${fmt(r.limits.libuv_pool_default_4)} | ${fmt(r.limits.postgres_connections)} | ${fmt(r.limits.redis_memory)} | **${fmt(r.logins_per_s)}** | ${r.runs_out_first} | ${fmt(r.users)} | ${fmt(r.sessions)} | ${r.redis_gib} |`,
            ),
          ]
        : []),
    ].join('\n');
  }

  if (report.goals?.length) {
    const profiles = [
      ...Object.entries(report.peers?.profiles ?? {}).map(([peer, p]) => profileTable(`Profile: ${peer}`, p)),
      ...(report.login_ceiling?.profile
        ? [profileTable('Profile: auth under login load through the gateway', report.login_ceiling.profile)]
        : []),
    ].flat();
    out.goals = [
      head,
      '',
      '| goal | met | figure |',
      '|---|---|---|',
      ...report.goals.map((g) => `| ${g.goal} | ${g.met ? 'yes' : '**no**'} | ${g.figure} |`),
      '',
      ...(profiles.length ? profiles : ['No profile taken (every goal met, or `--no-profile` / `--smoke`).']),
    ].join('\n');
  }
  return out;
}

/** Replaces each `<!-- bench-<name>:begin -->...<!-- bench-<name>:end -->` block present in the file. */
export function writeSections(path: string, blocks: Record<string, string>): void {
  if (!existsSync(path)) return;
  let text = readFileSync(path, 'utf8');
  for (const [name, body] of Object.entries(blocks)) {
    const begin = `<!-- bench-${name}:begin -->`;
    const end = `<!-- bench-${name}:end -->`;
    const from = text.indexOf(begin);
    const to = text.indexOf(end);
    if (from < 0 || to < from) continue;
    text = `${text.slice(0, from + begin.length)}\n${body}\n${text.slice(to)}`;
  }
  writeFileSync(path, text);
}
