/**
 * The life of an HTTP service process: configuration errors, listening, the operational routes every service
 * has, and on SIGTERM/SIGINT: fail readiness, stop accepting connections, let in-flight requests finish
 * (bounded), then close the service's own resources.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { RequestListener, Server } from 'node:http';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { notFound, problemHandler } from '@authstack/http-problem';
import { type Logger, type Metrics, requestId, shutdownTracing } from '@authstack/telemetry';
import express, { type Express } from 'express';

export interface Stoppable {
  /** Readiness must turn false at once. */
  markShuttingDown(): void;
  /** Close pools, timers and connections. */
  close(): Promise<void>;
  logger: { info(obj: object, msg: string): void };
  /** What runs: logged at start-up. */
  build?: BuildInfo;
}

/** The running build: reported on `/healthz` and logged at start-up. */
export interface BuildInfo {
  service: string;
  /** The service package's version. */
  version: string;
  /** `BUILD_COMMIT` (set at image build), else the git checkout's commit, else `unknown`. */
  commit: string;
}

const COMMIT = /^[0-9a-f]{7,40}$/;

/**
 * The build of a service from its package.json and the commit: the `BUILD_COMMIT` variable (the Dockerfiles set it
 * from a build argument), else `git rev-parse` when the sources are a git checkout and git is installed, else
 * `unknown`. Build metadata, not configuration: a missing or odd value never stops start-up.
 */
export function buildInfo(service: string, packageJson: URL): BuildInfo {
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  const fromEnv = process.env.BUILD_COMMIT?.trim().toLowerCase();
  let commit = fromEnv && COMMIT.test(fromEnv) ? fromEnv : undefined;
  if (!commit) {
    const git = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: new URL('.', packageJson),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const head = git.status === 0 ? git.stdout.trim() : '';
    commit = COMMIT.test(head) ? head : 'unknown';
  }
  return Object.freeze({ service, version, commit });
}

export interface Listening {
  server: Server;
  url: string;
  stop(): Promise<void>;
}

export async function listen(
  app: RequestListener,
  service: Stoppable,
  options: { port: number; host: string; shutdownTimeoutSec: number },
): Promise<Listening> {
  const server = createServer(app);
  // Longer than the gateway's upstream keep-alive, so the gateway closes idle connections first.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  // While stopping, a keep-alive connection must not outlive its last response: answer with `Connection: close`
  // and close each connection as soon as it turns idle, else server.close() waits for the deadline.
  const inFlight = new Set<ServerResponse>();
  let closing = false;
  const closeAfter = (res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('Connection', 'close');
  };
  server.on('request', (_req, res: ServerResponse) => {
    inFlight.add(res);
    if (closing) closeAfter(res);
    res.once('close', () => {
      inFlight.delete(res);
      if (closing) server.closeIdleConnections();
    });
  });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      closing = true;
      service.markShuttingDown();
      for (const res of inFlight) closeAfter(res);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = setTimeout(() => server.closeAllConnections(), options.shutdownTimeoutSec * 1000);
      await closed;
      clearTimeout(deadline);
      await service.close();
    })();
    return stopping;
  };
  return { server, url: `http://${host}:${port}`, stop };
}

/**
 * `main()` of a service: load the configuration (a bad value exits 1 naming the variable), start, and stop
 * gracefully on SIGTERM or SIGINT.
 */
export async function runMain<C>(
  name: string,
  loadConfig: () => C,
  start: (config: C) => Promise<{ stop(): Promise<void>; url: string; service: Stoppable }>,
): Promise<void> {
  let config: C;
  try {
    config = loadConfig();
  } catch (error) {
    console.error(`${name}: configuration error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  let running: Awaited<ReturnType<typeof start>>;
  try {
    running = await start(config);
  } catch (error) {
    console.error(`${name}: start-up failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  // The logger already names the service; the url last, where readers of this line have found it.
  const build = running.service.build;
  running.service.logger.info(
    { ...(build ? { version: build.version, commit: build.commit } : {}), url: running.url },
    `${name} listening`,
  );
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      running.service.logger.info({ signal }, 'shutting down');
      // The spans of the drained requests go out before the process ends (a no-op with tracing off).
      running.stop().then(
        () => shutdownTracing().then(() => process.exit(0)),
        () => shutdownTracing().then(() => process.exit(1)),
      );
    });
  }
}

