/**
 * Validates rendered objects against the Kubernetes API's schemas of one pinned version: the `kubernetes-models`
 * package (exact version in package.json), whose validators are compiled from Kubernetes v1.36.0's OpenAPI document
 * (the package's changelog: "Update to Kubernetes v1.36.0"; 5.1.0 only exports the schema files). The package also
 * keeps API versions that older Kubernetes releases removed (autoscaling/v2beta2, policy/v1beta1, ...), so an object
 * must first use one of the API versions listed here, each served by v1.36.
 */
import type { K8sObject } from './kustomize.ts';

export const KUBERNETES_VERSION = '1.36.0';

/** The group versions these manifests use, all GA and served by Kubernetes v1.36. */
export const SERVED_API_VERSIONS = new Set([
  'v1',
  'apps/v1',
  'batch/v1',
  'autoscaling/v2',
  'policy/v1',
  'networking.k8s.io/v1',
]);

interface Model {
  new (data: unknown): { validate(): void };
}

/** The problems of one object, empty when it is valid: unknown kind or version, or the schema's own errors. */
export async function schemaProblems(object: K8sObject): Promise<string[]> {
  const id = `${object.kind}/${object.metadata?.name}`;
  if (!SERVED_API_VERSIONS.has(object.apiVersion)) {
    return [
      `${id}: apiVersion ${object.apiVersion} is not one this project checks as served by v${KUBERNETES_VERSION}`,
    ];
  }
  const module = (await import(`kubernetes-models/${object.apiVersion}`)) as Record<
    string,
    Model | undefined
  >;
  const model = module[object.kind];
  if (typeof model !== 'function') return [`${id}: no kind ${object.kind} in ${object.apiVersion}`];
  try {
    new model(object).validate();
    return [];
  } catch (error) {
    return (error as Error).message.split(/, (?=data)/).map((message) => `${id}: ${message}`);
  }
}
