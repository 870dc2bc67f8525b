/**
 * What every rendered overlay must keep, as checks over plain objects. Each returns its problems (empty: kept), so a
 * test can run it on the real render and on a copy broken on purpose.
 */
import { containersOf, type K8sObject, podSpecOf, splitImage } from './kustomize.ts';

type Obj = Record<string, unknown>;
type Container = {
  name: string;
  image?: string;
  env?: { name: string; value?: string; valueFrom?: Obj }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  volumeMounts?: { name: string; mountPath: string }[];
  readinessProbe?: Obj;
  livenessProbe?: Obj;
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
};
type KeyItems = { key: string; path: string }[] | undefined;
type Volume = {
  name: string;
  secret?: { secretName: string; items?: KeyItems };
  configMap?: { name: string; items?: KeyItems };
  projected?: {
    sources: {
      secret?: { name: string; items?: KeyItems };
      configMap?: { name: string; items?: KeyItems };
    }[];
  };
};

const id = (object: K8sObject) => `${object.kind}/${object.metadata.name}`;
const workloads = (objects: K8sObject[]) => objects.filter((object) => podSpecOf(object) !== undefined);
const containers = (object: K8sObject) => containersOf(object) as unknown as Container[];
const volumes = (object: K8sObject) => ((podSpecOf(object)?.volumes as Volume[]) ?? []) as Volume[];

/** Long-running workloads: readiness and liveness probes on every container (Jobs run once and are exempt). */
export function probeProblems(objects: K8sObject[]): string[] {
  return workloads(objects)
    .filter((object) => object.kind !== 'Job')
    .flatMap((object) =>
      containers(object).flatMap((c) => [
        ...(c.readinessProbe ? [] : [`${id(object)} container ${c.name}: no readinessProbe`]),
        ...(c.livenessProbe ? [] : [`${id(object)} container ${c.name}: no livenessProbe`]),
      ]),
    );
}

const CREDENTIALS_IN_URL = /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]+@/i;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/**
 * No secret value anywhere: no Secret objects, no secret setting (`secretNames`: DATABASE_URL, PASSWORD_PEPPER, ...)
 * given as a value or a ConfigMap key rather than as `<NAME>_FILE`, no credentials in a URL, no private key.
 */
export function secretValueProblems(objects: K8sObject[], secretNames: readonly string[]): string[] {
  const problems: string[] = [];
  const secret = new Set(secretNames);
  for (const object of objects) {
    if (object.kind === 'Secret')
      problems.push(`${id(object)}: a Secret in the manifests (create it from your store)`);
    if (object.kind === 'ConfigMap') {
      for (const key of Object.keys((object.data as Obj) ?? {})) {
        if (secret.has(key))
          problems.push(`${id(object)}: ${key} is a secret; mount it as a file (${key}_FILE)`);
      }
    }
    for (const c of containers(object)) {
      for (const variable of c.env ?? []) {
        if (secret.has(variable.name)) {
          problems.push(
            `${id(object)} container ${c.name}: ${variable.name} is a secret; use ${variable.name}_FILE`,
          );
        }
      }
    }
    const text = JSON.stringify(object);
    if (CREDENTIALS_IN_URL.test(text)) problems.push(`${id(object)}: a URL with credentials`);
    if (PRIVATE_KEY.test(text)) problems.push(`${id(object)}: a private key`);
  }
  return problems;
}

