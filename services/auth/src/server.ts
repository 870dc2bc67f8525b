/** Starts the auth service: `node src/server.ts`. */
import { type Listening, listen, runMain } from '@authstack/lifecycle';
import { type AuthConfig, loadConfig } from './config.ts';
import { type AuthService, createAuthService, type ServiceOptions } from './service.ts';

export interface RunningAuth extends Listening {
  service: AuthService;
}

export async function startAuth(
  config: Readonly<AuthConfig>,
  options: ServiceOptions = {},
): Promise<RunningAuth> {
  const service = await createAuthService(config, options);
  const listening = await listen(service.app, service, {
    port: config.port,
    host: config.host,
    shutdownTimeoutSec: config.shutdownTimeout,
  });
  return { ...listening, service };
}

if (import.meta.main)
  await runMain(
    'auth',
    () => loadConfig(),
    (config) => startAuth(config),
  );
