/**
 * scripts/k6-dashboard.sh (make observe) adds grafana.com's community k6 dashboard (ID 19665) beside the project's
 * own when grafana.com answers, and never fails make observe when it does not. Run on a copy of the script and what it
 * reads, with a stand-in `curl` (or `wget`) first on PATH that serves a small synthetic dashboard in the shape
 * grafana.com exports (`__inputs`, `${DS_PROMETHEUS}` references, a `testid` variable) or fails as an offline machine
 * does. The downloaded file is git-ignored and loaded by the project's dashboard provider.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pathWithout, testScope, useTempDir } from '@authstack/testing';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GRAFANA = 'infra/observability/grafana';
const VENDOR = `${GRAFANA}/dashboards/vendor`;
const DEST = `${VENDOR}/k6-prometheus.json`;
const URL_PINNED = 'https://grafana.com/api/dashboards/19665/revisions/3/download';

/** The provisioned Prometheus data source, as Grafana reads it. */
const { datasources } = parse(
  readFileSync(join(ROOT, GRAFANA, 'provisioning/datasources/prometheus.yml'), 'utf8'),
) as {
  datasources: { uid: string; type: string }[];
};
const PROMETHEUS = datasources.find((source) => source.type === 'prometheus')!.uid;

/** `${name}`: an export's input placeholder, or a variable reference. */
const placeholder = (name: string) => `\${${name}}`;
const DS_PROMETHEUS = placeholder('DS_PROMETHEUS');

