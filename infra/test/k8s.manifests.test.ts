/**
 * The Kubernetes manifests (deploy/k8s), without a cluster: each overlay rendered as Kustomize would
 * (infra/k8s/kustomize.ts), every object validated against the Kubernetes v1.36.0 API schemas (kubernetes-models),
 * then the invariants (infra/k8s/invariants.ts). Each invariant is also run on a copy broken on purpose, so a check
 * that could not fail would fail here.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FILE_VARIABLES } from '@authstack/auth/config';
import { testScope, useTempDir } from '@authstack/testing';
import YAML from 'yaml';
import {
  renderGatewayTemplates,
  staleGatewayTemplates,
  TEMPLATES_COPY,
  TEMPLATES_SOURCE,
} from '../k8s/gateway-templates.ts';
import {
  apiPortProblems,
  authScalingProblems,
  defaultDenyProblems,
  fileSettingProblems,
  imageProblems,
  probeProblems,
  referenceProblems,
  secretsCreatedBy,
  secretValueProblems,
  securityContextProblems,
  selectorProblems,
} from '../k8s/invariants.ts';
import { build, type K8sObject, KustomizeError } from '../k8s/kustomize.ts';
import { KUBERNETES_VERSION, schemaProblems } from '../k8s/schema.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const k8s = path.join(root, 'deploy/k8s');
const OVERLAYS = ['laptop', 'production'] as const;
type Overlay = (typeof OVERLAYS)[number];

const render = (overlay: Overlay) => build(path.join(k8s, 'overlays', overlay));
const rendered = new Map(OVERLAYS.map((overlay) => [overlay, render(overlay)]));
const objects = (overlay: Overlay) => structuredClone(rendered.get(overlay) as K8sObject[]);
const find = (list: K8sObject[], kind: string, name: string) => {
  const found = list.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `${kind}/${name} rendered`);
  // biome-ignore lint/suspicious/noExplicitAny: the tests reach into rendered objects by path, as a patch would
  return found as K8sObject & { spec: any; data?: Record<string, string> };
};
const container = (list: K8sObject[], deployment: string) =>
  find(list, 'Deployment', deployment).spec.template.spec.containers[0];

const SECRET_SETTINGS = [...FILE_VARIABLES, 'APP_DATABASE_URL', 'POSTGRES_PASSWORD'];
const secrets = secretsCreatedBy(readFileSync(path.join(k8s, 'laptop-secrets.sh'), 'utf8'));
const compose = YAML.parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { image?: string }>;
};
const composeImages = new Set(Object.values(compose.services).flatMap((s) => (s.image ? [s.image] : [])));
const OWN_IMAGES = /(^|\/)authstack\/(auth|resource)$/;

interface Invariant {
  name: string;
  check: (list: K8sObject[], overlay: Overlay) => string[];
  /** Break the rendered objects so that the invariant no longer holds; the problems must match `expect`. */
  break: (list: K8sObject[]) => void;
  expect: RegExp;
}