/** Pod and container security settings (what Pod Security "restricted" asks, and a read-only root). */
export function securityContextProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const object of workloads(objects)) {
    const pod = podSpecOf(object) as { securityContext?: Obj; hostNetwork?: boolean; hostPID?: boolean };
    const psc = (pod.securityContext ?? {}) as {
      runAsNonRoot?: boolean;
      runAsUser?: number;
      seccompProfile?: { type?: string };
    };
    if (psc.runAsNonRoot !== true) problems.push(`${id(object)}: pod runAsNonRoot is not true`);
    if (typeof psc.runAsUser !== 'number' || psc.runAsUser === 0) {
      problems.push(
        `${id(object)}: pod runAsUser must be a non-zero uid (images name their user, unchecked)`,
      );
    }
    if (psc.seccompProfile?.type !== 'RuntimeDefault')
      problems.push(`${id(object)}: pod seccompProfile not RuntimeDefault`);
    if (pod.hostNetwork || pod.hostPID) problems.push(`${id(object)}: shares the host's namespaces`);
    for (const c of containers(object)) {
      const sc = c.securityContext ?? {};
      const at = `${id(object)} container ${c.name}`;
      if (sc.allowPrivilegeEscalation !== false)
        problems.push(`${at}: allowPrivilegeEscalation is not false`);
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: readOnlyRootFilesystem is not true`);
      if (sc.privileged === true) problems.push(`${at}: privileged`);
      if (!sc.capabilities?.drop?.includes('ALL')) problems.push(`${at}: capabilities do not drop ALL`);
      if (sc.capabilities?.add?.length)
        problems.push(`${at}: adds capabilities ${sc.capabilities.add.join(', ')}`);
    }
  }
  return problems;
}

/** Every namespace that holds an object has a NetworkPolicy denying all ingress and egress to all its pods. */
export function defaultDenyProblems(objects: K8sObject[]): string[] {
  const namespaces = new Set(objects.flatMap((o) => (o.metadata.namespace ? [o.metadata.namespace] : [])));
  const denied = new Set(
    objects
      .filter((o) => o.kind === 'NetworkPolicy')
      .filter((o) => {
        const spec = o.spec as {
          podSelector?: Obj;
          policyTypes?: string[];
          ingress?: unknown[];
          egress?: unknown[];
        };
        return (
          spec.podSelector !== undefined &&
          Object.keys(spec.podSelector).length === 0 &&
          spec.policyTypes?.includes('Ingress') &&
          spec.policyTypes?.includes('Egress') &&
          !spec.ingress?.length &&
          !spec.egress?.length
        );
      })
      .map((o) => o.metadata.namespace),
  );
  return [...namespaces]
    .filter((ns) => !denied.has(ns))
    .map((ns) => `namespace ${ns}: no default-deny NetworkPolicy`);
}

/** The files a volume provides (paths relative to its mount), by key: only volumes that list their items count. */
function volumeFiles(volume: Volume): string[] | undefined {
  const items = (list: KeyItems) => list?.map((item) => item.path);
  if (volume.secret) return items(volume.secret.items);
  if (volume.configMap) return items(volume.configMap.items);
  if (volume.projected) {
    const all = volume.projected.sources.map((source) => items((source.secret ?? source.configMap)?.items));
    return all.some((list) => list === undefined) ? undefined : (all.flat() as string[]);
  }
  return undefined;
}

/** Every `<NAME>_FILE` setting names a file that a mounted Secret or ConfigMap item provides. */
export function fileSettingProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const object of workloads(objects)) {
    const byName = new Map(volumes(object).map((v) => [v.name, v]));
    for (const c of containers(object)) {
      for (const variable of c.env ?? []) {
        if (!variable.name.endsWith('_FILE')) continue;
        const at = `${id(object)} container ${c.name}: ${variable.name}`;
        if (typeof variable.value !== 'string') {
          problems.push(`${at}: not a literal path`);
          continue;
        }
        const mount = (c.volumeMounts ?? []).find((m) =>
          variable.value?.startsWith(`${m.mountPath.replace(/\/$/, '')}/`),
        );
        const volume = mount && byName.get(mount.name);
        const files = volume && volumeFiles(volume);
        const relative = mount ? variable.value.slice(mount.mountPath.replace(/\/$/, '').length + 1) : '';
        if (!files?.includes(relative))
          problems.push(`${at}: ${variable.value} is not a mounted Secret or ConfigMap item`);
      }
    }
  }
  return problems;
}

/**
 * Every ConfigMap a pod reads exists in the render with the keys it reads; every Secret it reads is one the operator
 * is told to create (`secrets`: name -> keys), with those keys.
 */
export function referenceProblems(objects: K8sObject[], secrets: Map<string, string[]>): string[] {
  const problems: string[] = [];
  const configMaps = new Map(
    objects
      .filter((o) => o.kind === 'ConfigMap')
      .map((o) => [o.metadata.name, Object.keys((o.data as Obj) ?? {})]),
  );
  for (const object of workloads(objects)) {
    const check = (kind: 'ConfigMap' | 'Secret', name: string, keys: string[]) => {
      const known = kind === 'ConfigMap' ? configMaps.get(name) : secrets.get(name);
      if (!known) return problems.push(`${id(object)}: ${kind} ${name} is not defined`);
      for (const key of keys.filter((k) => !known.includes(k))) {
        problems.push(`${id(object)}: ${kind} ${name} has no key ${key}`);
      }
      return undefined;
    };
    for (const c of containers(object)) {
      for (const source of c.envFrom ?? []) {
        if (source.configMapRef) check('ConfigMap', source.configMapRef.name, []);
        if (source.secretRef) check('Secret', source.secretRef.name, []);
      }
      for (const variable of c.env ?? []) {
        const from = variable.valueFrom as
          | { configMapKeyRef?: { name: string; key: string }; secretKeyRef?: { name: string; key: string } }
          | undefined;
        if (from?.configMapKeyRef) check('ConfigMap', from.configMapKeyRef.name, [from.configMapKeyRef.key]);
        if (from?.secretKeyRef) check('Secret', from.secretKeyRef.name, [from.secretKeyRef.key]);
      }
    }
    const keys = (items: KeyItems) => items?.map((item) => item.key) ?? [];
    for (const volume of volumes(object)) {
      if (volume.configMap) check('ConfigMap', volume.configMap.name, keys(volume.configMap.items));
      if (volume.secret) check('Secret', volume.secret.secretName, keys(volume.secret.items));
      for (const source of volume.projected?.sources ?? []) {
        if (source.configMap) check('ConfigMap', source.configMap.name, keys(source.configMap.items));
        if (source.secret) check('Secret', source.secret.name, keys(source.secret.items));
      }
    }
  }
  return problems;
}

/**
 * Images pinned: a tag that is not `latest` (or a digest); third-party images exactly as docker-compose.yml pins
 * them (`composeImages`); the project's own images (`…/auth`, `…/resource`) by a fixed tag, `local` (what
 * `make images` builds) only where `own.localTag` allows it (the laptop).
 */
export function imageProblems(
  objects: K8sObject[],
  composeImages: Set<string>,
  own: { name: RegExp; localTag: boolean },
): string[] {
  const problems: string[] = [];
  for (const object of workloads(objects)) {
    for (const c of containers(object)) {
      const image = String(c.image ?? '');
      const { name, tag, digest } = splitImage(image);
      const at = `${id(object)} container ${c.name}: image ${image}`;
      if (!digest && (!tag || tag === 'latest')) problems.push(`${at} is not pinned`);
      else if (own.name.test(name)) {
        if (tag === 'local' && !own.localTag) problems.push(`${at}: a locally built tag, not a released one`);
      } else if (!composeImages.has(image)) problems.push(`${at} is not the one docker-compose.yml pins`);
    }
  }
  return problems;
}

const cpuCores = (quantity: string | undefined) =>
  quantity === undefined
    ? Number.NaN
    : quantity.endsWith('m')
      ? Number(quantity.slice(0, -1)) / 1000
      : Number(quantity);

/** The value a container's environment gives `name` (literal, ConfigMap key, or envFrom ConfigMap). */
function envValue(objects: K8sObject[], c: Container, name: string): string | undefined {
  const configMap = (n: string) =>
    objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === n)?.data as
      | Record<string, string>
      | undefined;
  const direct = c.env?.find((variable) => variable.name === name);
  if (direct?.value !== undefined) return direct.value;
  const ref = (direct?.valueFrom as { configMapKeyRef?: { name: string; key: string } } | undefined)
    ?.configMapKeyRef;
  if (ref) return configMap(ref.name)?.[ref.key];
  for (const source of [...(c.envFrom ?? [])].reverse()) {
    const value = source.configMapRef && configMap(source.configMapRef.name)?.[name];
    if (value !== undefined) return value;
  }
  return undefined;
}

/**
 * auth is sized for bcrypt: CPU requested equals its limit, and UV_THREADPOOL_SIZE equals that limit (the container
 * sees the node's cores, not its quota). When an HPA scales it: on CPU, aimed at the auth Deployment, which leaves
 * its replica count to the HPA, and its most replicas' connection pools fit PostgreSQL's default max_connections.
 */
export function authScalingProblems(objects: K8sObject[], options: { hpa: boolean }): string[] {
  const problems: string[] = [];
  const auth = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'auth');
  if (!auth) return ['no auth Deployment'];
  const container = containers(auth).find((c) => c.name === 'auth');
  if (!container) return ['auth Deployment: no auth container'];
  const limit = cpuCores(container.resources?.limits?.cpu);
  const pool = Number(envValue(objects, container, 'UV_THREADPOOL_SIZE'));
  if (!(limit >= 1)) problems.push(`auth: CPU limit ${container.resources?.limits?.cpu} (at least one core)`);
  if (pool !== Math.max(1, Math.floor(limit))) {
    problems.push(
      `auth: UV_THREADPOOL_SIZE ${pool} does not match the CPU limit ${container.resources?.limits?.cpu}`,
    );
  }
  if (!container.resources?.requests?.cpu)
    problems.push('auth: no CPU request (an HPA on utilization needs one)');
  if (!options.hpa) return problems;
  const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler');
  const onAuth = hpas.filter((o) => {
    const ref = (o.spec as { scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string } })
      .scaleTargetRef;
    return ref?.apiVersion === 'apps/v1' && ref.kind === 'Deployment' && ref.name === 'auth';
  });
  if (onAuth.length !== 1)
    problems.push(`${onAuth.length} HorizontalPodAutoscalers target the auth Deployment (want 1)`);
  for (const hpa of onAuth) {
    const metrics = (hpa.spec as { metrics?: { type: string; resource?: { name: string } }[] }).metrics ?? [];
    if (!metrics.some((m) => m.type === 'Resource' && m.resource?.name === 'cpu')) {
      problems.push(`${id(hpa)}: does not scale on CPU`);
    }
  }
  // every replica's pool plus the migration step's two connections, within PostgreSQL's default max_connections
  // (100) less its 3 reserved for superusers
  const poolMax = Number(envValue(objects, container, 'DB_POOL_MAX'));
  for (const hpa of onAuth) {
    const maxReplicas = Number((hpa.spec as { maxReplicas?: number }).maxReplicas);
    if (!(maxReplicas * poolMax + 2 <= 97)) {
      problems.push(
        `${id(hpa)}: ${maxReplicas} replicas x DB_POOL_MAX ${poolMax} exceed PostgreSQL's default 97 connections`,
      );
    }
  }
  if ((auth.spec as Obj).replicas !== undefined) {
    problems.push('auth Deployment sets replicas while an HPA scales it (each apply would reset the count)');
  }
  return problems;
}

