/**
 * Figures the docs quote outside docs/benchmarks.md are written between `<!-- figure:PATH -->` markers and come
 * from bench/results/latest.json (`make doc-figures`), so a new `make bench` run cannot leave an old figure behind.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  FIGURE_FILES,
  FIGURE_MARKER,
  figureAt,
  readResults,
  withFigures,
} from '../../scripts/doc-figures.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `file: figure:path shows X, the results file says Y` for every marked figure that differs. */
function differences(files: Map<string, string>, results: unknown): string[] {
  const out: string[] = [];
  for (const [file, text] of files) {
    for (const m of text.matchAll(FIGURE_MARKER)) {
      const expected = figureAt(results, m[1]!);
      if (expected !== m[2])
        out.push(`${file}: figure:${m[1]} shows ${m[2]}, the results file says ${expected}`);
    }
  }
  return out;
}

describe('figures quoted in the docs', () => {
  const results = readResults();
  const files = new Map(FIGURE_FILES.map((file) => [file, readFileSync(join(ROOT, file), 'utf8')]));

  it('when bench/results/latest.json changes, then every marked figure in the docs is the one it holds', () => {
    assert.deepEqual(differences(files, results), [], 'run make doc-figures');
    const marked = [...files.values()].flatMap((text) => [...text.matchAll(FIGURE_MARKER)]);
    assert.ok(marked.length >= 10, `only ${marked.length} marked figures: the docs quote the results`);
  });

  it('when a marked figure differs from the results file, then it is reported with both values', () => {
    const stale = new Map([['docs/x.md', 'cost <!-- figure:bcrypt.cost -->11<!-- /figure -->']]);
    assert.deepEqual(differences(stale, { bcrypt: { cost: 12 } }), [
      'docs/x.md: figure:bcrypt.cost shows 11, the results file says 12',
    ]);
    assert.equal(
      withFigures(stale.get('docs/x.md')!, { bcrypt: { cost: 12 } }),
      'cost <!-- figure:bcrypt.cost -->12<!-- /figure -->',
    );
  });

  it('when a marker names a figure the results file does not have, then make doc-figures refuses it', () => {
    assert.throws(
      () => withFigures('<!-- figure:bcrypt.nothing --><!-- /figure -->', results),
      /bcrypt\.nothing/,
    );
  });

  it('when a throughput is quoted outside the benchmarks, then it is a marked figure', () => {
    // req/s and logins/s figures typed by hand are what went stale before; every one must be marked.
    const unmarked = [...files].flatMap(([file, text]) =>
      text
        .replace(FIGURE_MARKER, 'FIGURE')
        .split('\n')
        .filter((line) => /\b\d[\d,.]*\s*(req\/s|requests\/s|logins\/s)/.test(line))
        .map((line) => `${file}: ${line.trim()}`),
    );
    assert.deepEqual(unmarked, []);
  });
});
