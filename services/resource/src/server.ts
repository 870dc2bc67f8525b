/** Starts the resource service: `node src/server.ts`. */
import { type Listening, listen, runMain } from '@authstack/lifecycle';
import { loadConfig, type ResourceConfig } from './config.ts';
import { createResourceService, type ResourceService, type ServiceOptions } from './service.ts';

export interface RunningResource extends Listening {
  service: ResourceService;
}

export async function startResource(
  config: Readonly<ResourceConfig>,
  options: ServiceOptions = {},
): Promise<RunningResource> {
  const service = await createResourceService(config, options);
  const listening = await listen(service.app, service, {
    port: config.port,
    host: config.host,
    shutdownTimeoutSec: config.shutdownTimeout,
  });
  return { ...listening, service };
}

if (import.meta.main)
  await runMain(
    'resource',
    () => loadConfig(),
    (config) => startResource(config),
  );