/** Services, PodDisruptionBudgets and NetworkPolicies with a matchLabels selector select some pod template. */
export function selectorProblems(objects: K8sObject[]): string[] {
  const templates = workloads(objects).map((object) => {
    const spec = object.spec as { template?: { metadata?: { labels?: Record<string, string> } } };
    return spec.template?.metadata?.labels ?? {};
  });
  const matches = (selector: Record<string, string>) =>
    templates.some((labels) => Object.entries(selector).every(([key, value]) => labels[key] === value));
  const problems: string[] = [];
  for (const object of objects) {
    const spec = object.spec as { selector?: Obj; podSelector?: Obj } | undefined;
    const selector =
      object.kind === 'Service'
        ? (spec?.selector as Record<string, string> | undefined)
        : object.kind === 'PodDisruptionBudget'
          ? ((spec?.selector as { matchLabels?: Record<string, string> })?.matchLabels ?? undefined)
          : object.kind === 'NetworkPolicy'
            ? ((spec?.podSelector as { matchLabels?: Record<string, string> })?.matchLabels ?? undefined)
            : undefined;
    if (selector && Object.keys(selector).length > 0 && !matches(selector)) {
      problems.push(`${id(object)}: selects no pod (${JSON.stringify(selector)})`);
    }
  }
  return problems;
}

