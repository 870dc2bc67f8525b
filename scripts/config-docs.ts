/**
 * `make config-docs`: writes `.env.example`, the README's configuration table and every `<!-- default:NAME -->`
 * value in the docs from one source: the services' config schemas (`@authstack/auth/config`,
 * `@authstack/resource/config`: names, defaults, descriptions) and, for the settings no service reads (Compose,
 * the gateway, `make dev`, k6), `STACK_SETTINGS` below. `infra/test/config-docs.current.test.ts` fails when a
 * generated file is not what this script makes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { configSchema as authSchema } from '@authstack/auth/config';
import { configSchema as resourceSchema } from '@authstack/resource/config';
import { z } from 'zod';
import { DEFAULT_KEEP, DEFAULT_MAX_BYTES } from './capped-log.ts';
import { documents, formatMarkdown } from './markdown.ts';

const ROOT = new URL('../', import.meta.url);

export interface Setting {
  name: string;
  /** Who reads it: auth, resource, compose, gateway, make dev, k6. */
  readBy: string[];
  /** The value used when it is unset (or empty), as written in .env. */
  default?: string;
  /** What happens when it is unset and there is no fixed default. */
  unset?: string;
  description: string;
  /** A secret: `.env` names its file (`<NAME>_FILE`), at this path when `make env` writes one. */
  secretFile?: string;
  /** `.env.example` sets it (uncommented) to this value. */
  envValue?: string;
  section: string;
}

interface Meta {
  description?: string;
  unset?: string;
  secretFile?: string;
}

/** The default a zod field applies when the variable is unset (through preprocess and pipes), if any. */
export function defaultOf(schema: z.ZodType): unknown {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  if (def.type === 'default') return def.defaultValue;
  if (def.type === 'pipe') return defaultOf(def.in as z.ZodType) ?? defaultOf(def.out as z.ZodType);
  return undefined;
}

/** A field's metadata: on the field, or on the part of a pipe that reads the raw value. */
function metaOf(schema: z.ZodType): Meta | undefined {
  const own = z.globalRegistry.get(schema) as Meta | undefined;
  if (own) return own;
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  return def.type === 'pipe' ? metaOf(def.in as z.ZodType) : undefined;
}

const SERVICES = [
  ['auth', authSchema],
  ['resource', resourceSchema],
] as const;

/** Not in `.env.example`: each service's port is given per process (`AUTH_PORT`, `RESOURCE_PORT` in make dev). */
const NOT_IN_ENV = new Set(['PORT']);
/** Values `.env.example` sets (uncommented): choices of this deployment, not service defaults. */
const ENV_VALUES: Record<string, string> = { BOOTSTRAP_ADMIN_USERNAME: 'admin' };

/** Every setting the services' schemas read, in schema order; a name both read appears once. */
export function serviceSettings(): Setting[] {
  const byName = new Map<string, Setting>();
  for (const [service, schema] of SERVICES) {
    for (const [name, field] of Object.entries(schema.shape) as [string, z.ZodType][]) {
      const meta = metaOf(field) ?? {};
      if (!meta.description) throw new Error(`${service}: ${name} has no description in its config schema`);
      const fallback = defaultOf(field);
      const known = byName.get(name);
      if (known) {
        known.readBy.push(service);
        if (
          name !== 'PORT' &&
          known.default !== (fallback === undefined || meta.unset ? undefined : String(fallback))
        )
          throw new Error(`${name}: auth and resource default it differently`);
        if (name === 'PORT') known.default = `${known.default} (auth), ${String(fallback)} (resource)`;
        continue;
      }
      byName.set(name, {
        name,
        readBy: [service],
        // A field whose unset value is worked out at start-up names that, not the schema's fallback.
        default: fallback === undefined || meta.unset ? undefined : String(fallback),
        unset: meta.unset,
        description: meta.description,
        secretFile: meta.secretFile,
        envValue: ENV_VALUES[name],
        section: '',
      });
    }
  }
  const settings = [...byName.values()];
  for (const s of settings)
    s.section = s.readBy.length > 1 ? 'auth and resource' : s.readBy[0] === 'auth' ? 'auth' : 'resource';
  return settings;
}

