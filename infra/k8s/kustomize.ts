/**
 * Builds a Kustomize overlay the way `kubectl kustomize` does, for the part of Kustomize that deploy/k8s uses, so
 * `make test` can check the rendered objects without a kustomize binary (none is on the npm registry). A
 * kustomization that uses anything else is refused by name, so the two cannot drift apart silently:
 *
 * - `resources`: YAML files (several documents each) and folders with their own kustomization, built first;
 * - `configMapGenerator` with `files`, `envs`, `literals` and `behavior` create or merge, under
 *   `generatorOptions.disableNameSuffixHash: true` (Kustomize's name hashes are not reproduced);
 * - `patches`: RFC 6902 JSON patches (a `path` to a YAML list of operations) on a `target` kind and name;
 * - `images` (`newName`, `newTag`), `replicas`, `namespace`.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import YAML from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  resources?: string[];
  generatorOptions?: { disableNameSuffixHash?: boolean };
  configMapGenerator?: {
    name: string;
    behavior?: 'create' | 'merge';
    files?: string[];
    envs?: string[];
    literals?: string[];
  }[];
  patches?: { path: string; target: { kind: string; name: string } }[];
  images?: { name: string; newName?: string; newTag?: string }[];
  replicas?: { name: string; count: number }[];
}

const FIELDS = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'resources',
  'generatorOptions',
  'configMapGenerator',
  'patches',
  'images',
  'replicas',
]);

/** Kinds that are not namespaced, among those a namespace transformer could meet here. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'PersistentVolume',
  'StorageClass',
]);

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet']);

export class KustomizeError extends Error {}

/** The objects `kubectl kustomize <dir>` prints, in the same order. */
export function build(dir: string): K8sObject[] {
  const file = path.join(dir, 'kustomization.yaml');
  const k = YAML.parse(readFileSync(file, 'utf8')) as Kustomization;
  for (const key of Object.keys(k)) {
    if (!FIELDS.has(key)) throw new KustomizeError(`${file}: "${key}" is not supported by this renderer`);
  }
  let objects: K8sObject[] = [];
  for (const entry of k.resources ?? []) {
    const target = path.resolve(dir, entry);
    objects.push(...(statSync(target).isDirectory() ? build(target) : readObjects(target)));
  }
  objects = generate(dir, k, objects);
  if (k.namespace) {
    for (const object of objects) {
      if (!CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = k.namespace;
    }
  }
  for (const patch of k.patches ?? []) applyPatch(dir, patch, objects);
  for (const image of k.images ?? []) setImage(image, objects);
  for (const { name, count } of k.replicas ?? []) {
    const found = objects.filter(
      (o) => (o.kind === 'Deployment' || o.kind === 'StatefulSet') && o.metadata.name === name,
    );
    if (found.length === 0)
      throw new KustomizeError(`${file}: replicas: no Deployment or StatefulSet named ${name}`);
    for (const object of found) (object.spec as Record<string, unknown>).replicas = count;
  }
  assertUnique(file, objects);
  return objects;
}

export function readObjects(file: string): K8sObject[] {
  return YAML.parseAllDocuments(readFileSync(file, 'utf8'))
    .map((document) => {
      if (document.errors.length > 0) throw new KustomizeError(`${file}: ${document.errors[0]?.message}`);
      return document.toJSON() as K8sObject | null;
    })
    .filter((object): object is K8sObject => object !== null);
}

function generate(dir: string, k: Kustomization, objects: K8sObject[]): K8sObject[] {
  if (!k.configMapGenerator?.length) return objects;
  if (k.generatorOptions?.disableNameSuffixHash !== true) {
    throw new KustomizeError(
      `${dir}: configMapGenerator needs generatorOptions.disableNameSuffixHash: true here`,
    );
  }
  for (const generator of k.configMapGenerator) {
    const data: Record<string, string> = {};
    for (const entry of generator.files ?? []) {
      const [key, source] = entry.includes('=') ? entry.split('=', 2) : [path.basename(entry), entry];
      data[key as string] = readFileSync(path.resolve(dir, source as string), 'utf8');
    }
    for (const entry of generator.envs ?? []) {
      Object.assign(data, parseEnvLines(readFileSync(path.resolve(dir, entry), 'utf8').split('\n')));
    }
    Object.assign(data, parseEnvLines(generator.literals ?? []));
    const existing = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === generator.name);
    if ((generator.behavior ?? 'create') === 'create') {
      if (existing)
        throw new KustomizeError(`${dir}: ConfigMap ${generator.name} already exists (use behavior: merge)`);
      objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: generator.name }, data });
    } else if (generator.behavior === 'merge') {
      if (!existing) throw new KustomizeError(`${dir}: no ConfigMap ${generator.name} to merge into`);
      existing.data = { ...(existing.data as Record<string, string>), ...data };
    } else {
      throw new KustomizeError(`${dir}: behavior ${generator.behavior} is not supported by this renderer`);
    }
  }
  return objects;
}