/**
 * The Secrets the operator creates, read from deploy/k8s/laptop-secrets.sh (the laptop creates exactly what
 * production must): `secret NAME --from-file=KEY=PATH ...` and `create secret tls NAME` (keys tls.crt, tls.key).
 */
export function secretsCreatedBy(script: string): Map<string, string[]> {
  const secrets = new Map<string, string[]>();
  const joined = script.replace(/\\\n\s*/g, ' ');
  for (const line of joined.split('\n')) {
    const generic = /^secret\s+([a-z0-9-]+)\s+(.*)$/.exec(line.trim());
    if (generic) {
      const keys = [...(generic[2] ?? '').matchAll(/--from-file=([^=\s]+)=/g)].map((m) => m[1] as string);
      secrets.set(generic[1] as string, keys);
    }
    const tls = /create secret tls\s+([a-z0-9-]+)/.exec(line);
    if (tls) secrets.set(tls[1] as string, ['tls.crt', 'tls.key']);
  }
  return secrets;
}

type LabelSelector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
};
type PolicyPeer = { podSelector?: LabelSelector; namespaceSelector?: LabelSelector; ipBlock?: Obj };
type IngressRule = { from?: PolicyPeer[]; ports?: { port?: number | string; protocol?: string }[] };

function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    if (e.operator === 'In') return e.values?.includes(labels[e.key] ?? '') ?? false;
    if (e.operator === 'NotIn') return !(e.values?.includes(labels[e.key] ?? '') ?? false);
    if (e.operator === 'Exists') return e.key in labels;
    return !(e.key in labels);
  });
  return byLabels && byExpressions;
}

