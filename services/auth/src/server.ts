/**
 * Starts the auth service: `node src/server.ts`. Listens, and on SIGTERM/SIGINT fails readiness,
 * lets in-flight requests finish (bounded by SHUTDOWN_TIMEOUT), then closes the pools.
 */

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AuthConfig, ConfigError, loadConfig } from './config.ts';
import { type AuthService, createAuthService, type ServiceOptions } from './service.ts';

export interface RunningAuth {
  service: AuthService;
  server: Server;
  url: string;
  stop(): Promise<void>;
}

export async function startAuth(
  config: Readonly<AuthConfig>,
  options: ServiceOptions = {},
): Promise<RunningAuth> {
  const service = await createAuthService(config, options);
  const server = service.app.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.keepAliveTimeout = 65_000; // longer than the gateway's upstream keep-alive
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      service.markShuttingDown();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = setTimeout(() => server.closeAllConnections(), config.shutdownTimeout * 1000);
      await closed;
      clearTimeout(deadline);
      await service.close();
    })();
    return stopping;
  };
  return { service, server, url: `http://${host}:${port}`, stop };
}

async function main(): Promise<void> {
  let config: Readonly<AuthConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`auth: configuration error: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  let running: RunningAuth;
  try {
    running = await startAuth(config);
  } catch (error) {
    console.error(`auth: start-up failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  running.service.logger.info({ url: running.url }, 'auth listening');
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

if (import.meta.main) await main();
