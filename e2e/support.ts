/**
 * What the cross-service tests share: an auth fixture with resources that verify its tokens, and the real nginx
 * gateway in front of them. Each helper registers its own teardown on the scope it is given.
 */

import {
  type AuthFixture,
  type AuthFixtureOptions,
  startAuthFixture,
  type TestAuth,
} from '@authstack/auth/testing';
import { type AdminStackOptions, type Login, startWithAdmin } from '@authstack/auth/testing/admin';
import { startTestResource, type TestResource } from '@authstack/resource/testing';
import { redisEnv, type Scope, useFixture } from '@authstack/testing';
import { type Gateway, makeCerts, startGateway } from '../infra/nginx/local-gateway.ts';

type Env = Record<string, string | undefined>;

export const hostPort = (url: string) => new URL(url).host;

/** A resource's environment for verifying `auth`'s tokens (stateless mode). */
export const verifierEnv = (auth: TestAuth, extra: Env = {}): Env => ({
  JWT_ISSUER: auth.config.issuer,
  JWT_AUDIENCE: auth.config.audience,
  JWKS_URI: `${auth.url}/.well-known/jwks.json`,
  ...extra,
});

/** A resource's environment for verifying `auth`'s tokens and, in session mode, reading its sessions. */
export const resourceEnv = (auth: TestAuth, extra: Env = {}): Env => ({
  ...verifierEnv(auth),
  ...redisEnv(),
  REDIS_KEY_PREFIX: auth.config.redisKeyPrefix,
  ...extra,
});

export interface Stack {
  auth: AuthFixture;
  /** The bootstrap admin, logged in (when `admin` was asked for). */
  admin: Login | undefined;
  stateless: TestResource;
  session: TestResource;
}

export interface StackOptions extends AdminStackOptions {
  /** A bootstrap admin (with `credentials`, or `BOOT`), logged in. */
  admin?: boolean;
  /** Added to both resources' environment. */
  resource?: Env;
}

/** Auth on a database of its own, a stateless and a session-mode resource in front of it; torn down by `scope`. */
export async function startStack(scope: Scope, options: StackOptions = {}): Promise<Stack> {
  const { admin: withAdmin = false, resource: extra = {}, ...authOptions } = options;
  const { auth, admin } = withAdmin
    ? await startWithAdmin(scope, authOptions)
    : { auth: await startAuthFixture(scope, authOptions), admin: undefined };
  const env = resourceEnv(auth, extra);
  const [stateless, session] = await Promise.all([
    startTestResource(env, {}, scope),
    startTestResource({ ...env, VERIFY_MODE: 'session' }, {}, scope),
  ]);
  return { auth, admin, stateless, session };
}

/** `startStack` for the enclosing describe. */
export const useStack = (options: StackOptions = {}): Stack =>
  useFixture((scope) => startStack(scope, options));

/** A throwaway CA and server certificate, removed when `scope` ends. */
export function testCerts(scope: Scope): ReturnType<typeof makeCerts> {
  const certs = makeCerts();
  scope.defer(() => certs.remove());
  return certs;
}

/** The real nginx gateway on free ports, stopped when `scope` ends. */
export async function startTestGateway(
  scope: Scope,
  options: Parameters<typeof startGateway>[0],
): Promise<Gateway> {
  const gateway = await startGateway(options);
  scope.defer(() => gateway.stop());
  return gateway;
}

export interface GatewayStack extends Stack {
  certs: ReturnType<typeof makeCerts>;
  /** nginx in front of auth, the stateless resource (/api/) and the session-mode one (/api-session/). */
  gateway: Gateway;
}

/**
 * `startStack` behind the real nginx gateway over TLS (a throwaway CA), with `TRUST_PROXY=loopback` so auth
 * counts limits per client address as the gateway forwards it; torn down by `scope`.
 */
export async function startGatewayStack(scope: Scope, options: StackOptions = {}): Promise<GatewayStack> {
  const stack = await startStack(scope, { ...options, env: { TRUST_PROXY: 'loopback', ...options.env } });
  const certs = testCerts(scope);
  const gateway = await startTestGateway(scope, {
    authUpstream: hostPort(stack.auth.url),
    resourceUpstream: hostPort(stack.stateless.url),
    resourceSessionUpstream: hostPort(stack.session.url),
    certs,
  });
  return { ...stack, certs, gateway };
}

/** A gateway's settings besides its auth and resource upstreams and its certificates: limits, the console. */
export type GatewaySettings = Omit<
  Parameters<typeof startGateway>[0],
  'authUpstream' | 'resourceUpstream' | 'certs'
>;

export interface GatewayPairOptions extends AuthFixtureOptions {
  /** The resource's environment, made from auth's (default `verifierEnv`: stateless, no Redis). */
  resourceEnv?: (auth: TestAuth) => Env;
  /** The resource's service options (a logger). */
  resourceOptions?: Parameters<typeof startTestResource>[1];
  /** The gateway's settings besides its upstreams and certificates (limits). */
  gateway?: GatewaySettings;
}

export interface GatewayPair {
  auth: AuthFixture;
  resource: TestResource;
  certs: ReturnType<typeof makeCerts>;
  /** nginx in front of auth and the resource (/api/). */
  gateway: Gateway;
}

/**
 * Auth (with `TRUST_PROXY=loopback`, as behind the gateway) and one resource verifying its tokens, behind the real
 * nginx gateway over TLS (a throwaway CA); torn down by `scope`. `startGatewayStack` when both resource modes are needed.
 */
export async function startGatewayPair(scope: Scope, options: GatewayPairOptions = {}): Promise<GatewayPair> {
  const {
    resourceEnv: envOf = verifierEnv,
    resourceOptions = {},
    gateway: settings,
    ...authOptions
  } = options;
  const auth = await startAuthFixture(scope, {
    ...authOptions,
    env: { TRUST_PROXY: 'loopback', ...authOptions.env },
  });
  const resource = await startTestResource(envOf(auth), resourceOptions, scope);
  const certs = testCerts(scope);
  const gateway = await startTestGateway(scope, {
    authUpstream: hostPort(auth.url),
    resourceUpstream: hostPort(resource.url),
    certs,
    ...settings,
  });
  return { auth, resource, certs, gateway };
}
