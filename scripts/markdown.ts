/** Markdown as biome formats it (tables aligned), so `make lint` passes on what the doc generators write. */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../', import.meta.url);

/** `text` formatted as biome formats the file at `path` (unchanged when it is not markdown). */
export function formatMarkdown(text: string, path: string): string {
  if (!path.endsWith('.md')) return text;
  const biome = fileURLToPath(new URL('node_modules/@biomejs/biome/bin/biome', ROOT));
  const out = spawnSync(process.execPath, [biome, 'format', `--stdin-file-path=${path}`], {
    cwd: fileURLToPath(ROOT),
    input: text,
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`biome format ${path}: ${out.stderr}`);
  return out.stdout;
}

/** The project's markdown documents (paths from the repository root), where generated values may be marked. */
export function documents(): string[] {
  const docs = readdirSync(new URL('docs/', ROOT))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`);
  return [
    'README.md',
    ...docs.sort(),
    'load-tests/README.md',
    'packages/verifier/README.md',
    'infra/nginx/README.md',
    'deploy/k8s/README.md',
  ];
}
