/**
 * Logging, request ids and metrics shared by the services.
 *
 * - JSON logs (pino) with secrets redacted: Authorization, cookies, passwords and tokens never reach a
 *   log line. Request bodies are never logged.
 * - A request id per request: the gateway's `X-Request-Id` when it is well-formed, a fresh UUID otherwise;
 *   echoed in the response and carried by every log line of the request.
 * - Prometheus metrics on a registry per app (so tests can build many apps in one process).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { Request, RequestHandler } from 'express';
import { type Logger, pino } from 'pino';
import { pinoHttp } from 'pino-http';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { serializeError } from './errors.ts';

export type { Logger } from 'pino';
export { serializeError } from './errors.ts';
export { shutdownTracing, tracingOn } from './flush.ts';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-refresh-token"]',
  'res.headers["set-cookie"]',
  'res.headers["x-session-authorization"]',
  'res.headers["x-session-set-cookie"]',
  '*.password',
  '*.current_password',
  '*.new_password',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  'password',
  'token',
  'access_token',
  'refresh_token',
];

export interface LoggerOptions {
  service: string;
  level: string;
  /** Tests pass a stream to capture lines; default stdout. */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // Errors without the request data their fields quote: Redis command arguments, PostgreSQL row values.
      serializers: { err: serializeError },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{8,128}$/;

/** The gateway's request id when well-formed, otherwise a new one. */
export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
}

/** The request id assigned by `httpLogger()`. */
export function requestId(req: Request): string | undefined {
  const id = (req as unknown as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}

/** Request logging (method, path, status, duration) without bodies; sets `X-Request-Id`. */
export function httpLogger(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const id = requestIdFor(req);
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    serializers: {
      req: (req: { id: string; method: string; url: string; remoteAddress?: string }) => ({
        id: req.id,
        method: req.method,
        // The query string may carry tokens a client put there by mistake: log the path only.
        path: req.url.split('?')[0],
        remote: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
      // pino-http puts its own serializers on the child logger it makes; keep the redacting one for errors.
      err: serializeError,
    },
    quietReqLogger: true,
    autoLogging: {
      ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics',
    },
  }) as unknown as RequestHandler;
}

export interface Metrics {
  registry: Registry;
  middleware: RequestHandler;
  handler: RequestHandler;
}

/** A registry with process metrics and `http_request_duration_seconds{method,route,status}`. */
export function createMetrics(service: string): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const middleware: RequestHandler = (req, res, next) => {
    const end = duration.startTimer();
    res.on('finish', () => {
      // Route templates only (bounded label values); unmatched paths share one label.
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
  const handler: RequestHandler = async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  };
  return { registry, middleware, handler };
}

/**
 * A manual span around async work (bcrypt, token verification). Without tracing configured
 * (packages/telemetry/src/tracing.ts) the API's tracer is a no-op and this only calls `work`.
 */
export async function withSpan<T>(
  tracerName: string,
  spanName: string,
  attributes: Record<string, string | number | boolean>,
  work: (annotate: (key: string, value: string | number | boolean) => void) => Promise<T>,
): Promise<T> {
  return trace.getTracer(tracerName).startActiveSpan(spanName, { attributes }, async (span) => {
    try {
      return await work((key, value) => span.setAttribute(key, value));
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}
