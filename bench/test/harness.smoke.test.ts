/**
 * The bench harness, end to end, on smoke settings (1 s rounds, one round, bcrypt costs 4 and 5, 200 sessions):
 * every section runs, latest.json carries every row, and the charts render as SVG. No threshold on any figure:
 * a smoke run on a shared machine measures nothing; this checks the harness, not the stack's speed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { OverloadReport } from '../overload.ts';
import { PEERS } from '../peer-server.ts';
import { ATTACKS, CANNOT } from '../peers.ts';
import type { ExtraReport } from '../report.ts';
import type { CookieRevocationWindow } from '../run.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('make bench --smoke', () => {
  let dir: string;
  let report: Required<ExtraReport> & {
    rows: Record<string, unknown>[];
    cookie_revocation_window: CookieRevocationWindow;
  };
  const figures = (row: object) => row as Record<string, unknown>;
  let stdout = '';

  before(
    async () => {
      dir = mkdtempSync(join(os.tmpdir(), 'authstack-bench-smoke-'));
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'bench/run.ts',
          '--smoke',
          '--out',
          dir,
          '--charts',
          join(dir, 'charts'),
          '--no-docs',
        ],
        { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stdout.on('data', (chunk) => {
        stdout += String(chunk);
      });
      child.stderr.on('data', (chunk) => {
        stderr += String(chunk);
      });
      const code = await new Promise((resolve) => child.once('close', resolve));
      assert.equal(code, 0, `bench exited ${code}: ${stderr}`);
      report = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8'));
      // About 30 s on an idle 2-core machine; far longer when the machine is busy.
    },
    { timeout: 300_000 },
  );
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('when it runs with smoke settings, then the report says so and names the generator', () => {
    assert.equal(report.smoke, true);
    assert.match(report.note, /Smoke settings/);
    assert.match(report.generator, /wrk/);
    assert.equal(report.loadavg.start.length, 3);
    assert.match(stdout, /bench: wrote /);
  });

  it('when it runs, then every path row is there with its figures and only 2xx answers', () => {
    const names = report.rows.map((r) => r.name);
    for (const name of [
      'login, direct',
      'login, through the gateway',
      'public (no auth), direct',
      'protected, stateless, direct',
      'protected, stateless, no token cache, direct',
      'protected, session-checked, direct',
      'public (no auth), through the gateway',
      'protected, stateless, through the gateway',
      'protected, cookie session, through the gateway, exchange cache 1 s',
      'protected, cookie session, through the gateway, exchange cache off, minted-token cache on',
      'protected, cookie session, through the gateway, exchange cache off, minted-token cache off',
    ]) {
      assert.ok(names.includes(name), `missing row ${name}`);
    }
    for (const row of report.rows) {
      for (const key of ['rps', 'p50', 'p99', 'non2xx', 'errors']) {
        assert.equal(typeof row[key], 'number', key);
      }
      // Every request answered 2xx: a row of refusals would measure the wrong thing (the session-checked row
      // did, while its token's user was one of the login rows' users and lost its session to their logins).
      assert.equal(row.non2xx, 0, `${row.name}: non-2xx answers`);
      assert.equal(row.errors, 0, `${row.name}: socket errors`);
    }
  });

  it("when the paths run, then the cookie session's revocation window through the gateway is measured: each logout's old cookie refused, never accepted after", () => {
    const window = report.cookie_revocation_window;
    assert.equal(window.exchange_cache_s, 1);
    assert.equal(window.samples_ms.length, 3);
    for (const sample of window.samples_ms)
      assert.ok(Number.isInteger(sample) && sample >= 0, String(sample));
    assert.equal(window.max_ms, Math.max(...window.samples_ms));
    assert.ok(window.median_ms <= window.max_ms);
    assert.equal(window.accepted_after, 0, 'no 200 with the old cookie after its first 401');
    // The bound itself is e2e/cookie-session.window.test.ts's; here only that the figure is of that order.
    assert.ok(window.max_ms < 5000, `max ${window.max_ms} ms`);
  });

  it('when the verifier peers run, then each has a row and refuses every forged token it can check', () => {
    assert.deepEqual(
      report.peers.rows.map((r) => r.peer),
      [...PEERS],
    );
    for (const row of report.peers.rows) {
      assert.equal(row.validAccepted, true, row.peer);
      assert.equal(row.non2xx, 0, `${row.peer} answered non-2xx under load`);
      for (const key of ['rps', 'p50', 'p90', 'p99', 'ratio', 'generatorCpu', 'serverCpu', 'rssRestMiB']) {
        assert.equal(typeof figures(row)[key], 'number', `${row.peer} ${key}`);
      }
      assert.deepEqual(Object.keys(row.correctness), [...ATTACKS]);
      if (row.peer === 'limit') continue;
      for (const attack of ATTACKS) {
        const expected: string = CANNOT[row.peer]?.includes(attack) ? 'cannot check' : 'refused';
        assert.equal(row.correctness[attack], expected, `${row.peer}: ${attack}`);
      }
    }
    assert.equal(report.peers.rows.find((r) => r.peer === 'limit')?.ratio, 1);
  });

  it('when the login section runs, then each cost has its ceiling, its rates and their ratios', () => {
    assert.deepEqual(
      report.login_ceiling.rows.map((r) => r.cost),
      [4, 5],
    );
    for (const row of report.login_ceiling.rows) {
      for (const key of ['hashMs', 'ceiling', 'direct', 'gateway', 'directRatio', 'gatewayRatio']) {
        assert.ok(Number.isFinite(figures(row)[key]), `cost ${row.cost} ${key}`);
      }
      assert.equal(row.non2xx, 0, `cost ${row.cost}: logins refused`);
    }
  });

  it('when the overload section runs, then the retry storm has a row with admission off and on, with its figures', () => {
    const { overload } = report as unknown as { overload: OverloadReport };
    assert.deepEqual(
      overload.storm.map((r) => r.admission),
      ['off', 'on'],
    );
    for (const row of overload.storm) {
      assert.equal(row.connections, 64);
      for (const key of [
        'logins_per_s',
        'of_ceiling',
        'shed_per_s',
        'other',
        'unanswered',
        'generator_cpu',
      ]) {
        assert.ok(Number.isFinite(figures(row)[key]), `storm ${row.admission} ${key}`);
      }
      assert.ok(row.admitted.count + row.shed.count > 0, `storm ${row.admission}: nothing answered`);
    }
    assert.match(stdout, /bench: retry storm, admission on /);
  });

  it('when the generator section runs, then wrk and autocannon (apart and in the service process) each measure direct and the gateway', () => {
    const rows = report.gateway_vs_direct.rows.map((r) => [r.generator, r.target]);
    assert.deepEqual(rows, [
      ['wrk', 'direct'],
      ['wrk', 'gateway'],
      ['autocannon', 'direct'],
      ['autocannon', 'gateway'],
      ["autocannon, in the service's own process", 'direct'],
      ["autocannon, in the service's own process", 'gateway'],
    ]);
    assert.ok(Number.isFinite(report.gateway_vs_direct.ratios.wrk));
    assert.ok(Number.isFinite(report.gateway_vs_direct.ratios.autocannon));
    assert.ok(Number.isFinite(report.gateway_vs_direct.ratios.autocannonSameProcess));
  });

  it('when the capacity section runs, then it counts store work per flow and computes 2, 8 and 32 cores', () => {
    const { login, refresh, sessions, computed, memory } = report.capacity;
    assert.ok(login.redisCommandsPerFlow > 0, 'a login sends Redis commands');
    assert.ok(login.pgRowsPerFlow.inserted > 0, 'a login writes an audit row');
    assert.ok(refresh.redisCommandsPerFlow > 0, 'a refresh sends Redis commands');
    assert.equal(sessions.count, 200);
    assert.ok(sessions.bytesPerSession > 0);
    assert.ok((memory.auth_rest_mib ?? 0) > 0);
    assert.deepEqual(
      computed?.map((r) => r.cores),
      [2, 8, 32],
    );
    for (const row of computed ?? []) assert.ok(row.runs_out_first, `cores ${row.cores}`);
    assert.ok(report.goals.length >= 3);
  });

  it('when it finishes, then the three charts are SVG documents with their titles', () => {
    const titles: Record<string, string> = {
      'login-vs-ceiling.svg': 'Login rate vs bcrypt cost',
      'verifiers-rps.svg': 'Requests per second by verifier',
      'verifiers-latency.svg': 'Latency percentiles by verifier',
    };
    assert.deepEqual([...report.charts].sort(), Object.keys(titles).sort());
    for (const [name, title] of Object.entries(titles)) {
      const svg = readFileSync(join(dir, 'charts', name), 'utf8').trim();
      assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/, name);
      assert.ok(svg.endsWith('</svg>'), name);
      assert.ok(svg.includes(title), `${name} has its title`);
      assert.ok(svg.includes('smoke run: not a measurement'), `${name} says it is a smoke run`);
    }
  });
});
