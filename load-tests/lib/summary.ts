// handleSummary: the end-of-test summary as JSON and as text, saved per run in the results folder
// (RESULTS_DIR, default load-tests/results, git-ignored; /results in the k6 container, mounted writable).
import { PROFILE } from './profiles.ts';

interface MetricSummary {
  type: string;
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}
interface SummaryData {
  metrics: Record<string, MetricSummary>;
}

const fmt = (metric: MetricSummary, key: string, value: number) =>
  metric.type === 'trend' ? `${key}=${value.toFixed(1)}ms` : `${key}=${Number(value.toFixed(4))}`;

export function textSummary(script: string, data: SummaryData): string {
  const lines = [`${script} (profile ${PROFILE})`];
  for (const name of Object.keys(data.metrics).sort()) {
    const metric = data.metrics[name]!;
    const values = Object.entries(metric.values)
      .map(([key, value]) => fmt(metric, key, value))
      .join(' ');
    const verdicts = Object.entries(metric.thresholds ?? {})
      .map(([rule, { ok }]) => `${ok ? 'PASS' : 'FAIL'} ${rule}`)
      .join(', ');
    lines.push(`  ${name.padEnd(40)} ${values}${verdicts ? `  [${verdicts}]` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `export const handleSummary = saveSummary('01-login')` in each script. */
export function saveSummary(script: string) {
  return (data: SummaryData): Record<string, string> => {
    const dir = (__ENV.RESULTS_DIR || 'load-tests/results').replace(/\/$/, '');
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const base = `${dir}/${script}-${PROFILE}-${stamp}`;
    const text = textSummary(script, data);
    return { stdout: text, [`${base}.json`]: JSON.stringify(data, null, 2), [`${base}.txt`]: text };
  };
}
