/**
 * One source for every setting's name, default and description: the services' config schemas (and, for what no
 * service reads, `STACK_SETTINGS` in scripts/config-docs.ts). `.env.example`, the README's table and the defaults
 * the docs quote are generated from it; Compose, the Kubernetes settings and `make dev` pass values through
 * without defaults of their own where a service has one; an empty value means unset everywhere.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configSchema as authSchema, ConfigError, loadConfig as loadAuth } from '@authstack/auth/config';
import { loadConfig as loadResource, configSchema as resourceSchema } from '@authstack/resource/config';
import { generated, STACK_SETTINGS, serviceSettings } from '../../scripts/config-docs.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const COMPOSE_FILES = ['docker-compose.yml', 'docker-compose.ha.yml', 'docker-compose.load.yml'];

/** `${NAME:-default}` references with a non-empty default in a file. */
const defaultsIn = (text: string) =>
  [...text.matchAll(/\$\{([A-Z][A-Z0-9_]*):-([^}]+)\}/g)].map((m) => ({ name: m[1]!, value: m[2]! }));

describe('configuration documents', () => {
  it('when the schemas change, then .env.example, the README table and the quoted defaults are what make config-docs writes', () => {
    const stale = [...generated()].filter(([path, text]) => read(path) !== text).map(([path]) => path);
    assert.deepEqual(stale, [], `run make config-docs: ${stale.join(', ')} differ from the schemas`);
  });

  it('when a service reads a setting, then its schema describes it, and both services describe a shared one alike', () => {
    const settings = serviceSettings();
    const names = new Set([...Object.keys(authSchema.shape), ...Object.keys(resourceSchema.shape)]);
    assert.deepEqual(new Set(settings.map((s) => s.name)), names);
    for (const s of settings) assert.ok(s.description.length > 10, s.name);
  });

  it('when a default is written in the docs, then it is marked and generated, not typed by hand', () => {
    // The README's table and .env.example are generated whole; prose quotes a default only between markers.
    const readme = read('README.md');
    assert.match(readme, /<!-- config:begin -->[\s\S]*`BCRYPT_COST`[\s\S]*<!-- config:end -->/);
    assert.match(read('.env.example'), /^# BCRYPT_COST=12$/m);
    assert.match(read('docs/security-model.md'), /<!-- default:LOGIN_MAX_FAILURES_PER_USER_IP -->/);
  });
});

describe('an empty value means unset', () => {
  const kek = Buffer.alloc(32, 1).toString('base64');
  const pepper = Buffer.alloc(32, 2).toString('base64');
  const authBase = { KEY_ENCRYPTION_KEY: kek, PASSWORD_PEPPER: pepper };
  const required = new Set(['KEY_ENCRYPTION_KEY', 'PASSWORD_PEPPER']);

  for (const name of Object.keys(authSchema.shape)) {
    it(`when auth gets ${name}="", then it is read as unset`, () => {
      if (required.has(name)) {
        assert.throws(
          () => loadAuth({ ...authBase, [name]: '' }),
          (error: unknown) =>
            error instanceof ConfigError && error.variable === name && /required/.test(error.message),
        );
        return;
      }
      assert.deepEqual(loadAuth({ ...authBase, [name]: '' }), loadAuth({ ...authBase }));
    });
  }

  for (const name of Object.keys(resourceSchema.shape)) {
    it(`when the resource gets ${name}="", then it is read as unset`, () => {
      assert.deepEqual(loadResource({ [name]: '' }), loadResource({}));
    });
  }

  it('when a _FILE variable is empty, then it is unset too (the plain variable is used)', () => {
    assert.deepEqual(
      loadAuth({ ...authBase, BOOTSTRAP_ADMIN_PASSWORD_FILE: '', DATABASE_URL_FILE: '' }),
      loadAuth(authBase),
    );
  });
});

describe('a default is written once', () => {
  const withDefault = serviceSettings().filter((s) => s.default !== undefined);

  it('when Compose passes a service setting, then it adds no default of its own', () => {
    const names = new Set(withDefault.map((s) => s.name));
    const own = COMPOSE_FILES.flatMap((file) =>
      defaultsIn(read(file))
        .filter((d) => names.has(d.name))
        .map((d) => `${file}: \${${d.name}:-${d.value}} (write \${${d.name}:-}; the service defaults it)`),
    );
    assert.deepEqual(own, []);
  });

  it('when Compose or make dev default a stack setting, then the default is the one the settings list names', () => {
    const declared = new Map(STACK_SETTINGS.map((s) => [s.name, s.default]));
    const differing = [...COMPOSE_FILES, 'scripts/dev.sh'].flatMap((file) =>
      defaultsIn(read(file))
        .filter((d) => declared.has(d.name) && declared.get(d.name) !== d.value)
        .map(
          (d) => `${file}: ${d.name} defaults to ${d.value}, the settings list says ${declared.get(d.name)}`,
        ),
    );
    assert.deepEqual(differing, []);
  });

  it("when the Kubernetes base sets a service setting, then it differs from the service's default", () => {
    const defaults = new Map(withDefault.map((s) => [s.name, s.default]));
    const repeated = ['deploy/k8s/base/auth.env', 'deploy/k8s/base/resource.env'].flatMap((file) =>
      read(file)
        .split('\n')
        .map((line) => /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null && defaults.get(m[1]!) === m[2])
        .map((m) => `${file}: ${m[1]}=${m[2]} is the service's default; leave it out`),
    );
    assert.deepEqual(repeated, []);
  });
});