/** A dashboard in the shape of a grafana.com export (synthetic: two panels, the variables such a dashboard has). */
function exported(overrides: Record<string, unknown> = {}) {
  const ds = { type: 'prometheus', uid: DS_PROMETHEUS };
  return {
    __inputs: [
      {
        name: 'DS_PROMETHEUS',
        label: 'Prometheus',
        type: 'datasource',
        pluginId: 'prometheus',
        pluginName: 'Prometheus',
      },
    ],
    __elements: {},
    __requires: [{ type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.0.0' }],
    title: 'k6 stand-in',
    uid: 'stand-in-uid',
    id: null,
    panels: [
      {
        id: 1,
        type: 'timeseries',
        title: 'Requests',
        datasource: ds,
        gridPos: { x: 0, y: 0, w: 24, h: 8 },
        targets: [
          { refId: 'A', datasource: ds, expr: 'sum(rate(k6_http_reqs_total{testid=~"$testid"}[1m]))' },
        ],
      },
      // An older export names the data source by a bare placeholder.
      {
        id: 2,
        type: 'stat',
        title: 'Virtual users',
        datasource: DS_PROMETHEUS,
        gridPos: { x: 0, y: 8, w: 12, h: 4 },
        targets: [{ refId: 'A', expr: `max(k6_vus{testid=~"${placeholder('testid')}"})` }],
      },
    ],
    templating: {
      list: [
        {
          name: 'DS_PROMETHEUS',
          type: 'datasource',
          query: 'prometheus',
          current: { value: DS_PROMETHEUS },
        },
        { name: 'testid', type: 'query', datasource: ds, query: { query: 'label_values(testid)' } },
      ],
    },
    ...overrides,
  };
}

/**
 * curl, as the script calls it: `-o <file>` and the URL last. Logs its arguments; serves FAKE_BODY, or fails as
 * an offline machine does (exit 6, could not resolve host) when FAKE_OFFLINE is set.
 */
const FAKE_CURL = `
echo "curl $*" >> "$FAKE_LOG"
out=""
while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done
[ -n "\${FAKE_OFFLINE:-}" ] && { echo "curl: (6) Could not resolve host: grafana.com" >&2; exit 6; }
cp "$FAKE_BODY" "$out"`;
/** wget, as the script calls it when curl is missing: `-O <file>`. */
const FAKE_WGET = `
echo "wget $*" >> "$FAKE_LOG"
out=""
while [ $# -gt 0 ]; do [ "$1" = -O ] && out="$2"; shift; done
[ -n "\${FAKE_OFFLINE:-}" ] && exit 4
cp "$FAKE_BODY" "$out"`;

interface Checkout {
  root: string;
  dir: string;
}
/** A copy of the script, the rewrite, node24.sh and the Grafana files they read. */
function checkout(t: TestContext): Checkout {
  const dir = useTempDir(testScope(t), 'authstack-k6-dashboard');
  const root = join(dir, 'checkout');
  mkdirSync(join(root, 'scripts'), { recursive: true });
  for (const script of ['k6-dashboard.sh', 'k6-dashboard.ts', 'node24.sh'])
    cpSync(join(ROOT, 'scripts', script), join(root, 'scripts', script));
  cpSync(join(ROOT, GRAFANA, 'provisioning'), join(root, GRAFANA, 'provisioning'), { recursive: true });
  mkdirSync(join(root, GRAFANA, 'dashboards'));
  for (const file of readdirSync(join(ROOT, GRAFANA, 'dashboards')).filter((name) => name.endsWith('.json')))
    cpSync(join(ROOT, GRAFANA, 'dashboards', file), join(root, GRAFANA, 'dashboards', file));
  return { root, dir };
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The download commands the stand-ins received. */
  calls: string[];
}
function run(
  where: Checkout,
  answer: string | null,
  { args = [] as string[], without = [] as string[], env = {} as Record<string, string> } = {},
): Run {
  const body = join(where.dir, 'answer');
  writeFileSync(body, answer ?? '');
  const log = join(where.dir, 'calls.log');
  writeFileSync(log, '');
  const PATH = pathWithout(join(where.dir, `path-${without.join('-')}`), without, {
    ...(without.includes('curl') ? {} : { curl: FAKE_CURL }),
    ...(without.includes('wget') ? {} : { wget: FAKE_WGET }),
  });
  const result = spawnSync('bash', ['scripts/k6-dashboard.sh', ...args], {
    cwd: where.root,
    encoding: 'utf8',
    env: {
      PATH,
      HOME: where.root,
      NODE24_HOME: join(where.dir, 'no-node-cache'),
      FAKE_BODY: body,
      FAKE_LOG: log,
      ...(answer === null ? { FAKE_OFFLINE: '1' } : {}),
      ...env,
    },
  });
  const calls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
}

const vendorFiles = (where: Checkout) =>
  existsSync(join(where.root, VENDOR)) ? readdirSync(join(where.root, VENDOR)) : [];
const installed = (where: Checkout) => JSON.parse(readFileSync(join(where.root, DEST), 'utf8'));

/** The one line printed when 19665 is not added: the project's dashboard is there, and how to import 19665. */
const SKIPPED =
  /^k6 dashboard: grafana\.com's 19665 not added \(.+\); the project's own k6 dashboard is in Grafana .*Import, ID 19665/;

describe("grafana.com's k6 dashboard beside the project's own (scripts/k6-dashboard.sh)", () => {
  it('when grafana.com answers, then the dashboard lands with its inputs replaced by the provisioned Prometheus', (t) => {
    const where = checkout(t);
    const result = run(where, JSON.stringify(exported()));
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stdout,
      /^k6 dashboard: grafana\.com's 19665 \(revision 3\) added as .*vendor\/k6-prometheus\.json/,
    );
    assert.equal(result.stdout.trim().split('\n').length, 1, result.stdout);
    // One download, of the pinned revision, with time limits.
    assert.equal(result.calls.length, 1, result.calls.join('\n'));
    const call = result.calls[0]!;
    assert.ok(call.endsWith(` ${URL_PINNED}`), call);
    assert.match(call, /--connect-timeout \d+ .*--max-time \d+/);
    // Only the dashboard is left: nothing staged beside it.
    assert.deepEqual(vendorFiles(where), ['k6-prometheus.json']);

    const text = readFileSync(join(where.root, DEST), 'utf8');
    assert.doesNotMatch(text, /DS_PROMETHEUS\}/);
    const dashboard = installed(where);
    for (const key of ['__inputs', '__requires', '__elements']) assert.equal(key in dashboard, false, key);
    assert.equal(dashboard.uid, 'k6-prometheus');
    assert.equal(dashboard.title, 'k6 stand-in');
    const [requests, vus] = dashboard.panels;
    assert.deepEqual(requests.datasource, { type: 'prometheus', uid: PROMETHEUS });
    assert.deepEqual(requests.targets[0].datasource, { type: 'prometheus', uid: PROMETHEUS });
    assert.deepEqual(vus.datasource, { type: 'prometheus', uid: PROMETHEUS });
    // The variables' own references ($testid, ${testid}) are kept; the run picker reads the provisioned source.
    assert.match(requests.targets[0].expr, /testid=~"\$testid"/);
    assert.match(vus.targets[0].expr, /testid=~"\$\{testid\}"/);
    const testid = dashboard.templating.list.find((v: { name: string }) => v.name === 'testid');
    assert.deepEqual(testid.datasource, { type: 'prometheus', uid: PROMETHEUS });
  });

  it('when it is already there, then nothing is downloaded; with --refresh, it is downloaded again', (t) => {
    const where = checkout(t);
    assert.equal(run(where, JSON.stringify(exported())).status, 0);
    const again = run(where, JSON.stringify(exported({ title: 'k6 stand-in, newer' })));
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(again.calls, []);
    assert.equal(again.stdout, '');
    assert.equal(installed(where).title, 'k6 stand-in');

    const refreshed = run(where, JSON.stringify(exported({ title: 'k6 stand-in, newer' })), {
      args: ['--refresh'],
    });
    assert.equal(refreshed.status, 0, refreshed.stderr);
    assert.equal(refreshed.calls.length, 1);
    assert.equal(installed(where).title, 'k6 stand-in, newer');
  });

  it('when the machine is offline, then it says the project dashboard is there and how to import 19665, exit 0, nothing left', (t) => {
    const where = checkout(t);
    const result = run(where, null);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, SKIPPED);
    assert.match(result.stdout, /could not download/);
    assert.equal(result.stdout.trim().split('\n').length, 1, result.stdout);
    assert.equal(result.calls.length, 1);
    assert.deepEqual(vendorFiles(where), []);
  });

  it('when curl is missing, then wget downloads it, with a time limit; when neither is there, it says so', (t) => {
    const where = checkout(t);
    const result = run(where, JSON.stringify(exported()), { without: ['curl'] });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.calls.length, 1);
    assert.match(result.calls[0]!, /^wget .*--timeout=\d+ .*--tries=1 /);
    assert.ok(result.calls[0]!.endsWith(` ${URL_PINNED}`), result.calls[0]);
    assert.deepEqual(installed(where).panels[0].datasource, { type: 'prometheus', uid: PROMETHEUS });

    const bare = checkout(t);
    const none = run(bare, JSON.stringify(exported()), { without: ['curl', 'wget'] });
    assert.equal(none.status, 0, none.stderr);
    assert.match(none.stdout, SKIPPED);
    assert.match(none.stdout, /neither curl nor wget/);
    assert.deepEqual(vendorFiles(bare), []);
  });

  it('when K6_DASHBOARD_REVISION names another revision, then that one is downloaded; a bad value downloads nothing', (t) => {
    const where = checkout(t);
    const latest = run(where, JSON.stringify(exported()), { env: { K6_DASHBOARD_REVISION: 'latest' } });
    assert.equal(latest.status, 0, latest.stderr);
    assert.ok(
      latest.calls[0]!.endsWith(' https://grafana.com/api/dashboards/19665/revisions/latest/download'),
    );

    const other = checkout(t);
    const bad = run(other, JSON.stringify(exported()), { env: { K6_DASHBOARD_REVISION: '3/../../x' } });
    assert.equal(bad.status, 0);
    assert.match(bad.stdout, SKIPPED);
    assert.deepEqual(bad.calls, []);
    assert.deepEqual(vendorFiles(other), []);
  });

  const refused: [string, string, RegExp][] = [
    ['an HTML page', '<!doctype html><title>Grafana</title>', /not JSON/],
    ['an error answer', JSON.stringify({ code: 'NotFound', message: 'Dashboard not found' }), /no panels/],
    ['a JSON list', JSON.stringify([exported()]), /not a dashboard/],
    ['a dashboard without panels', JSON.stringify(exported({ panels: [] })), /no panels/],
    [
      'a dashboard without a testid variable',
      JSON.stringify(exported({ templating: { list: [] } })),
      /no testid/,
    ],
    [
      'a data source of a kind not provisioned',
      JSON.stringify(
        exported({ __inputs: [{ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'loki' }] }),
      ),
      /loki data source/,
    ],
    [
      'a placeholder the export does not declare',
      JSON.stringify(
        exported({
          __inputs: [],
          templating: { list: [{ name: 'testid', type: 'query', query: 'label_values(testid)' }] },
        }),
      ),
      /placeholder \$\{DS_PROMETHEUS\}/,
    ],
    [
      'library panels',
      JSON.stringify(exported({ __elements: { abc: { name: 'shared', kind: 1, model: {} } } })),
      /library panels/,
    ],
    [
      "the title of one of the project's dashboards",
      JSON.stringify(exported({ title: 'authstack: login, verification and load' })),
      /taken/,
    ],
  ];
  for (const [what, answer, why] of refused)
    it(`when grafana.com answers ${what}, then it is refused and nothing is left (exit 0)`, (t) => {
      const where = checkout(t);
      const result = run(where, answer);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, SKIPPED);
      assert.match(result.stdout, /answer refused/);
      assert.match(result.stdout, why);
      assert.deepEqual(vendorFiles(where), []);
    });

  it('when a refresh is refused, then the dashboard already there is kept as it was', (t) => {
    const where = checkout(t);
    assert.equal(run(where, JSON.stringify(exported())).status, 0);
    const before = readFileSync(join(where.root, DEST), 'utf8');
    const result = run(where, '<html>maintenance</html>', { args: ['--refresh'] });
    assert.equal(result.status, 0);
    assert.match(result.stdout, SKIPPED);
    assert.equal(readFileSync(join(where.root, DEST), 'utf8'), before);
    assert.deepEqual(vendorFiles(where), ['k6-prometheus.json']);
  });

  it('when the repository is read, then the download folder is git-ignored and inside what Grafana loads', () => {
    const ignored = spawnSync('git', ['check-ignore', '-q', `${VENDOR}/k6-prometheus.json`], { cwd: ROOT });
    assert.equal(ignored.status, 0, 'the vendor folder is git-ignored');
    const tracked = spawnSync('git', ['ls-files', VENDOR], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(tracked.stdout, '', 'nothing of the vendor folder is committed');
    // Grafana's file provider reads its path and the subfolders: the mount of the dashboards folder is its path.
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    const mount = new RegExp(`\\./${GRAFANA}/dashboards:(\\S+):ro`).exec(compose)?.[1];
    const provider = parse(
      readFileSync(join(ROOT, GRAFANA, 'provisioning/dashboards/authstack.yml'), 'utf8'),
    ) as {
      providers: { options: { path: string; foldersFromFilesStructure?: boolean } }[];
    };
    assert.ok(mount);
    assert.ok(
      provider.providers.some((p) => p.options.path === mount),
      `${mount} in ${JSON.stringify(provider.providers)}`,
    );
    // The Makefile's observe target fetches it before bringing the profile up.
    const observe =
      /^observe:.*\n((?:\t.*\n)+)/m.exec(readFileSync(join(ROOT, 'Makefile'), 'utf8'))?.[1] ?? '';
    const fetch = observe.indexOf('bash scripts/k6-dashboard.sh');
    assert.ok(fetch >= 0 && fetch < observe.indexOf(' up -d'), observe);
  });
});
