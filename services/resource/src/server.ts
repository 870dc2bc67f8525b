/** Starts the resource service: `node src/server.ts`. */
import { runMain, serve } from '@authstack/lifecycle';
import { loadConfig } from './config.ts';
import { createResourceService } from './service.ts';

export const startResource = serve(createResourceService);
export type RunningResource = Awaited<ReturnType<typeof startResource>>;

if (import.meta.main)
  await runMain(
    'resource',
    () => loadConfig(),
    (config) => startResource(config),
  );
