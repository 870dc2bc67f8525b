/**
 * Runs inside a worker thread: loads a k6 script with the k6 modules resolved to this stand-in, then runs its
 * setup(), one iteration of each scenario's function, teardown() and handleSummary(), and reports back.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { connect, state } from './runtime.ts';

const { script, env, port, signal, optionsOnly } = workerData as {
  script: string;
  optionsOnly: boolean;
  env: Record<string, string>;
  port: MessagePort;
  signal: Int32Array;
};

const MODULES: Record<string, string> = {
  k6: 'k6/k6.ts',
  'k6/http': 'k6/http.ts',
  'k6/execution': 'k6/execution.ts',
  'k6/data': 'k6/data.ts',
  'k6/metrics': 'k6/metrics.ts',
};
registerHooks({
  resolve(specifier, context, next) {
    const local = MODULES[specifier];
    if (local) return { url: new URL(local, import.meta.url).href, shortCircuit: true };
    if (specifier.startsWith('k6')) throw new Error(`k6 stand-in: module ${specifier} is not stood in`);
    return next(specifier, context);
  },
});

const globals = globalThis as Record<string, unknown>;
globals.__ENV = Object.freeze({ ...env });
globals.open = (path: string) => readFileSync(path.startsWith('file:') ? fileURLToPath(path) : path, 'utf8');

connect(port, signal);

type Fn = (data?: unknown) => unknown;
interface ScriptModule {
  options?: { scenarios?: Record<string, { exec?: string }>; setupTimeout?: string };
  setup?: Fn;
  teardown?: Fn;
  handleSummary?: (data: unknown) => Record<string, string>;
  [name: string]: unknown;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

function summaryData() {
  const metrics: Record<string, { type: string; values: Record<string, number> }> = {};
  for (const [name, { type, values }] of state.metrics) {
    const sum = values.reduce((a, b) => a + b, 0);
    if (type === 'trend') {
      const sorted = [...values].sort((a, b) => a - b);
      metrics[name] = {
        type,
        values: {
          avg: sum / values.length,
          min: sorted[0] ?? 0,
          med: quantile(sorted, 0.5),
          max: sorted.at(-1) ?? 0,
          'p(90)': quantile(sorted, 0.9),
          'p(95)': quantile(sorted, 0.95),
        },
      };
    } else if (type === 'rate') {
      metrics[name] = {
        type,
        values: { rate: sum / values.length, passes: sum, fails: values.length - sum },
      };
    } else {
      metrics[name] = { type, values: { count: sum } };
    }
  }
  return { metrics, root_group: { name: '', groups: [], checks: [] }, options: {}, state: {} };
}

const mod = (await import(pathToFileURL(script).href)) as ScriptModule;
if (optionsOnly) {
  parentPort?.postMessage({ options: JSON.parse(JSON.stringify(mod.options ?? {})) });
  process.exit(0);
}
const scenarios = mod.options?.scenarios;
if (!scenarios || Object.keys(scenarios).length === 0)
  throw new Error(`${script}: options.scenarios is empty`);
if (!mod.options?.setupTimeout) throw new Error(`${script}: options.setupTimeout is not set`);
const data = mod.setup ? mod.setup() : undefined;
const ran: string[] = [];
for (const [name, scenario] of Object.entries(scenarios)) {
  const fn = mod[scenario.exec ?? 'default'];
  if (typeof fn !== 'function')
    throw new Error(`${script}: scenario ${name} runs ${scenario.exec}, not exported`);
  state.scenario = name;
  state.vu = ran.length + 1; // one VU per scenario, as k6 would give each its own
  state.iteration = 0;
  (fn as Fn)(structuredClone(data)); // k6 hands each VU a copy of setup()'s data
  ran.push(name);
}
if (mod.teardown) mod.teardown(data);
const files: string[] = [];
let stdout = '';
if (mod.handleSummary) {
  for (const [target, content] of Object.entries(mod.handleSummary(summaryData()))) {
    if (target === 'stdout') stdout = content;
    else if (target !== 'stderr') {
      writeFileSync(target, content);
      files.push(target);
    }
  }
}
parentPort?.postMessage({
  scenarios: ran,
  checks: Object.fromEntries(state.checks),
  metrics: summaryData().metrics,
  requests: state.requests,
  files,
  stdout,
});
