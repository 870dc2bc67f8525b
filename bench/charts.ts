/**
 * The bench's charts as SVG, drawn in Node by vega-lite (compiled to vega, rendered by vega's headless SVG
 * renderer: no browser, no canvas; text widths are estimated without a canvas).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { CeilingResult } from './ceiling.ts';
import type { Peer } from './peer-server.ts';
import type { PeersResult } from './peers.ts';

/** Chart labels: short enough for an axis. */
const SHORT: Record<Peer, string> = {
  limit: 'the limit: bare express',
  'verifier-cache': '@authstack/verifier (cache)',
  'verifier-no-cache': '@authstack/verifier (no cache)',
  jose: 'jose',
  'express-oauth2-jwt-bearer': 'express-oauth2-jwt-bearer',
  'passport-jwt': 'passport-jwt + jwks-rsa',
};

const CONFIG = {
  font: 'sans-serif',
  background: 'white',
  axis: { labelFontSize: 11, titleFontSize: 12, labelLimit: 400 },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'bottom' as const, labelLimit: 400, columns: 1 },
  title: { fontSize: 14, anchor: 'start' as const },
};

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function loginChart(ceiling: CeilingResult, note: string): TopLevelSpec {
  const values = ceiling.rows.flatMap((r) => [
    { cost: r.cost, series: 'ceiling (parallel hashes/s)', rate: r.ceiling },
    { cost: r.cost, series: 'login, direct', rate: r.direct },
    { cost: r.cost, series: 'login, through the gateway', rate: r.gateway },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Login rate vs bcrypt cost, against the ceiling', subtitle: note },
    width: 420,
    height: 260,
    config: CONFIG,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'cost', type: 'ordinal', title: 'bcrypt cost', axis: { labelAngle: 0 } },
      y: { field: 'rate', type: 'quantitative', scale: { type: 'log' }, title: 'per second (log scale)' },
      color: { field: 'series', type: 'nominal', title: null },
      strokeDash: {
        condition: { test: "datum.series === 'ceiling (parallel hashes/s)'", value: [6, 3] },
        value: [1, 0],
      },
    },
  } as TopLevelSpec;
}

export function verifierChart(peers: PeersResult, note: string): TopLevelSpec {
  const limit = peers.rows.find((r) => r.peer === 'limit')?.rps ?? 0;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Requests per second by verifier (same app, same tokens)',
      subtitle: [note, 'dashed: 0.90 of the limit'],
    },
    width: 420,
    config: CONFIG,
    layer: [
      {
        data: { values: peers.rows.map((r) => ({ verifier: SHORT[r.peer], rps: r.rps, ratio: r.ratio })) },
        mark: 'bar',
        encoding: {
          y: { field: 'verifier', type: 'nominal', sort: '-x', title: null },
          x: { field: 'rps', type: 'quantitative', title: 'req/s (median of the rounds)' },
          color: {
            condition: { test: "indexof(datum.verifier, '@authstack') >= 0", value: '#4c78a8' },
            value: '#9ecae9',
          },
        },
      },
      {
        data: { values: [{ goal: 0.9 * limit }] },
        mark: { type: 'rule', color: '#e45756', strokeDash: [4, 3] },
        encoding: { x: { field: 'goal', type: 'quantitative' } },
      },
    ],
  } as TopLevelSpec;
}

export function latencyChart(peers: PeersResult, note: string): TopLevelSpec {
  const values = peers.rows.flatMap((r) => [
    { verifier: SHORT[r.peer], percentile: 'p50', ms: r.p50 },
    { verifier: SHORT[r.peer], percentile: 'p90', ms: r.p90 },
    { verifier: SHORT[r.peer], percentile: 'p99', ms: r.p99 },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `Latency percentiles by verifier (${peers.connections} connections)`, subtitle: note },
    width: 420,
    config: CONFIG,
    data: { values },
    mark: 'bar',
    encoding: {
      y: { field: 'verifier', type: 'nominal', title: null },
      yOffset: { field: 'percentile', type: 'nominal', sort: ['p50', 'p90', 'p99'] },
      x: { field: 'ms', type: 'quantitative', title: 'ms' },
      color: { field: 'percentile', type: 'nominal', title: null, sort: ['p50', 'p90', 'p99'] },
    },
  } as TopLevelSpec;
}

/** Writes the charts that have data; returns the file names written. */
export async function writeCharts(
  dir: string,
  data: { peers?: PeersResult; ceiling?: CeilingResult },
  note: string,
): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const charts: [string, TopLevelSpec][] = [];
  if (data.ceiling) charts.push(['login-vs-ceiling.svg', loginChart(data.ceiling, note)]);
  if (data.peers) {
    charts.push(['verifiers-rps.svg', verifierChart(data.peers, note)]);
    charts.push(['verifiers-latency.svg', latencyChart(data.peers, note)]);
  }
  for (const [name, spec] of charts) writeFileSync(join(dir, name), `${await renderSvg(spec)}\n`);
  return charts.map(([name]) => name);
}
