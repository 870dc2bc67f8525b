/**
 * Code, tests and docs say what a thing is, not which ticket or review made it: no "issue N" or "finding N" in the
 * project's sources, scripts, deployment files and documentation (the history is in git), and the tutorial whose
 * short paths the gateway keeps is called the tutorial, not the seed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TREES = [
  'services',
  'packages',
  'docs',
  'e2e',
  'infra',
  'bench',
  'load-tests',
  'scripts',
  'deploy',
  '.ci',
  '.github',
  'Makefile',
  'docker-compose*.yml',
  'README.md',
];
const SELF = 'infra/test/docs.no-bookkeeping.test.ts';
const BOOKKEEPING = /\b[Ii]ssues? #?[0-9]+|\b[Ff]indings? [0-9]+/;

/** `path:line: text` for every tracked file's line under `trees` that matches. */
function offending(trees: string[], pattern: RegExp, only: (path: string) => boolean = () => true): string[] {
  const files = execFileSync('git', ['ls-files', '-z', '--', ...trees], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((path) => path && only(path) && !/\.(png|svg|jpg|gz)$/.test(path));
  return files.flatMap((path) =>
    readFileSync(join(ROOT, path), 'utf8')
      .split('\n')
      .flatMap((line, index) => (pattern.test(line) ? [`${path}:${index + 1}: ${line.trim()}`] : [])),
  );
}

describe('no bookkeeping in code and docs', () => {
  it('when code, tests or docs explain something, then they name no issue or review finding by number', () => {
    const lines = offending(TREES, BOOKKEEPING);
    assert.deepEqual(lines, [], `say what the thing is instead:\n${lines.join('\n')}`);
  });

  it('when code or docs name the tutorial the short paths come from, then they do not call it the seed', () => {
    const lines = offending(TREES, /seed tutorial|the seed (alias )?paths/i, (path) => path !== SELF);
    assert.deepEqual(lines, [], `call it the tutorial:\n${lines.join('\n')}`);
  });
});
