/**
 * How the CLI prints: `--json` prints one JSON document per command on one line of stdout (errors as
 * `{"error": ...}` on stderr); otherwise a readable form: a table for lists, a short line for changes, and records
 * as indented JSON (as the CLI always printed them, so scripts reading them keep working). And a JUnit XML report
 * of the scenarios for CI systems.
 */
import { writeFileSync } from 'node:fs';
import type { ScenarioResult } from './scenarios.ts';

export interface Output {
  json: boolean;
  /** The command's result: as JSON, or as `human(value)` (default: `key: value` lines). */
  emit<T>(value: T, human?: (value: T) => string): void;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    emit(value, human) {
      console.log(json ? JSON.stringify(value) : human ? human(value) : JSON.stringify(value, null, 2));
    },
  };
}

const cell = (value: unknown): string =>
  value === null || value === undefined
    ? '-'
    : Array.isArray(value)
      ? value.join(',')
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);

/** A plain table with the given columns; `(none)` when empty. */
export function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = [columns, ...rows.map((row) => columns.map((c) => cell(row[c])))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const xml = (text: string) =>
  text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );

/** JUnit XML (the form Jenkins, GitLab and GitHub test reporters read): one testcase per scenario. */
export function junitReport(results: ScenarioResult[], suite = 'authstack scenarios'): string {
  const failures = results.filter((r) => !r.pass).length;
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const total = results.reduce((sum, r) => sum + r.ms, 0);
  const cases = results.map((r) => {
    const open = `    <testcase classname="scenarios" name="${xml(r.name)}" time="${seconds(r.ms)}"`;
    return r.pass
      ? `${open}/>`
      : `${open}>\n      <failure message="${xml(`expected ${r.expected}, got ${r.got}`)}">expected: ${xml(r.expected)}\ngot: ${xml(r.got)}</failure>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${results.length}" failures="${failures}" time="${seconds(total)}">`,
    `  <testsuite name="${xml(suite)}" tests="${results.length}" failures="${failures}" errors="0" skipped="0" time="${seconds(total)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

export function writeJunit(file: string, results: ScenarioResult[]): void {
  writeFileSync(file, junitReport(results));
}
