/**
 * The performance goals of the second round, each met or missed, from one run's figures (bench/results/latest.json):
 * the cookie path, the verifier without its cache against jose without one, the session check, stateless against
 * public, and login under a retry storm and beside a one-address flood. `make bench` writes them into
 * latest.json (`goals_second_round`) and docs/benchmarks.md (`bench-goals-2`); run alone, this file recomputes both
 * from the latest.json there is: `node --import tsx bench/goals-second-round.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SecondRoundGoal {
  goal: string;
  target: string;
  figure: string;
  met: boolean;
}

interface PathRow {
  name: string;
  rps: number;
}
interface Latest {
  date?: string;
  bcrypt?: { median_ms: number };
  rows?: PathRow[];
  cookie_revocation_window?: { median_ms: number; max_ms: number; exchange_cache_s: number };
  peers?: { rows: { peer: string; rps: number }[] };
  overload?: {
    storm?: { admission: string; of_ceiling: number; admitted: { p99: number } }[];
    flood?: { admission: string; clients_of_ceiling: number; clients_ok: { p99: number } }[];
  };
}

const r2 = (n: number) => Math.round(n * 100) / 100;

export function secondRoundGoals(latest: Latest): SecondRoundGoal[] {
  const goals: SecondRoundGoal[] = [];
  const row = (prefix: string) => latest.rows?.find((r) => r.name.startsWith(prefix))?.rps;
  const ratio = (
    goal: string,
    target: number,
    a: number | undefined,
    b: number | undefined,
    what: string,
  ) => {
    const value = a !== undefined && b ? a / b : undefined;
    goals.push({
      goal,
      target: `>= ${target}`,
      figure: value === undefined ? 'not measured in this run' : `${r2(value)} (${a} vs ${b} req/s, ${what})`,
      met: value !== undefined && value >= target,
    });
  };
  ratio(
    'cookie session through the gateway (exchange cache on) against the bearer token through the gateway',
    0.8,
    row('protected, cookie session, through the gateway, exchange cache 1'),
    row('protected, stateless, through the gateway'),
    'paths table',
  );
  const window = latest.cookie_revocation_window;
  goals.push({
    goal: "a cookie session's revocation window (logout's 200 to the first 401 with the old cookie)",
    target: '<= 1000 ms',
    figure: window ? `median ${window.median_ms} ms, max ${window.max_ms} ms` : 'not measured in this run',
    met: window !== undefined && window.max_ms <= 1000,
  });
  const peer = (name: string) => latest.peers?.rows.find((r) => r.peer === name)?.rps;
  ratio(
    'verifier without its token cache against jose without a cache',
    1.0,
    peer('verifier-no-cache'),
    peer('jose'),
    'verifier peers',
  );
  ratio(
    'session-checked protected against stateless protected, direct',
    0.9,
    row('protected, session-checked, direct'),
    row('protected, stateless, direct'),
    'paths table',
  );
  ratio(
    'stateless protected against public, direct',
    0.95,
    row('protected, stateless, direct'),
    row('public (no auth), direct'),
    'paths table',
  );
  const storm = latest.overload?.storm?.find((s) => s.admission === 'on');
  const hash = latest.bcrypt?.median_ms;
  goals.push({
    goal: 'login under a retry storm (64 connections, closed loop), admission on: successful logins against the ceiling',
    target: '>= 0.8',
    figure: storm ? `${storm.of_ceiling}` : 'not measured in this run',
    met: storm !== undefined && storm.of_ceiling >= 0.8,
  });
  goals.push({
    goal: 'the retry storm: admitted logins p99',
    target: hash ? `<= 2 x the hash time (${r2(2 * hash)} ms)` : '<= 2 x the hash time',
    figure: storm ? `${storm.admitted.p99} ms` : 'not measured in this run',
    met: storm !== undefined && hash !== undefined && storm.admitted.p99 <= 2 * hash,
  });
  const flood = latest.overload?.flood?.find((f) => f.admission === 'on');
  goals.push({
    goal: 'eight honest clients beside a one-address flood, admission on: their logins against the ceiling',
    target: '>= 0.65',
    figure: flood ? `${flood.clients_of_ceiling}` : 'not measured in this run',
    met: flood !== undefined && flood.clients_of_ceiling >= 0.65,
  });
  goals.push({
    goal: "the flood: the honest clients' p99 per login",
    target: '<= 1500 ms',
    figure: flood ? `${flood.clients_ok.p99} ms` : 'not measured in this run',
    met: flood !== undefined && flood.clients_ok.p99 <= 1500,
  });
  return goals;
}

export function secondRoundTable(latest: Latest, goals: SecondRoundGoal[]): string {
  return [
    `From the run of ${latest.date ?? 'unknown date'} (bench/results/latest.json, \`goals_second_round\`).`,
    '',
    '| goal | target | figure | met |',
    '|---|---|---|---|',
    ...goals.map((g) => `| ${g.goal} | ${g.target} | ${g.figure} | ${g.met ? 'yes' : '**no**'} |`),
  ].join('\n');
}

/** Adds the goals to latest.json and writes their table between the `bench-goals-2` markers of the docs. */
export function writeSecondRoundGoals(resultsPath: string, docsPath: string | undefined): SecondRoundGoal[] {
  const latest = JSON.parse(readFileSync(resultsPath, 'utf8')) as Latest & Record<string, unknown>;
  const goals = secondRoundGoals(latest);
  writeFileSync(resultsPath, `${JSON.stringify({ ...latest, goals_second_round: goals }, null, 2)}\n`);
  if (docsPath) {
    const text = readFileSync(docsPath, 'utf8');
    const begin = '<!-- bench-goals-2:begin -->';
    const end = '<!-- bench-goals-2:end -->';
    const from = text.indexOf(begin);
    const to = text.indexOf(end);
    if (from >= 0 && to > from) {
      writeFileSync(
        docsPath,
        `${text.slice(0, from + begin.length)}\n${secondRoundTable(latest, goals)}\n${text.slice(to)}`,
      );
    }
  }
  return goals;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('../', import.meta.url));
  const goals = writeSecondRoundGoals(
    join(root, 'bench/results/latest.json'),
    join(root, 'docs/benchmarks.md'),
  );
  for (const g of goals) console.log(`bench: goal ${g.met ? 'met   ' : 'MISSED'} ${g.goal}: ${g.figure}`);
}
