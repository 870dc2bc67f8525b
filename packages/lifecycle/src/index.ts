/**
 * The life of an HTTP service process: configuration errors, listening, the operational routes every service
 * has, and on SIGTERM/SIGINT: fail readiness, stop accepting connections, let in-flight requests finish
 * (bounded), then close the service's own resources.
 */
import { readFileSync } from 'node:fs';
import type { RequestListener, Server } from 'node:http';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { notFound, problemHandler } from '@authstack/http-problem';
import { type Logger, type Metrics, requestId } from '@authstack/telemetry';
import type { Express } from 'express';

export interface Stoppable {
  /** Readiness must turn false at once. */
  markShuttingDown(): void;
  /** Close pools, timers and connections. */
  close(): Promise<void>;
  logger: { info(obj: object, msg: string): void };
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
  running.service.logger.info({ url: running.url }, `${name} listening`);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      running.service.logger.info({ signal }, 'shutting down');
      running.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

/** A bad or missing configuration value; the message names the variable. */
export class ConfigError extends Error {
  readonly variable: string;

  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

type Env = Record<string, string | undefined>;

/**
 * `<NAME>_FILE` variables (Docker and Kubernetes secrets): for each name, the file's content (one trailing newline
 * removed) becomes the value. Setting both `NAME` and `NAME_FILE` is an error, as is a file that cannot be read.
 */
export function resolveFileVariables(env: Env, names: readonly string[]): Env {
  const resolved: Env = { ...env };
  for (const name of names) {
    const file = env[`${name}_FILE`];
    if (file === undefined || file === '') continue;
    if (env[name] !== undefined && env[name] !== '') {
      throw new ConfigError(name, `set either ${name} or ${name}_FILE, not both`);
    }
    try {
      resolved[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch {
      throw new ConfigError(`${name}_FILE`, `cannot read ${file}`);
    }
  }
  return resolved;
}

/**
 * `serve(create)` turns a service factory into `start(config, options)`: build the service, then listen on the
 * configured host and port with graceful shutdown.
 */
export function serve<
  C extends { port: number; host: string; shutdownTimeout: number },
  O,
  S extends Stoppable & { app: RequestListener },
>(create: (config: C, options: O) => Promise<S>) {
  return async (config: C, options: O = {} as O): Promise<Listening & { service: S }> => {
    const service = await create(config, options);
    const listening = await listen(service.app, service, {
      port: config.port,
      host: config.host,
      shutdownTimeoutSec: config.shutdownTimeout,
    });
    return { ...listening, service };
  };
}

/**
 * The routes every service has, outside the request log: `/healthz` (alive), `/readyz` (dependencies
 * reachable), `/metrics` (Prometheus). And the tail every service ends with: 404 for unknown paths, and
 * problem+json for every error, logging 5xx with their cause.
 */
export function operationalRoutes(
  app: Express,
  deps: { ready: () => Promise<boolean>; metrics: Metrics },
): void {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ready = await deps.ready();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready' });
  });
  app.get('/metrics', deps.metrics.handler);
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
