/**
 * `make doc-figures`: every figure the docs quote outside docs/benchmarks.md is written between
 * `<!-- figure:PATH -->` and `<!-- /figure -->`, PATH a dotted path into bench/results/latest.json (array items by
 * index, e.g. `rows.7.rps`), and this script rewrites each from the results file (`make bench` writes it).
 * `infra/test/doc-figures.current.test.ts` fails when a marked figure differs from the file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { documents, formatMarkdown } from './markdown.ts';

const ROOT = new URL('../', import.meta.url);

export const FIGURE_MARKER = /<!-- figure:([A-Za-z0-9_.]+) -->(.*?)<!-- \/figure -->/g;

/** The files that may quote figures: every document but docs/benchmarks.md, whose tables `make bench` writes. */
export const FIGURE_FILES = documents().filter((path) => path !== 'docs/benchmarks.md');

export const readResults = (): unknown =>
  JSON.parse(readFileSync(new URL('bench/results/latest.json', ROOT), 'utf8'));

/** The value at a dotted path, as the docs print it (thousands separated); undefined when there is none. */
export function figureAt(results: unknown, path: string): string | undefined {
  let value: unknown = results;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  if (typeof value === 'number') return value.toLocaleString('en-US', { maximumFractionDigits: 3 });
  return typeof value === 'string' ? value : undefined;
}

/** The text with every marked figure written from the results; throws on a path the results do not have. */
export function withFigures(text: string, results: unknown): string {
  return text.replace(FIGURE_MARKER, (_m, path: string) => {
    const value = figureAt(results, path);
    if (value === undefined)
      throw new Error(`<!-- figure:${path} -->: no such figure in bench/results/latest.json`);
    return `<!-- figure:${path} -->${value}<!-- /figure -->`;
  });
}

if (import.meta.main) {
  const results = readResults();
  for (const path of FIGURE_FILES) {
    const url = new URL(path, ROOT);
    const text = readFileSync(url, 'utf8');
    const next = formatMarkdown(withFigures(text, results), path);
    if (next !== text) {
      writeFileSync(url, next);
      console.log(`doc-figures: wrote ${path}`);
    }
  }
}
