/**
 * A `.cpuprofile` (from `node --cpu-prof`) summed by self time: the functions and the packages where a server's
 * main thread spends its samples after start-up, as shares of the busy (non-idle) time.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface ProfileSummary {
  /** Samples while not idle, and the share spent in garbage collection. */
  busySamples: number;
  gcShare: number;
  /** Top functions by self time, share of the busy samples. */
  functions: { name: string; where: string; share: number }[];
  /** Self time by origin: a package under node_modules, `node:` internals, the project's own code, native. */
  origins: { origin: string; share: number }[];
}

function originOf(url: string, name: string): string {
  if (name === '(garbage collector)') return '(garbage collector)';
  if (name === '(program)' || !url) return '(native / V8)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.startsWith('node:')) return 'node: internals';
  const own = /\/(packages\/[^/]+|services\/[^/]+|bench)\//.exec(url)?.[1];
  return own ?? url;
}

function whereOf(url: string, line: number): string {
  if (!url) return '';
  const short = url.replace(/^file:\/\//, '').replace(/.*node_modules\//, '');
  return `${short.split('/').slice(-2).join('/')}:${line + 1}`;
}

/**
 * Self samples per node, counted only from the first idle sample on: the process's start-up (module loading and
 * compiling, before the server listens and waits) is not the load being profiled.
 */
function hitsAfterStartUp(profile: { nodes: ProfileNode[]; samples?: number[] }): Map<number, number> {
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  const hits = new Map<number, number>();
  if (!profile.samples) {
    for (const node of profile.nodes) hits.set(node.id, node.hitCount ?? 0);
    return hits;
  }
  let started = false;
  for (const id of profile.samples) {
    if (!started && idle.has(id)) started = true;
    if (started) hits.set(id, (hits.get(id) ?? 0) + 1);
  }
  return hits;
}

export function summariseProfile(path: string, top = 10): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as { nodes: ProfileNode[]; samples?: number[] };
  const counted = hitsAfterStartUp(profile);
  const byFunction = new Map<string, { name: string; where: string; hits: number }>();
  const byOrigin = new Map<string, number>();
  let busy = 0;
  let gc = 0;
  for (const node of profile.nodes) {
    const hits = counted.get(node.id) ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (hits === 0 || functionName === '(idle)' || functionName === '(root)') continue;
    busy += hits;
    if (functionName === '(garbage collector)') gc += hits;
    const name = functionName || '(anonymous)';
    const where = whereOf(url, lineNumber);
    const key = `${name} ${where}`;
    const entry = byFunction.get(key) ?? { name, where, hits: 0 };
    entry.hits += hits;
    byFunction.set(key, entry);
    const origin = originOf(url, functionName);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + hits);
  }
  const share = (hits: number) => Math.round((hits / Math.max(busy, 1)) * 1000) / 10;
  return {
    busySamples: busy,
    gcShare: share(gc),
    functions: [...byFunction.values()]
      .sort((a, b) => b.hits - a.hits)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, share: share(f.hits) })),
    origins: [...byOrigin.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([origin, hits]) => ({ origin, share: share(hits) })),
  };
}
