/**
 * The service images' Dockerfiles, written from one template: `make dockerfiles` (node infra/build/dockerfiles.ts)
 * writes `services/<name>/Dockerfile` for each service below; `--check` only compares. A test
 * (infra/test/containers.config.test.ts) fails when a Dockerfile is not what this renders, so the three cannot drift
 * apart, and a new workspace lands in every image's manifest list by running this again.
 *
 * Why generated and not shared at build time (docs/gateway-and-containers.md, "One template"): the engine's built-in
 * Dockerfile frontend (no `# syntax=` line, so no frontend image to pull) has no include, no named build contexts
 * and no `COPY --parents`, and a base image built first would give compose a build order it does not keep. Each
 * service keeps a plain, self-contained Dockerfile that `docker build -f services/<name>/Dockerfile .` builds alone.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The pinned Node image (CI's look-alikes and Renovate find it as `ARG NODE_IMAGE=` in each Dockerfile). */
export const NODE_IMAGE = 'node:24.21.0-bookworm-slim';

interface ServiceImage {
  /** The first comment line: what the image is. */
  title: string;
  /** A long-running server: its port, the build commit on /healthz, a healthcheck on /readyz. */
  server?: { port: number };
  /** The last lines: the process, `node` itself, never npm (comments as lines starting with `#`). */
  run: string[];
}

/** One Dockerfile per service, at `services/<name>/Dockerfile`. */
export const SERVICES: Record<string, ServiceImage> = {
  auth: {
    title: 'The auth service',
    server: { port: 3001 },
    run: [
      'ENTRYPOINT ["tini", "--"]',
      '# node itself is the command (not npm), so SIGTERM reaches the process and shutdown is graceful.',
      'CMD ["sh", "services/auth/bin/start.sh"]',
    ],
  },
  resource: {
    title: 'The resource service',
    server: { port: 3002 },
    run: [
      'ENTRYPOINT ["tini", "--"]',
      '# node itself is the command (not npm), so SIGTERM reaches the process and shutdown is graceful.',
      '# @authstack/telemetry/tracing starts OpenTelemetry first when OTEL_EXPORTER_OTLP_ENDPOINT is set; else it does nothing.',
      'CMD ["node", "--import", "@authstack/telemetry/tracing", "services/resource/src/server.ts"]',
    ],
  },
  client: {
    title: 'The client (SDK, CLI and scenarios)',
    run: ['ENTRYPOINT ["tini", "--", "node", "services/client/src/cli.ts"]', 'CMD ["scenarios"]'],
  },
};

/** Every workspace folder of the root package.json (`packages/*`, `services/*`) that has a package.json, sorted. */
export function workspaces(root = ROOT): string[] {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  return manifest.workspaces.flatMap((glob) => {
    const parent = glob.replace(/\/\*$/, '');
    return readdirSync(join(root, parent))
      .filter((dir) => existsSync(join(root, parent, dir, 'package.json')))
      .sort()
      .map((dir) => `${parent}/${dir}`);
  });
}

const lines = (...parts: (string | string[] | false | undefined)[]) =>
  parts.flatMap((part) => (part === false || part === undefined ? [] : part));

/** The Dockerfile of service `name`, as `services/<name>/Dockerfile` must read. */
export function renderDockerfile(name: string, root = ROOT): string {
  const service = SERVICES[name];
  if (!service)
    throw new Error(`no image for service "${name}" (known: ${Object.keys(SERVICES).join(', ')})`);
  const server = service.server;
  return `${lines(
    `# ${service.title}. Build from the repository root (npm workspaces):`,
    `#   docker build -f services/${name}/Dockerfile -t authstack/${name} .`,
    '# Written by `make dockerfiles` from infra/build/dockerfiles.ts, the one template of the three images: edit that.',
    '# Node 24 runs the TypeScript sources directly (type stripping): no build step, no dev dependencies, no test code',
    "# (.dockerignore keeps packages/testing's sources and every test/ folder out of the context).",
    "# No `# syntax=` line: the engine's built-in Dockerfile frontend is used, so building needs no frontend image.",
    '# Behind a TLS-intercepting proxy, pass its CA bundle as a build secret; it is never written to a layer:',
    '#   docker build --secret id=build_ca,src=/path/to/ca.pem ...   (compose: BUILD_CA_FILE=/path/to/ca.pem)',
    `ARG NODE_IMAGE=${NODE_IMAGE}`,
    '',
    `FROM \${NODE_IMAGE} AS deps`,
    'WORKDIR /app',
    `# Every workspace manifest, so npm ci can check the lockfile; only ${name}'s production dependencies install.`,
    'COPY package.json package-lock.json ./',
    workspaces(root).map((workspace) => `COPY ${workspace}/package.json ${workspace}/`),
    'RUN --mount=type=secret,id=build_ca \\',
    '    if [ -s /run/secrets/build_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/build_ca; fi; \\',
    `    npm ci --omit=dev --workspace services/${name} --no-audit --no-fund && npm cache clean --force`,
    '',
    `FROM \${NODE_IMAGE} AS runtime`,
    '# tini as PID 1: forwards SIGTERM to node (graceful shutdown) and reaps any orphaned process.',
    'RUN apt-get update -q && apt-get install -y -q --no-install-recommends tini && rm -rf /var/lib/apt/lists/*',
    'ENV NODE_ENV=production',
    'WORKDIR /app',
    'COPY --from=deps /app /app',
    'COPY packages/ packages/',
    `COPY services/${name}/ services/${name}/`,
    server && [
      '# The commit this image was built from (compose passes `git rev-parse HEAD` via make up); reported on /healthz.',
      '# Last, so a new commit rebuilds no earlier layer.',
      'ARG BUILD_COMMIT=unknown',
      `ENV BUILD_COMMIT=\${BUILD_COMMIT}`,
    ],
    'USER node',
    server && [
      `ENV HOST=0.0.0.0 PORT=${server.port}`,
      `EXPOSE ${server.port}`,
      'HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \\',
      `  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]`,
    ],
    service.run,
  ).join('\n')}\n`;
}

export const dockerfilePath = (name: string, root = ROOT) => join(root, 'services', name, 'Dockerfile');

if (import.meta.main) {
  const stale = Object.keys(SERVICES).filter((name) => {
    const path = dockerfilePath(name);
    const next = renderDockerfile(name);
    if (existsSync(path) && readFileSync(path, 'utf8') === next) return false;
    if (!process.argv.includes('--check')) writeFileSync(path, next);
    return true;
  });
  if (process.argv.includes('--check') && stale.length > 0) {
    console.error(
      `not current: ${stale.map((n) => `services/${n}/Dockerfile`).join(', ')}; run make dockerfiles`,
    );
    process.exit(1);
  }
  for (const name of process.argv.includes('--check') ? [] : stale)
    console.log(`wrote services/${name}/Dockerfile`);
}
