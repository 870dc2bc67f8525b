/**
 * Every provisioned Grafana dashboard renders as drawn: Grafana's grid is 24 columns wide, and a panel past its edge
 * or on top of another is moved by Grafana to wherever it fits, so the layout in the file is not what users see.
 * Checked for every dashboard file: each panel (rows included) inside the 24 columns, no two overlapping, ids unique,
 * and every panel, query and template variable on a data source the provisioning defines.
 * The project's dashboards only: dashboards/vendor/ (git-ignored; grafana.com's k6 dashboard, downloaded by
 * scripts/k6-dashboard.sh) is third-party and not linted here, but loaded by the same provider, so its uids are
 * counted with the project's (infra/test/k6-dashboard.fetch.test.ts checks what the script writes there).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GRAFANA = join(ROOT, 'infra/observability/grafana');
const DASHBOARDS = join(GRAFANA, 'dashboards');
const COLUMNS = 24;

interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}
interface DataSourceRef {
  type?: string;
  uid?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: GridPos;
  collapsed?: boolean;
  datasource?: DataSourceRef;
  targets?: { refId: string; expr?: string; datasource?: DataSourceRef }[];
  /** A collapsed row keeps its panels here. */
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list: { name: string; type: string; query?: unknown; datasource?: DataSourceRef }[] };
}

/** The data sources Grafana is provisioned with, by uid. */
function provisionedDataSources(): Map<string, string> {
  const dir = join(GRAFANA, 'provisioning/datasources');
  const sources = new Map<string, string>();
  for (const file of readdirSync(dir).filter((name) => /\.ya?ml$/.test(name))) {
    const { datasources } = parse(readFileSync(join(dir, file), 'utf8')) as {
      datasources: { uid: string; type: string }[];
    };
    for (const source of datasources) sources.set(source.uid, source.type);
  }
  return sources;
}

const dashboardFiles = () => readdirSync(DASHBOARDS).filter((name) => name.endsWith('.json'));
/** The downloaded third-party dashboards, when there are any (vendor/ is git-ignored). */
const VENDOR = join(DASHBOARDS, 'vendor');
const vendorUids = () =>
  existsSync(VENDOR)
    ? readdirSync(VENDOR)
        .filter((name) => name.endsWith('.json'))
        .flatMap((name) => {
          try {
            return [(JSON.parse(readFileSync(join(VENDOR, name), 'utf8')) as Dashboard).uid];
          } catch {
            return []; // not the project's file to judge; Grafana skips it with a log line
          }
        })
    : [];
const readDashboard = (file: string) => JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8')) as Dashboard;

/** Every panel, those a collapsed row holds included. */
const allPanels = (dashboard: Dashboard) =>
  dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);

/** What is laid out on the grid: the top-level panels (a collapsed row's panels are laid out when it opens). */
function gridProblems(panels: Panel[]): string[] {
  const problems: string[] = [];
  for (const { title, gridPos: g } of panels) {
    if (!g) {
      problems.push(`${title}: no gridPos`);
      continue;
    }
    if (![g.x, g.y, g.w, g.h].every(Number.isInteger)) problems.push(`${title}: gridPos not whole numbers`);
    if (g.x < 0 || g.y < 0) problems.push(`${title}: starts outside the grid (x=${g.x}, y=${g.y})`);
    if (g.w < 1 || g.h < 1) problems.push(`${title}: empty (w=${g.w}, h=${g.h})`);
    if (g.x + g.w > COLUMNS) problems.push(`${title}: past column ${COLUMNS} (x=${g.x}, w=${g.w})`);
  }
  for (const [i, a] of panels.entries())
    for (const b of panels.slice(i + 1)) {
      const [p, q] = [a.gridPos, b.gridPos];
      if (!p || !q) continue;
      if (p.x < q.x + q.w && q.x < p.x + p.w && p.y < q.y + q.h && q.y < p.y + p.h)
        problems.push(`${a.title} and ${b.title} overlap`);
    }
  return problems;
}

