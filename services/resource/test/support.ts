/** The resource fixture: the real resource service on port 0, stopped by the scope that started it. */
import { type Scope, useFixture } from '@authstack/testing';
import { loadConfig, type ResourceConfig } from '../src/config.ts';
import { type RunningResource, startResource } from '../src/server.ts';
import type { ServiceOptions } from '../src/service.ts';

export interface TestResource extends RunningResource {
  config: Readonly<ResourceConfig>;
}

type Env = Record<string, string | undefined>;

/** A resource instance, stopped when `scope` ends, or by the caller when there is none (the start-up tests). */
export async function startTestResource(
  env: Env,
  options: ServiceOptions = {},
  scope?: Scope,
): Promise<TestResource> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env });
  const resource = await startResource(config, options);
  scope?.defer(() => resource.stop());
  return { ...resource, config };
}

/**
 * `startTestResource` for the enclosing describe. `env` is a function when it reads another fixture (an auth
 * instance's issuer and JWKS address): it is called in the describe's `before`, after the fixtures declared above.
 */
export const useResource = (env: Env | (() => Env), options: ServiceOptions = {}): TestResource =>
  useFixture((scope) => startTestResource(typeof env === 'function' ? env() : env, options, scope));