/**
 * A bad or missing configuration value (the message names the variable), and `<NAME>_FILE` secrets: both live in
 * `@authstack/config`, re-exported here for the services' entry points.
 */
export { ConfigError, resolveFileVariables } from '@authstack/config';

/**
 * `serve(create)` turns a service factory into `start(config, options)`: build the service, then listen on the
 * configured host and port with graceful shutdown. A service with an `internalApp` (metrics, and what other services
 * read) serves it on `internalPort` of the same host, a port of its own that a network policy can open to
 * monitoring and in-cluster readers without opening the API port to them; it closes when the service stops.
 */
export function serve<
  C extends { port: number; host: string; shutdownTimeout: number; internalPort?: number | undefined },
  O,
  S extends Stoppable & { app: RequestListener; internalApp?: RequestListener | undefined },
>(create: (config: C, options: O) => Promise<S>) {
  return async (
    config: C,
    options: O = {} as O,
  ): Promise<Listening & { service: S; internalUrl: string | undefined }> => {
    const service = await create(config, options);
    let internal: Server | undefined;
    if (service.internalApp && config.internalPort !== undefined) {
      internal = createServer(service.internalApp);
      const server = internal;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.internalPort, config.host, () => resolve());
      }).catch(async (error: unknown) => {
        await service.close();
        throw error;
      });
    }
    const closeInternal = () =>
      new Promise<void>((resolve) => {
        if (!internal?.listening) return resolve();
        internal.close(() => resolve());
        internal.closeAllConnections();
      });
    const listening = await listen(
      service.app,
      {
        ...service,
        markShuttingDown: () => service.markShuttingDown(),
        close: async () => {
          await closeInternal();
          await service.close();
        },
      },
      { port: config.port, host: config.host, shutdownTimeoutSec: config.shutdownTimeout },
    ).catch(async (error: unknown) => {
      await closeInternal();
      throw error;
    });
    return { ...listening, service, internalUrl: internal && urlOf(internal, config.host) };
  };
}

const urlOf = (server: Server, hostName: string) => {
  const host = hostName.includes(':') ? `[${hostName}]` : hostName;
  return `http://${host}:${(server.address() as AddressInfo).port}`;
};

/**
 * The routes every service has, outside the request log: `/healthz` (alive, with the build), `/readyz` (dependencies
 * reachable), `/metrics` (Prometheus; left out with `metrics: false` when the service serves it on its internal
 * port, see `internalApp`). And the tail every service ends with: 404 for unknown paths, and problem+json for every
 * error, logging 5xx with their cause.
 */
export function operationalRoutes(
  app: Express,
  deps: { ready: () => Promise<boolean>; metrics: Metrics; build?: BuildInfo | undefined },
  options: { metrics?: boolean } = {},
): void {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', ...deps.build });
  });
  app.get('/readyz', async (_req, res) => {
    const ready = await deps.ready();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready' });
  });
  if (options.metrics !== false) app.get('/metrics', deps.metrics.handler);
}

/**
 * The app a service serves on its internal port (`INTERNAL_PORT`): `/metrics`, then whatever `routes` adds (auth: its
 * JWKS for the in-cluster verifiers), then the same 404 and problem+json tail. No client address is read here, so
 * `TRUST_PROXY` does not apply.
 */
export function internalApp(
  deps: { metrics: Metrics; logger: Logger },
  routes: (app: Express) => void = () => {},
): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', deps.metrics.handler);
  routes(app);
  errorRoutes(app, deps.logger);
  return app;
}

export function errorRoutes(app: Express, logger: Logger): void {
  app.use(notFound);
  app.use(
    problemHandler({
      requestId,
      log: (problem, original, req) => {
        if (problem.status >= 500) {
          logger.error({ err: original, code: problem.code, request_id: requestId(req) }, problem.title);
        }
      },
    }),
  );
}