describe('the Grafana dashboards render as drawn', () => {
  const sources = provisionedDataSources();
  const files = dashboardFiles();

  it('when the dashboards folder is read, then it holds the project dashboard and the k6 one', () => {
    assert.deepEqual(files.toSorted(), ['authstack.json', 'k6.json']);
    assert.ok(sources.size > 0);
  });

  it('when panels are checked, then a panel past the edge, an empty one and an overlap are each found', () => {
    const at = (title: string, x: number, y: number, w: number, h = 8) =>
      ({ id: 0, type: 'timeseries', title, gridPos: { x, y, w, h } }) as Panel;
    assert.deepEqual(gridProblems([at('a', 0, 0, 12), at('b', 12, 0, 12), at('c', 0, 8, 24)]), []);
    assert.deepEqual(gridProblems([at('wide', 20, 0, 12)]), ['wide: past column 24 (x=20, w=12)']);
    assert.deepEqual(gridProblems([at('empty', 0, 0, 0)]), ['empty: empty (w=0, h=8)']);
    assert.deepEqual(gridProblems([at('left', -1, 0, 4)]), ['left: starts outside the grid (x=-1, y=0)']);
    assert.deepEqual(gridProblems([at('a', 0, 0, 12), at('b', 8, 4, 12)]), ['a and b overlap']);
    assert.deepEqual(gridProblems([at('row', 0, 8, 24, 1), at('b', 0, 0, 8, 9)]), ['row and b overlap']);
  });

  for (const file of files) {
    const dashboard = readDashboard(file);

    it(`${file}: every panel within the ${COLUMNS} columns, none overlapping (rows included)`, () => {
      assert.ok(dashboard.panels.length > 0);
      assert.deepEqual(gridProblems(dashboard.panels), []);
      for (const row of dashboard.panels.filter((panel) => panel.collapsed && panel.panels))
        assert.deepEqual(gridProblems(row.panels!), [], `inside the collapsed row ${row.title}`);
    });

    it(`${file}: panel ids are unique, and the dashboard uid is its own`, () => {
      const ids = allPanels(dashboard).map((panel) => panel.id);
      assert.ok(ids.every(Number.isInteger), JSON.stringify(ids));
      assert.equal(new Set(ids).size, ids.length, `duplicate ids in ${JSON.stringify(ids)}`);
      const uids = [...files.map((other) => readDashboard(other).uid), ...vendorUids()];
      assert.equal(uids.filter((uid) => uid === dashboard.uid).length, 1, dashboard.uid);
    });

    it(`${file}: every panel, query and variable reads a provisioned data source`, () => {
      const known = (ref: DataSourceRef | undefined, where: string) => {
        assert.ok(
          ref?.uid && sources.has(ref.uid),
          `${where}: data source ${JSON.stringify(ref)} not provisioned`,
        );
        assert.equal(ref.type, sources.get(ref.uid), `${where}: data source type`);
      };
      for (const panel of allPanels(dashboard)) {
        if (panel.type === 'row') {
          // A row only groups panels: it queries nothing.
          assert.equal(panel.targets, undefined, panel.title);
          continue;
        }
        known(panel.datasource, panel.title);
        assert.ok(panel.targets && panel.targets.length > 0, `${panel.title}: no query`);
        for (const target of panel.targets)
          known(target.datasource ?? panel.datasource, `${panel.title} ${target.refId}`);
      }
      for (const variable of dashboard.templating?.list ?? [])
        if (variable.type === 'query') known(variable.datasource, `variable ${variable.name}`);
    });
  }

  it('when Grafana starts, then the dashboards folder is the one its dashboard provider loads', () => {
    const dir = join(GRAFANA, 'provisioning/dashboards');
    const paths = readdirSync(dir)
      .filter((name) => /\.ya?ml$/.test(name))
      .flatMap(
        (name) =>
          (parse(readFileSync(join(dir, name), 'utf8')) as { providers: { options: { path: string } }[] })
            .providers,
      )
      .map((provider) => provider.options.path);
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    const mount = /\.\/infra\/observability\/grafana\/dashboards:(\S+):ro/.exec(compose)?.[1];
    assert.ok(mount && paths.includes(mount), `${mount} in ${JSON.stringify(paths)}`);
  });
});