/** Settings no service schema reads: Compose, the gateway's templates, `make dev`, k6, the observability UIs. */
export const STACK_SETTINGS: Setting[] = [
  {
    name: 'COMPOSE_PROJECT_NAME',
    readBy: ['compose'],
    envValue: 'authstack',
    description: "docker compose's project name (volumes are authstack_pgdata, ...).",
    section: 'containers (make up)',
  },
  {
    name: 'GATEWAY_BIND',
    readBy: ['compose'],
    default: '127.0.0.1',
    description: "Host address the gateway's ports are published on; 0.0.0.0 exposes it to the network.",
    section: 'containers (make up)',
  },
  {
    name: 'BACKEND_SUBNET',
    readBy: ['compose'],
    default: '172.30.240.0/24',
    description: "The backend network's subnet.",
    section: 'containers (make up)',
  },
  {
    name: 'GATEWAY_BACKEND_IP',
    readBy: ['compose'],
    default: '172.30.240.10',
    description:
      "The gateway's fixed address on the backend network: the only proxy auth and the resource trust (their TRUST_PROXY in the containers).",
    section: 'containers (make up)',
  },
  {
    name: 'BACKEND_IP_RANGE',
    readBy: ['compose'],
    default: '172.30.240.128/25',
    description:
      'The part of the subnet handed out to the other containers (inside BACKEND_SUBNET, without GATEWAY_BACKEND_IP).',
    section: 'containers (make up)',
  },
  {
    name: 'BUILD_CA_FILE',
    readBy: ['compose'],
    default: './infra/build/no-extra-ca.pem',
    description:
      'Image builds behind a TLS-intercepting proxy: a CA bundle (PEM) passed to `npm ci` as a build secret.',
    section: 'containers (make up)',
  },
  {
    name: 'REDIS_HA_WAIT_REPLICAS',
    readBy: ['compose'],
    default: '1',
    description:
      'The ha profile (make up-ha, docker-compose.ha.yml): the replicas auth waits for (its REDIS_WAIT_REPLICAS; 0: off).',
    section: 'containers (make up)',
  },
  {
    name: 'GATEWAY_HTTPS_PORT',
    readBy: ['compose', 'make dev'],
    default: '8443',
    description:
      "The gateway's HTTPS port on this machine: the containers publish it, the native gateway listens on it.",
    section: 'gateway (nginx)',
  },
  {
    name: 'GATEWAY_HTTP_PORT',
    readBy: ['compose', 'make dev'],
    default: '8080',
    description: "The gateway's HTTP port, which redirects pages to HTTPS and refuses anything else.",
    section: 'gateway (nginx)',
  },
  {
    name: 'GATEWAY_PUBLIC_HOST',
    readBy: ['compose', 'make dev'],
    default: 'localhost',
    description:
      "The host name clients reach the gateway by: the HTTP to HTTPS redirect names it, never the request's Host header.",
    section: 'gateway (nginx)',
  },
  {
    name: 'GATEWAY_HEALTH_PORT',
    readBy: ['make dev'],
    default: '8081',
    description: "The native gateway's health listener on 127.0.0.1 (in the containers it stays inside).",
    section: 'gateway (nginx)',
  },
  {
    name: 'GATEWAY_LOGIN_RATE',
    readBy: ['compose', 'make dev'],
    default: '10r/s',
    description: "nginx's outer per-IP limit on login (limit_req); raise it for load tests.",
    section: 'gateway (nginx)',
  },
  {
    name: 'GATEWAY_LOGIN_BURST',
    readBy: ['compose', 'make dev'],
    default: '20',
    description: 'Requests allowed above GATEWAY_LOGIN_RATE in a burst.',
    section: 'gateway (nginx)',
  },
  {
    name: 'GATEWAY_REGISTER_RATE',
    readBy: ['compose', 'make dev'],
    default: '5r/s',
    description: "nginx's outer per-IP limit on register (limit_req).",
    section: 'gateway (nginx)',
  },
  {
    name: 'GATEWAY_REGISTER_BURST',
    readBy: ['compose', 'make dev'],
    default: '10',
    description: 'Requests allowed above GATEWAY_REGISTER_RATE in a burst.',
    section: 'gateway (nginx)',
  },
  {
    name: 'GATEWAY_CONN_LIMIT',
    readBy: ['compose', 'make dev'],
    default: '50',
    description:
      "nginx's limit on simultaneous connections per client address (limit_conn); over it: 429 too_many_connections.",
    section: 'gateway (nginx)',
  },
  {
    name: 'GATEWAY_TRUST_TRACEPARENT',
    readBy: ['compose', 'make dev'],
    default: 'off',
    description:
      "on: a client's well-formed traceparent (and its tracestate) reaches the services; off: the gateway sends its own, built from the request id, sampled. Only for clients that are the deployment's own (another traced proxy).",
    section: 'gateway (nginx)',
  },
  {
    name: 'GATEWAY_COOKIE_EXCHANGE_CACHE',
    readBy: ['compose', 'make dev'],
    default: '1',
    description:
      "Seconds (0, 1, 2, 5 or 10; 0: off) the gateway reuses auth's answer to a cookie exchange: the cookie session's revocation window. A burst with one cookie costs auth one exchange per window; a logout or role change reaches the cookie path at most this late (docs/security-model.md).",
    section: 'gateway (nginx)',
  },
  {
    name: 'AUTH_PORT',
    readBy: ['make dev'],
    default: '3001',
    description: "The native auth's port (its PORT).",
    section: 'native stack (make dev)',
  },
  {
    name: 'RESOURCE_PORT',
    readBy: ['make dev'],
    default: '3002',
    description: "The native resource's port (its PORT).",
    section: 'native stack (make dev)',
  },
  {
    name: 'RESOURCE_SESSION_PORT',
    readBy: ['make dev'],
    default: '3003',
    description:
      'The second native resource, in session mode, behind /api-session/ (the study console compares the two).',
    section: 'native stack (make dev)',
  },
  {
    name: 'DEV_LOG_MAX_BYTES',
    readBy: ['make dev'],
    default: String(DEFAULT_MAX_BYTES),
    description:
      "The size (bytes, at least 1024) at which a native process's log in .dev/logs/ is rotated (scripts/capped-log.ts).",
    section: 'native stack (make dev)',
  },
  {
    name: 'DEV_LOG_KEEP',
    readBy: ['make dev'],
    default: String(DEFAULT_KEEP),
    description:
      'How many rotated logs each native process keeps (auth.log.1 the newer, then auth.log.2, ...).',
    section: 'native stack (make dev)',
  },
  {
    name: 'K6_PROFILE',
    readBy: ['compose'],
    default: 'smoke',
    description: "The k6 container's profile (load-tests/README.md); `make load` sets it from PROFILE.",
    section: 'k6 (make load)',
  },
  {
    name: 'K6_RATE',
    readBy: ['compose'],
    default: '8',
    description: "The k6 container's arrival rate per second; `make load` sets it from RATE.",
    section: 'k6 (make load)',
  },
  {
    name: 'K6_DURATION',
    readBy: ['compose'],
    unset: "the profile's",
    description:
      "How long the k6 container's profile holds its rate (e.g. 3m); `make load` sets it from DURATION.",
    section: 'k6 (make load)',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    readBy: ['auth', 'resource'],
    unset: 'tracing off; under `make observe`, http://jaeger:4318',
    description:
      "Where auth and both resources send their traces (OTLP/HTTP; packages/telemetry/src/tracing.ts). `make observe` points them at the profile's Jaeger by itself (docker-compose.observability.yml); set it for a collector of your own, or natively (http://127.0.0.1:4318). The OpenTelemetry Node SDK reads the other standard OTEL_* variables itself (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_PROPAGATORS, OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG, OTEL_BSP_*; docs/operations.md).",
    section: 'observability (make observe; UIs on 127.0.0.1 only)',
  },
  {
    name: 'PROMETHEUS_PORT',
    readBy: ['compose'],
    default: '9090',
    description: "Prometheus's port.",
    section: 'observability (make observe; UIs on 127.0.0.1 only)',
  },
  {
    name: 'GRAFANA_PORT',
    readBy: ['compose'],
    default: '3000',
    description: "Grafana's port.",
    section: 'observability (make observe; UIs on 127.0.0.1 only)',
  },
  {
    name: 'JAEGER_UI_PORT',
    readBy: ['compose'],
    default: '16686',
    description: "Jaeger's UI port.",
    section: 'observability (make observe; UIs on 127.0.0.1 only)',
  },
];