const INVARIANTS: Invariant[] = [
  {
    name: 'readiness and liveness probes on every long-running container',
    check: probeProblems,
    break: (list) => delete container(list, 'resource').readinessProbe,
    expect: /Deployment\/resource container resource: no readinessProbe/,
  },
  {
    name: 'no secret value: no Secret object, secrets only as *_FILE, no credentials in a URL',
    check: (list) => secretValueProblems(list, SECRET_SETTINGS),
    break: (list) =>
      container(list, 'auth').env.push({
        name: 'DATABASE_URL',
        value: 'postgres://app:hunter2@db:5432/authstack',
      }),
    expect: /DATABASE_URL is a secret; use DATABASE_URL_FILE[\s\S]*a URL with credentials/,
  },
  {
    name: 'non-root, read-only root, no privilege escalation, capabilities dropped, RuntimeDefault seccomp',
    check: securityContextProblems,
    break: (list) => {
      const pod = find(list, 'Deployment', 'gateway').spec.template.spec;
      pod.securityContext.runAsUser = 0;
      pod.containers[0].securityContext.readOnlyRootFilesystem = false;
      pod.containers[0].securityContext.capabilities = { drop: ['ALL'], add: ['NET_BIND_SERVICE'] };
    },
    expect:
      /gateway: pod runAsUser[\s\S]*readOnlyRootFilesystem is not true[\s\S]*adds capabilities NET_BIND_SERVICE/,
  },
  {
    name: 'a default-deny NetworkPolicy in every namespace',
    check: defaultDenyProblems,
    break: (list) => {
      find(list, 'NetworkPolicy', 'default-deny').spec.policyTypes = ['Ingress'];
    },
    expect: /namespace authstack: no default-deny NetworkPolicy/,
  },
  {
    name: 'every *_FILE setting names a mounted Secret item',
    check: fileSettingProblems,
    break: (list) => {
      const auth = container(list, 'auth');
      auth.env.find((e: { name: string }) => e.name === 'PASSWORD_PEPPER_FILE').value = '/run/secrets/pepper';
    },
    expect: /PASSWORD_PEPPER_FILE: \/run\/secrets\/pepper is not a mounted Secret or ConfigMap item/,
  },
  {
    name: 'every ConfigMap and Secret a pod reads exists (Secrets: the ones laptop-secrets.sh creates)',
    check: (list) => referenceProblems(list, secrets),
    break: (list) => {
      const volumes = find(list, 'Deployment', 'auth').spec.template.spec.volumes;
      volumes[0].projected.sources[2].secret.items.push({ key: 'signing_key', path: 'signing_key' });
      container(list, 'gateway').envFrom[0].configMapRef.name = 'gateway-setting';
    },
    expect: /Secret authstack-keys has no key signing_key[\s\S]*ConfigMap gateway-setting is not defined/,
  },
  {
    name: 'images pinned, third-party ones as docker-compose.yml pins them',
    check: (list, overlay) =>
      imageProblems(list, composeImages, { name: OWN_IMAGES, localTag: overlay === 'laptop' }),
    break: (list) => {
      container(list, 'gateway').image = 'nginx:1.27.4-alpine';
      container(list, 'resource').image = 'authstack/resource';
    },
    expect:
      /authstack\/resource is not pinned[\s\S]*nginx:1.27.4-alpine is not the one docker-compose.yml pins/,
  },
  {
    name: 'auth sized for bcrypt (UV_THREADPOOL_SIZE = CPU limit); production: an HPA on CPU owns its replicas',
    check: (list, overlay) => authScalingProblems(list, { hpa: overlay === 'production' }),
    break: (list) => {
      container(list, 'auth').resources.limits.cpu = '4';
      const hpa = list.find((o) => o.kind === 'HorizontalPodAutoscaler');
      if (hpa) (hpa.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name = 'resource';
    },
    expect: /UV_THREADPOOL_SIZE \d does not match the CPU limit 4/,
  },
  {
    name: 'Services, disruption budgets and policies select pods that exist',
    check: selectorProblems,
    break: (list) => {
      find(list, 'PodDisruptionBudget', 'auth').spec.selector.matchLabels = {
        'app.kubernetes.io/name': 'authn',
      };
    },
    expect: /PodDisruptionBudget\/auth: selects no pod/,
  },
  {
    name: 'only the gateway reaches an API port whose service trusts its peers; metrics and the JWKS on INTERNAL_PORT',
    check: apiPortProblems,
    break: (list) => {
      // The resources fetching the JWKS on auth's API port, and monitoring scraping it there.
      find(list, 'NetworkPolicy', 'auth').spec.ingress.push({
        from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'resource' } } }],
        ports: [{ protocol: 'TCP', port: 3001 }],
      });
      find(list, 'NetworkPolicy', 'resource').spec.ingress.push({
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
        ports: [{ protocol: 'TCP', port: 3002 }],
      });
      find(list, 'ConfigMap', 'resource-settings').data!.JWKS_URI = 'http://auth:3001/.well-known/jwks.json';
    },
    expect:
      /NetworkPolicy\/auth lets .*resource.* reach Deployment\/auth's API port 3001[\s\S]*NetworkPolicy\/resource lets .*monitoring.* reach Deployment\/resource's API port 3002[\s\S]*JWKS_URI http:\/\/auth:3001/,
  },
];

for (const overlay of OVERLAYS) {
  describe(`the ${overlay} overlay`, () => {
    it(`when rendered, then every object is valid against the Kubernetes v${KUBERNETES_VERSION} API schemas`, async () => {
      const list = objects(overlay);
      const problems = (await Promise.all(list.map(schemaProblems))).flat();
      assert.deepEqual(problems, []);
      console.log(`# ${overlay}: ${list.length} objects valid against Kubernetes v${KUBERNETES_VERSION}`);
    });

    for (const invariant of INVARIANTS) {
      it(`keeps: ${invariant.name}`, () => {
        assert.deepEqual(invariant.check(objects(overlay), overlay), []);
      });
      it(`catches a copy that breaks: ${invariant.name}`, () => {
        const broken = objects(overlay);
        invariant.break(broken);
        assert.match(invariant.check(broken, overlay).join('\n'), invariant.expect);
      });
    }
  });
}

