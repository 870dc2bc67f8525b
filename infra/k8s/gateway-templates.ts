/**
 * The gateway's nginx templates for Kubernetes: `make k8s-templates` (node infra/k8s/gateway-templates.ts) writes
 * deploy/k8s/base/gateway/<name> from infra/nginx/templates/<name>, the one source that compose and `make dev` read;
 * `--check` only compares. Kustomize reads files only below its folder, so the ConfigMap needs a copy there: a written
 * one, never edited by hand. infra/test/k8s.manifests.test.ts fails when it is not current.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TEMPLATES_SOURCE = 'infra/nginx/templates';
export const TEMPLATES_COPY = 'deploy/k8s/base/gateway';

const templateNames = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => name.endsWith('.template'))
        .sort()
    : [];

/** Each template as deploy/k8s/base/gateway must hold it: the source behind one comment line saying so. */
export function renderGatewayTemplates(root = ROOT): Map<string, string> {
  const source = join(root, TEMPLATES_SOURCE);
  return new Map(
    templateNames(source).map((name) => [
      name,
      `# Written by make k8s-templates from ${TEMPLATES_SOURCE}/${name}: edit that, not this copy.\n${readFileSync(join(source, name), 'utf8')}`,
    ]),
  );
}

/** The copies that differ from what `renderGatewayTemplates` makes, and those whose source is gone. */
export function staleGatewayTemplates(root = ROOT): { write: Map<string, string>; remove: string[] } {
  const copy = join(root, TEMPLATES_COPY);
  const rendered = renderGatewayTemplates(root);
  const write = new Map(
    [...rendered].filter(
      ([name, text]) => !existsSync(join(copy, name)) || readFileSync(join(copy, name), 'utf8') !== text,
    ),
  );
  return { write, remove: templateNames(copy).filter((name) => !rendered.has(name)) };
}

if (import.meta.main) {
  const { write, remove } = staleGatewayTemplates();
  const stale = [...write.keys(), ...remove].map((name) => `${TEMPLATES_COPY}/${name}`);
  if (process.argv.includes('--check')) {
    if (stale.length > 0) {
      console.error(`not current: ${stale.join(', ')}; run make k8s-templates`);
      process.exit(1);
    }
  } else {
    for (const [name, text] of write) writeFileSync(join(ROOT, TEMPLATES_COPY, name), text);
    for (const name of remove) rmSync(join(ROOT, TEMPLATES_COPY, name));
    for (const path of stale) console.log(`wrote ${path}`);
  }
}