const GATEWAY_PODS = { 'app.kubernetes.io/name': 'gateway' };
const onlyGateway = (peer: PolicyPeer) =>
  !peer.namespaceSelector &&
  !peer.ipBlock &&
  JSON.stringify(peer.podSelector ?? {}) === JSON.stringify({ matchLabels: GATEWAY_PODS });

/**
 * A service that trusts its peers to name the client (`TRUST_PROXY` set) lets only the gateway reach its API port
 * (its container port `http`): every NetworkPolicy rule that admits that port admits the gateway's pods alone (no
 * other pods, no namespace, no address block, not everyone). What others need is on `INTERNAL_PORT` (its container
 * port `internal`): `/metrics` for monitoring, and auth's JWKS, which every verifier reads there (`JWKS_URI` on
 * auth's internal port, never its API port).
 */
export function apiPortProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const settingOf = (deployment: K8sObject, name: string) => {
    const first = containers(deployment)[0];
    return first && envValue(objects, first, name);
  };
  const portNamed = (deployment: K8sObject, name: string) => {
    const ports = (
      containers(deployment)[0] as { ports?: { name?: string; containerPort: number }[] } | undefined
    )?.ports;
    return ports?.find((p) => p.name === name)?.containerPort;
  };
  for (const deployment of deployments) {
    const trust = settingOf(deployment, 'TRUST_PROXY');
    if (trust === undefined || trust === 'false' || trust === '0') continue;
    const port = portNamed(deployment, 'http');
    const internal = settingOf(deployment, 'INTERNAL_PORT');
    if (
      internal === undefined ||
      Number(internal) === port ||
      Number(internal) !== portNamed(deployment, 'internal')
    ) {
      problems.push(
        `${id(deployment)}: INTERNAL_PORT ${internal} is not a container port \`internal\` apart from the API port ${port}`,
      );
    }
    const labels =
      (deployment.spec as { template?: { metadata?: { labels?: Record<string, string> } } }).template
        ?.metadata?.labels ?? {};
    for (const policy of policies) {
      const spec = policy.spec as {
        podSelector?: LabelSelector;
        policyTypes?: string[];
        ingress?: IngressRule[];
      };
      if (!spec.policyTypes?.includes('Ingress') || !selects(spec.podSelector, labels)) continue;
      for (const rule of spec.ingress ?? []) {
        const admitsApi =
          !rule.ports?.length || rule.ports.some((p) => p.port === undefined || Number(p.port) === port);
        if (!admitsApi) continue;
        const others = rule.from?.length ? rule.from.filter((peer) => !onlyGateway(peer)) : [{}];
        for (const peer of others) {
          problems.push(
            `${id(policy)} lets ${peer.podSelector || peer.namespaceSelector || peer.ipBlock ? JSON.stringify(peer) : 'everyone'} reach ${id(deployment)}'s API port ${port}`,
          );
        }
      }
    }
  }
  const auth = deployments.find((o) => o.metadata.name === 'auth');
  const authPort = auth && String(portNamed(auth, 'http'));
  const authInternal = auth && settingOf(auth, 'INTERNAL_PORT');
  for (const deployment of deployments) {
    const jwks = settingOf(deployment, 'JWKS_URI');
    if (jwks === undefined) continue;
    const jwksPort = new URL(jwks).port;
    if (jwksPort === authPort || jwksPort !== authInternal) {
      problems.push(`${id(deployment)}: JWKS_URI ${jwks} is not auth's INTERNAL_PORT ${authInternal}`);
    }
  }
  return problems;
}
