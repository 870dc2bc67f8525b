/**
 * Turns a dashboard exported for sharing (grafana.com's download of the community k6 dashboard, by
 * scripts/k6-dashboard.sh) into one Grafana's file provisioning loads as it is: the export's inputs
 * (`__inputs`: `${DS_PROMETHEUS}` and the like) replaced by the provisioned Prometheus data source, the import-only
 * keys dropped, a fixed uid. Refuses (exit 1, one line on stderr, nothing written) anything that is not such a
 * dashboard: not JSON, no `panels`, no `testid` variable, a data source this stack does not provision, a placeholder
 * left unresolved, library panels, or a uid or title one of the project's dashboards already has.
 *
 * Usage: node scripts/k6-dashboard.ts <downloaded.json> <output.json>
 * Built-in modules only: it runs before node_modules exists.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const GRAFANA = join(ROOT, 'infra/observability/grafana');
/** The uid the community dashboard gets here, so its address is stable: /d/k6-prometheus. */
export const UID = 'k6-prometheus';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Input {
  name?: unknown;
  type?: unknown;
  pluginId?: unknown;
  value?: unknown;
}

class Refused extends Error {}

/**
 * The provisioned Prometheus data source's uid, read from provisioning/datasources/prometheus.yml (a flat list of
 * `- name: ...` entries; read line by line, so no YAML library is needed before node_modules exists).
 */
export function prometheusUid(
  yaml = readFileSync(join(GRAFANA, 'provisioning/datasources/prometheus.yml'), 'utf8'),
) {
  for (const entry of yaml.split(/^\s*-\s+/m).slice(1)) {
    const field = (key: string) =>
      new RegExp(`^\\s*${key}:\\s*['"]?([^'"\\s#]+)`, 'm').exec(`  ${entry}`)?.[1];
    if (field('type') === 'prometheus' && field('uid')) return field('uid')!;
  }
  throw new Refused('no Prometheus data source with a uid in provisioning/datasources/prometheus.yml');
}

/** Every string of the tree with `replace` applied; a `datasource` given as a bare input placeholder becomes a ref. */
function rewrite(node: Json, replace: (text: string) => string, datasourceRef: Map<string, Json>): Json {
  if (typeof node === 'string') return replace(node);
  if (Array.isArray(node)) return node.map((item) => rewrite(item, replace, datasourceRef));
  if (node && typeof node === 'object') {
    const out: { [key: string]: Json } = {};
    for (const [key, value] of Object.entries(node))
      out[key] =
        key === 'datasource' && typeof value === 'string' && datasourceRef.has(value)
          ? datasourceRef.get(value)!
          : rewrite(value, replace, datasourceRef);
    return out;
  }
  return node;
}

/** The strings of a tree, for the leftover-placeholder check. */
function* strings(node: Json): Generator<string> {
  if (typeof node === 'string') yield node;
  else if (Array.isArray(node)) for (const item of node) yield* strings(item);
  else if (node && typeof node === 'object') for (const value of Object.values(node)) yield* strings(value);
}

/** The project's own dashboards (the top of the dashboards folder): their uids and titles. */
function projectDashboards(): { uid: string; title: string }[] {
  const dir = join(GRAFANA, 'dashboards');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as { uid: string; title: string });
}

/** The exported dashboard `text`, made ready for file provisioning against the data source `uid`. */
export function provisionable(text: string, uid: string, own = projectDashboards()): string {
  let doc: Json;
  try {
    doc = JSON.parse(text) as Json;
  } catch {
    throw new Refused('the answer is not JSON');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new Refused('the answer is not a dashboard');
  const inputs = (Array.isArray(doc.__inputs) ? doc.__inputs : []) as Input[];
  const values = new Map<string, string>();
  const datasourceRef = new Map<string, Json>();
  for (const input of inputs) {
    if (typeof input.name !== 'string' || !/^\w+$/.test(input.name))
      throw new Refused('an input without a name');
    const placeholder = `\${${input.name}}`;
    if (input.type === 'datasource') {
      if (input.pluginId !== 'prometheus')
        throw new Refused(
          `input ${input.name} wants a ${String(input.pluginId)} data source, not provisioned here`,
        );
      values.set(placeholder, uid);
      datasourceRef.set(placeholder, { type: 'prometheus', uid });
    } else if (input.type === 'constant' && typeof input.value === 'string')
      values.set(placeholder, input.value);
    else throw new Refused(`input ${input.name} of type ${String(input.type)} cannot be filled in`);
  }
  if (doc.__elements && typeof doc.__elements === 'object' && Object.keys(doc.__elements).length > 0)
    throw new Refused('it uses library panels, which file provisioning cannot create');
  const replace = (s: string) => {
    let out = s;
    for (const [placeholder, value] of values) out = out.replaceAll(placeholder, value);
    return out;
  };
  const result = rewrite(doc, replace, datasourceRef) as { [key: string]: Json };
  delete result.__inputs;
  delete result.__requires;
  delete result.__elements;

  if (!Array.isArray(result.panels) || result.panels.length === 0) throw new Refused('no panels array');
  const templating = result.templating as { list?: { name?: unknown }[] } | undefined;
  const variables = new Set((Array.isArray(templating?.list) ? templating.list : []).map((v) => v?.name));
  if (!variables.has('testid')) throw new Refused('no testid variable');
  // A placeholder left is an input the export did not declare: Grafana would show the panel's data source missing.
  for (const s of strings(result))
    for (const [, name] of s.matchAll(/\$\{(\w+)\}/g))
      if (!variables.has(name) && !name!.startsWith('__'))
        throw new Refused(`placeholder \${${name}} is neither an input nor a variable`);
  if (typeof result.title !== 'string' || !result.title) throw new Refused('no title');
  if (own.some((dashboard) => dashboard.uid === UID || dashboard.title === result.title))
    throw new Refused(`uid ${UID} or title "${result.title}" is taken by one of the project's dashboards`);
  result.id = null;
  result.uid = UID;
  return `${JSON.stringify(result, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [from, to] = process.argv.slice(2);
  if (!from || !to) {
    process.stderr.write('usage: node scripts/k6-dashboard.ts <downloaded.json> <output.json>\n');
    process.exit(2);
  }
  try {
    writeFileSync(to, provisionable(readFileSync(from, 'utf8'), prometheusUid()), { flag: 'wx' });
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