describe("each service's Redis login", () => {
  /** The Secrets a Deployment's pods mount, by name. */
  const mountedSecrets = (list: K8sObject[], deployment: string) =>
    (find(list, 'Deployment', deployment).spec.template.spec.volumes ?? []).flatMap(
      (volume: {
        projected?: { sources: { secret?: { name: string } }[] };
        secret?: { secretName: string };
      }) => [
        ...(volume.projected?.sources ?? []).flatMap((source) => (source.secret ? [source.secret.name] : [])),
        ...(volume.secret ? [volume.secret.secretName] : []),
      ],
    );

  for (const overlay of OVERLAYS) {
    it(`when the ${overlay} overlay is rendered, then auth and the session-mode resource each mount their own Redis user's URL, and the stateless resource none`, () => {
      const list = objects(overlay);
      const redisSecrets = (deployment: string) =>
        mountedSecrets(list, deployment).filter((name: string) => name.startsWith('authstack-redis'));
      assert.deepEqual(redisSecrets('auth'), ['authstack-redis-auth']);
      assert.deepEqual(redisSecrets('resource-session'), ['authstack-redis-resource']);
      assert.deepEqual(redisSecrets('resource'), []);
      assert.equal(
        container(list, 'resource').env?.find((e: { name: string }) => e.name === 'REDIS_URL_FILE'),
        undefined,
      );
      assert.deepEqual(secrets.get('authstack-redis-auth'), ['redis_url']);
      assert.deepEqual(secrets.get('authstack-redis-resource'), ['redis_url']);
    });
  }
});

describe("each service's traces carry its own name", () => {
  /** A container's value of `name`: its own env first, then the ConfigMaps it takes whole (envFrom). */
  const setting = (list: K8sObject[], deployment: string, name: string) => {
    const c = container(list, deployment);
    const own = c.env?.find((e: { name: string }) => e.name === name);
    if (own) return own.value;
    for (const from of c.envFrom ?? []) {
      const value = from.configMapRef && find(list, 'ConfigMap', from.configMapRef.name).data?.[name];
      if (value !== undefined) return value;
    }
    return undefined;
  };
  for (const overlay of OVERLAYS)
    it(`when the ${overlay} overlay is rendered, then OTEL_SERVICE_NAME is each Deployment's name (the session-mode resource's own)`, () => {
      const list = objects(overlay);
      for (const deployment of ['auth', 'resource', 'resource-session'])
        assert.equal(setting(list, deployment, 'OTEL_SERVICE_NAME'), deployment, deployment);
    });
});

describe('the overlays differ where they should', () => {
  it('when production is rendered, then the HPA scales auth within the database connections, the gateway is a load balancer keeping client addresses', () => {
    const list = objects('production');
    assert.equal(authScalingProblems(list, { hpa: true }).length, 0);
    const gateway = find(list, 'Service', 'gateway');
    assert.equal(gateway.spec.type, 'LoadBalancer');
    assert.equal(gateway.spec.externalTrafficPolicy, 'Local');
    assert.equal(find(list, 'ConfigMap', 'gateway-settings').data?.GATEWAY_PUBLIC_HTTPS_PORT, '443');
    // The HTTP -> HTTPS redirect names this host, never the request's Host header.
    assert.equal(find(list, 'ConfigMap', 'gateway-settings').data?.GATEWAY_PUBLIC_HOST, 'auth.example.com');
    assert.ok(!list.some((o) => o.kind === 'StatefulSet'), 'no bundled PostgreSQL or Redis');
    assert.match(container(list, 'auth').image, /^registry\.example\.com\/authstack\/auth:[^:]+$/);
    find(list, 'ConfigMap', 'auth-settings').data = {
      ...find(list, 'ConfigMap', 'auth-settings').data,
      DB_POOL_MAX: '10',
    };
    assert.match(
      authScalingProblems(list, { hpa: true }).join('\n'),
      /12 replicas x DB_POOL_MAX 10 exceed PostgreSQL's default 97 connections/,
    );
    container(list, 'auth').image = 'authstack/auth:local';
    assert.match(
      imageProblems(list, composeImages, { name: OWN_IMAGES, localTag: false }).join('\n'),
      /authstack\/auth:local: a locally built tag/,
    );
  });

  it('when the laptop is rendered, then PostgreSQL and Redis are bundled, one replica each, no HPA', () => {
    const list = objects('laptop');
    assert.deepEqual(
      list.filter((o) => o.kind === 'StatefulSet').map((o) => o.metadata.name),
      ['postgres', 'redis'],
    );
    assert.ok(!list.some((o) => o.kind === 'HorizontalPodAutoscaler'));
    for (const o of list.filter((x) => x.kind === 'Deployment'))
      assert.equal((o.spec as { replicas?: number }).replicas, 1, o.metadata.name);
  });
});

