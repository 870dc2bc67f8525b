import { loadConfig, type ResourceConfig } from '../src/config.ts';
import { type RunningResource, startResource } from '../src/server.ts';
import type { ServiceOptions } from '../src/service.ts';

export interface TestResource extends RunningResource {
  config: Readonly<ResourceConfig>;
}

export async function startTestResource(
  env: Record<string, string | undefined>,
  options: ServiceOptions = {},
): Promise<TestResource> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env });
  return { ...(await startResource(config, options)), config };
}