/** KEY=VALUE lines, as Kustomize reads `envs` files and `literals` (comments and blank lines skipped). */
function parseEnvLines(lines: string[]): Record<string, string> {
  const data: Record<string, string> = {};
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const at = line.indexOf('=');
    if (at < 1) throw new KustomizeError(`not KEY=VALUE: ${line}`);
    data[line.slice(0, at)] = line.slice(at + 1);
  }
  return data;
}

function applyPatch(
  dir: string,
  patch: { path: string; target: { kind: string; name: string } },
  objects: K8sObject[],
) {
  const operations = YAML.parse(readFileSync(path.resolve(dir, patch.path), 'utf8')) as Operation[];
  if (!Array.isArray(operations)) {
    throw new KustomizeError(
      `${patch.path}: only JSON patches (a list of operations) are supported by this renderer`,
    );
  }
  const targets = objects.filter(
    (o) => o.kind === patch.target.kind && o.metadata.name === patch.target.name,
  );
  if (targets.length === 0) {
    throw new KustomizeError(`${patch.path}: no ${patch.target.kind} named ${patch.target.name} to patch`);
  }
  for (const target of targets) {
    try {
      fastJsonPatch.applyPatch(target, operations, true, true);
    } catch (error) {
      throw new KustomizeError(`${patch.path}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
}

/** The containers of a workload's pod template (or of a Pod). */
export function podSpecOf(object: K8sObject): Record<string, unknown> | undefined {
  if (object.kind === 'Pod') return object.spec as Record<string, unknown>;
  if (!WORKLOAD_KINDS.has(object.kind)) return undefined;
  const spec = object.spec as { template?: { spec?: Record<string, unknown> } };
  return spec.template?.spec;
}

export function containersOf(object: K8sObject): Record<string, unknown>[] {
  const pod = podSpecOf(object);
  if (!pod) return [];
  return [...((pod.initContainers as []) ?? []), ...((pod.containers as []) ?? [])];
}

/** `name[:tag][@digest]` split as Kustomize's image transformer does (a registry port is part of the name). */
export function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  const [withTag, digest] = image.split('@') as [string, string | undefined];
  const slash = withTag.lastIndexOf('/');
  const colon = withTag.lastIndexOf(':');
  const tagged = colon > slash;
  return {
    name: tagged ? withTag.slice(0, colon) : withTag,
    ...(tagged ? { tag: withTag.slice(colon + 1) } : {}),
    ...(digest ? { digest } : {}),
  };
}

function setImage(image: { name: string; newName?: string; newTag?: string }, objects: K8sObject[]) {
  for (const object of objects) {
    for (const container of containersOf(object)) {
      const current = splitImage(String(container.image));
      if (current.name !== image.name) continue;
      const tag = image.newTag ?? current.tag;
      container.image = `${image.newName ?? current.name}${tag ? `:${tag}` : ''}${current.digest ? `@${current.digest}` : ''}`;
    }
  }
}

function assertUnique(file: string, objects: K8sObject[]) {
  const seen = new Set<string>();
  for (const object of objects) {
    const id = `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    if (seen.has(id)) throw new KustomizeError(`${file}: ${id} is defined twice`);
    seen.add(id);
  }
}

/** The rendered objects as one YAML stream, like `kubectl kustomize`. */
export function toYaml(objects: K8sObject[]): string {
  return objects.map((object) => YAML.stringify(object, { lineWidth: 0 })).join('---\n');
}
