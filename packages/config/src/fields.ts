/**
 * The settings auth and the resource both read, one schema each, so both parse, default and describe them alike.
 * The descriptions are what `make config-docs` writes into `.env.example` and the README's configuration table.
 */
import { z } from 'zod';

export const hostSchema = z
  .string()
  .min(1)
  .default('127.0.0.1')
  .describe('Address the service listens on (the containers set 0.0.0.0).');

export const logLevelSchema = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info')
  .describe('pino level: fatal, error, warn, info, debug, trace or silent.');

export const issuerSchema = z
  .url()
  .default('https://localhost:8443')
  .describe("The tokens' `iss`: the public URL of the gateway (auth signs it, the resource requires it).");

export const audienceSchema = z
  .string()
  .min(1)
  .default('authstack-api')
  .describe("The tokens' `aud`: what resource services expect (auth signs it, the resource requires it).");

export const redisKeyPrefixSchema = z
  .string()
  .regex(/^[A-Za-z0-9:_-]{1,64}$/)
  .default('authstack:')
  .describe('Prefix of every Redis key (letters, digits, `:`, `_`, `-`; no brace: braces are hash tags).');

export const shutdownTimeoutSchema = z.coerce
  .number()
  .int()
  .min(1)
  .max(120)
  .default(10)
  .describe('Seconds to let in-flight requests finish after SIGTERM (1..120).');

/** `PORT`: the API port; each service has its own default (auth 3001, the resource 3002). */
export const portSchema = (port: number) =>
  z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(port)
    .describe(
      'Port the service listens on (`make dev` passes AUTH_PORT to auth, RESOURCE_PORT and RESOURCE_SESSION_PORT to the resources).',
    );

/**
 * `INTERNAL_PORT`: unset, `/metrics` is served on the API port; set, `/metrics` (and auth's JWKS) move to this port
 * of their own (`@authstack/lifecycle`'s `internalApp`), so a network policy can open them to monitoring and to the
 * verifiers without opening the API port, where a trusted proxy names the client.
 */
export const internalPortSchema = z.coerce
  .number()
  .int()
  .min(1)
  .max(65535)
  .optional()
  .describe(
    'A port of its own for `/metrics` (auth: and the JWKS), which the API port then no longer serves; unset: `/metrics` on PORT (the native stack and compose). Kubernetes sets 9464: only the gateway may reach the API ports there.',
  );