export const allSettings = (): Setting[] => [...serviceSettings(), ...STACK_SETTINGS];

const SECTIONS = [
  'containers (make up)',
  'auth and resource',
  'auth',
  'resource',
  'gateway (nginx)',
  'native stack (make dev)',
  'k6 (make load)',
  'observability (make observe; UIs on 127.0.0.1 only)',
];

const WIDTH = 110;

function wrap(text: string, prefix = '# '): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && prefix.length + line.length + 1 + word.length > WIDTH) {
      lines.push(prefix + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(prefix + line);
  return lines;
}

function envLines(s: Setting): string[] {
  const unset = s.unset ? ` Unset: ${s.unset}.` : '';
  const lines = wrap(s.description + unset);
  if (s.secretFile !== undefined) {
    lines.push(s.secretFile ? `${s.name}_FILE=${s.secretFile}` : `# ${s.name}_FILE=`);
  } else if (s.envValue !== undefined) lines.push(`${s.name}=${s.envValue}`);
  else lines.push(`# ${s.name}=${s.default ?? ''}`);
  return lines;
}

const ENV_HEADER = `# authstack configuration, written by \`make config-docs\` from the services' config schemas: do not edit.
# \`make env\` copies this file to .env (git-ignored); change settings there. A commented line shows the default
# the service applies when the variable is unset; an empty value counts as unset everywhere (services, compose,
# make dev). A variable already set in the environment wins over .env. Every secret may be given as a file:
# <NAME>_FILE (Docker and Kubernetes secrets), never both.
#
# Secrets are files, never values in this file: \`make env\` writes random ones into secrets/ (git-ignored, mode 700):
# postgres_password, db_app_password, redis_password, redis_auth_password, redis_resource_password,
# key_encryption_key, password_pepper, bootstrap_admin_password, and the URLs and Redis ACL derived from them (each
# service its own Redis user: infra/redis/service-users.acl). The container stack mounts them as
# Compose secrets (/run/secrets/<name>).`;

const ENV_FOOTER = `# --- build info -----------------------------------------------------------------------------------------------
# Not a runtime setting: the commit the images report on /healthz is the build argument BUILD_COMMIT (the Makefile
# exports \`git rev-parse --short=12 HEAD\`; a plain \`docker compose build\` says unknown unless BUILD_COMMIT is set).
# Natively the services read the git checkout's commit.`;

export function renderEnvExample(settings = allSettings()): string {
  const out = [ENV_HEADER];
  for (const section of SECTIONS) {
    const inSection = settings.filter((s) => s.section === section && !NOT_IN_ENV.has(s.name));
    if (inSection.length === 0) continue;
    const title = `# --- ${section} `;
    out.push('', title + '-'.repeat(Math.max(3, WIDTH - title.length)));
    for (const s of inSection) out.push(...envLines(s));
  }
  out.push('', ENV_FOOTER, '');
  return out.join('\n');
}

function firstSentence(text: string): string {
  const match = /^(.+?\.)(\s|$)/.exec(text);
  return (match ? match[1]! : text).replace(/\.$/, '');
}

function defaultCell(s: Setting): string {
  if (s.envValue !== undefined) return `unset; \`.env\`: \`${s.envValue}\``;
  if (s.default !== undefined) return s.name === 'PORT' ? s.default : `\`${s.default}\``;
  if (s.unset) return s.unset;
  if (
    s.secretFile !== undefined &&
    s.name !== 'REDIS_SENTINEL_PASSWORD' &&
    s.name !== 'BOOTSTRAP_ADMIN_PASSWORD'
  )
    return 'none: required';
  return 'unset';
}

const escapeCell = (text: string) => text.replace(/\|/g, '\\|');

/** The README's table: every setting, who reads it, its default and the first sentence of its description. */
export function renderConfigTable(settings = allSettings()): string {
  const rows = settings.map(
    (s) =>
      `| \`${s.name}\`${s.secretFile !== undefined ? ` (or \`${s.name}_FILE\`)` : ''} | ${s.readBy.join(', ')} | ${escapeCell(defaultCell(s))} | ${escapeCell(firstSentence(s.description))} |`,
  );
  return [
    '<!-- generated by scripts/config-docs.ts from the config schemas (make config-docs): do not edit -->',
    '',
    '| variable | read by | default | meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

export const CONFIG_BEGIN = '<!-- config:begin -->';
export const CONFIG_END = '<!-- config:end -->';

export function withConfigTable(readme: string, table = renderConfigTable()): string {
  const from = readme.indexOf(CONFIG_BEGIN);
  const to = readme.indexOf(CONFIG_END);
  if (from < 0 || to < from) throw new Error(`README.md: no ${CONFIG_BEGIN} ... ${CONFIG_END} block`);
  return `${readme.slice(0, from + CONFIG_BEGIN.length)}\n${table}\n${readme.slice(to)}`;
}

/** `<!-- default:NAME -->value<!-- /default -->`: a setting's default quoted in prose. */
export const DEFAULT_MARKER = /<!-- default:([A-Z][A-Z0-9_]*) -->(.*?)<!-- \/default -->/g;

export function withDefaults(text: string, settings = allSettings()): string {
  const byName = new Map(settings.map((s) => [s.name, s]));
  return text.replace(DEFAULT_MARKER, (_m, name: string) => {
    const value = byName.get(name)?.default;
    if (value === undefined) throw new Error(`<!-- default:${name} -->: no such setting with a default`);
    return `<!-- default:${name} -->${value}<!-- /default -->`;
  });
}

/** The files that may quote defaults (`<!-- default:... -->`), README.md's table among them. */
export const MARKED_FILES = documents();

/** Every generated file and what it should hold (the current text when it is not generated). */
export function generated(): Map<string, string> {
  const settings = allSettings();
  const files = new Map<string, string>([['.env.example', renderEnvExample(settings)]]);
  for (const path of MARKED_FILES) {
    let text = readFileSync(new URL(path, ROOT), 'utf8');
    if (path === 'README.md') text = withConfigTable(text, renderConfigTable(settings));
    files.set(path, formatMarkdown(withDefaults(text, settings), path));
  }
  return files;
}

if (import.meta.main) {
  for (const [path, text] of generated()) {
    const url = new URL(path, ROOT);
    if (readFileSync(url, 'utf8') !== text) {
      writeFileSync(url, text);
      console.log(`config-docs: wrote ${path}`);
    }
  }
}
