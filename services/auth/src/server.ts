/** Starts the auth service: `node src/server.ts`. */
import { runMain, serve } from '@authstack/lifecycle';
import { loadConfig } from './config.ts';
import { createAuthService } from './service.ts';

export const startAuth = serve(createAuthService);
export type RunningAuth = Awaited<ReturnType<typeof startAuth>>;

if (import.meta.main)
  await runMain(
    'auth',
    () => loadConfig(),
    (config) => startAuth(config),
  );