describe('the schema check', () => {
  it('when an object breaks the schema or uses an API version v1.36 does not serve, then it is refused', async () => {
    const list = objects('production');
    container(list, 'auth').ports[0].containerPort = 'http';
    const hpa = find(list, 'HorizontalPodAutoscaler', 'auth');
    hpa.apiVersion = 'autoscaling/v2beta2'; // removed in v1.26, still in the models package
    const problems = (await Promise.all([find(list, 'Deployment', 'auth'), hpa].map(schemaProblems))).flat();
    assert.match(problems.join('\n'), /Deployment\/auth: .*containerPort must be integer/);
    assert.match(
      problems.join('\n'),
      /HorizontalPodAutoscaler\/auth: apiVersion autoscaling\/v2beta2 is not one/,
    );
  });
});

describe('the gateway configuration and the renderer', () => {
  it('when deployed on Kubernetes, then the gateway reads the same nginx templates as compose and make dev (make k8s-templates)', () => {
    const names = readdirSync(path.join(root, TEMPLATES_SOURCE)).sort();
    const configMap = find(objects('laptop'), 'ConfigMap', 'gateway-templates');
    assert.deepEqual(Object.keys(configMap.data ?? {}).sort(), names);
    const rendered = renderGatewayTemplates();
    for (const name of names) {
      const data = configMap.data?.[name] ?? '';
      assert.equal(data, rendered.get(name), `${TEMPLATES_COPY}/${name} is not current: make k8s-templates`);
      assert.ok(data.endsWith(readFileSync(path.join(root, TEMPLATES_SOURCE, name), 'utf8')), name);
    }
  });

  it('when deployed on Kubernetes, then the cookie exchange cache lives in memory (cookie values and minted tokens never on the node disk)', () => {
    for (const overlay of OVERLAYS) {
      const list = objects(overlay);
      const cachePath = find(list, 'ConfigMap', 'gateway-settings').data?.GATEWAY_COOKIE_EXCHANGE_CACHE_PATH;
      assert.ok(cachePath, `${overlay}: GATEWAY_COOKIE_EXCHANGE_CACHE_PATH is set`);
      const pod = find(list, 'Deployment', 'gateway').spec.template.spec;
      const mount = pod.containers[0].volumeMounts.find(
        (m: { mountPath: string }) => m.mountPath === cachePath,
      );
      assert.ok(mount, `${overlay}: a volume is mounted at ${cachePath}`);
      const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
      assert.equal(volume?.emptyDir?.medium, 'Memory', `${overlay}: ${mount.name} is memory-backed`);
    }
  });

  it('when a source template changes or goes, then the generator names the copies to write and to remove', (t) => {
    const dir = useTempDir(testScope(t), 'k8s-templates');
    mkdirSync(path.join(dir, TEMPLATES_SOURCE), { recursive: true });
    mkdirSync(path.join(dir, TEMPLATES_COPY), { recursive: true });
    writeFileSync(path.join(dir, TEMPLATES_SOURCE, 'a.conf.template'), 'server {}\n');
    writeFileSync(path.join(dir, TEMPLATES_SOURCE, 'b.inc.template'), 'add_header X-B 1;\n');
    for (const [name, text] of renderGatewayTemplates(dir))
      writeFileSync(path.join(dir, TEMPLATES_COPY, name), text);
    assert.deepEqual(staleGatewayTemplates(dir), { write: new Map(), remove: [] });

    writeFileSync(path.join(dir, TEMPLATES_SOURCE, 'a.conf.template'), 'server { listen 1; }\n');
    writeFileSync(path.join(dir, TEMPLATES_COPY, 'gone.inc.template'), '# removed from the source\n');
    const stale = staleGatewayTemplates(dir);
    assert.deepEqual([...stale.write.keys()], ['a.conf.template']);
    assert.match(
      stale.write.get('a.conf.template') ?? '',
      /^# Written by make k8s-templates .*\nserver \{ listen 1; \}\n$/,
    );
    assert.deepEqual(stale.remove, ['gone.inc.template']);
  });

  it('when a kustomization uses a feature the renderer does not implement, then rendering stops naming it', (t) => {
    const dir = useTempDir(testScope(t), 'k8s-render');
    writeFileSync(path.join(dir, 'kustomization.yaml'), 'resources: []\ncommonLabels:\n  team: x\n');
    assert.throws(
      () => build(dir),
      (error: Error) => error instanceof KustomizeError && /"commonLabels"/.test(error.message),
    );
    writeFileSync(
      path.join(dir, 'kustomization.yaml'),
      `resources: [${JSON.stringify(path.join(k8s, 'base'))}]\npatches:\n  - path: p.yaml\n    target: {kind: Deployment, name: auth}\n`,
    );
    writeFileSync(path.join(dir, 'p.yaml'), 'spec:\n  replicas: 2\n'); // a strategic-merge patch
    assert.throws(() => build(dir), /only JSON patches/);
  });
});
