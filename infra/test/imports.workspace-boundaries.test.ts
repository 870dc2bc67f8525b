/**
 * Each workspace (`packages/*`, `services/*`) is reached from outside only by its package name and the subpaths its
 * package.json exports (`@authstack/auth/testing`, `@authstack/client`, ...): no relative import crosses into another
 * workspace (e2e, bench, infra and the load tests included: no `../services/...`), and no package imports a service.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SKIP = new Set(['node_modules', 'results', 'certs', 'secrets']);
const SOURCE = /\.(ts|mts|js|mjs)$/;
const SERVICES = readdirSync(path.join(ROOT, 'services'));

/** Every module specifier of a file: static imports and exports, side-effect imports, `import()`, `import.meta.resolve()`. */
const specifiers = (text: string) =>
  [
    ...text.matchAll(
      /(?:\bfrom\s+|\bimport\s+|\bimport\(\s*|\bimport\.meta\.resolve\(\s*)(['"])([^'"\n]+)\1/g,
    ),
  ].map((match) => match[2]!);

/** `packages/<name>` or `services/<name>` for a repository path inside a workspace; undefined elsewhere. */
const workspaceOf = (file: string) => /^((?:packages|services)\/[^/]+)\//.exec(file)?.[1];

/** What `file` (a path from the repository root, with `/`) imports across a workspace boundary. */
export function boundaryProblems(file: string, text: string): string[] {
  const from = workspaceOf(file);
  return specifiers(text).flatMap((specifier) => {
    if (specifier.startsWith('.')) {
      const target = path.posix.join(path.posix.dirname(file), specifier);
      const into = workspaceOf(target);
      return into && into !== from
        ? [
            `${file}: '${specifier}' reaches into ${into}; import it by its package name and an exported subpath`,
          ]
        : [];
    }
    const service = /^@authstack\/([^/]+)/.exec(specifier)?.[1];
    return from?.startsWith('packages/') && service && SERVICES.includes(service)
      ? [`${file}: '${specifier}': a package never imports a service`]
      : [];
  });
}

function* sourceFiles(dir = ''): Generator<string> {
  for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIP.has(entry.name)) continue;
    const file = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) yield* sourceFiles(file);
    else if (entry.isFile() && SOURCE.test(entry.name)) yield file;
  }
}

describe('imports across workspaces', () => {
  it('when any source file of the repository imports another workspace, then it does so by package name', () => {
    // This file's own cases below are strings that look like imports across workspaces: not read as imports.
    const files = [...sourceFiles()].filter(
      (file) => file !== 'infra/test/imports.workspace-boundaries.test.ts',
    );
    assert.ok(
      files.some((file) => file.startsWith('e2e/')) && files.some((file) => file.startsWith('bench/')),
    );
    const problems = files.flatMap((file) =>
      boundaryProblems(file, readFileSync(path.join(ROOT, file), 'utf8')),
    );
    assert.deepEqual(problems, []);
  });

  it('when a file reaches into another workspace by a relative path, or a package imports a service, then it is named', () => {
    const cases: [string, string, number][] = [
      ['e2e/a.test.ts', "import { useAuth } from '../services/auth/test/support.ts';", 1],
      ['infra/test/b.test.ts', "const m = await import('../../services/resource/src/config.ts');", 1],
      ['bench/c.ts', "export { startAuth } from '../services/auth/src/server.ts';", 1],
      ['load-tests/standin/d.ts', "const cli = import.meta.resolve('../../services/auth/src/cli/x.ts');", 1],
      ['services/auth/test/e.test.ts', "import { x } from '../../resource/src/service.ts';", 1],
      ['packages/testing/src/f.ts', "import type { TestAuth } from '@authstack/auth/testing';", 1],
      ['packages/contract/src/g.ts', "import '../../verifier/src/codes.ts';", 1],
      // Allowed: inside one workspace, by package name, and root folders among themselves.
      ['services/auth/test/h.test.ts', "import { loadConfig } from '../src/config.ts';", 0],
      ['e2e/i.test.ts', "import { useAuth } from '@authstack/auth/testing';", 0],
      ['load-tests/standin/j.ts', "import { verifierEnv } from '../../e2e/support.ts';", 0],
      ['packages/contract/src/k.ts', "import { STEPS } from '@authstack/verifier/codes';", 0],
    ];
    for (const [file, text, count] of cases) assert.equal(boundaryProblems(file, text).length, count, file);
  });
});
