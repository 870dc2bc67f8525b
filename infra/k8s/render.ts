/**
 * Prints an overlay as `kubectl kustomize deploy/k8s/overlays/<name>` would (the subset deploy/k8s uses):
 *   node infra/k8s/render.ts laptop | kubectl apply -f -      (make k8s-render OVERLAY=laptop)
 * For machines without kubectl's Kustomize; `kubectl apply -k` reads the same folders.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, toYaml } from './kustomize.ts';

const overlay = process.argv[2];
if (!overlay || !/^[a-z-]+$/.test(overlay)) {
  console.error('usage: node infra/k8s/render.ts <overlay>   (laptop, production)');
  process.exit(2);
}
const dir = fileURLToPath(new URL(`../../deploy/k8s/overlays/${overlay}`, import.meta.url));
try {
  process.stdout.write(toYaml(build(dir)));
} catch (error) {
  console.error(`render ${path.relative(process.cwd(), dir)}: ${(error as Error).message}`);
  process.exit(1);
}
