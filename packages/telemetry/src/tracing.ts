/**
 * OpenTelemetry tracing through the Node SDK's own start-up (`NodeSDK`), loaded before the service so the
 * instrumentations can wrap express, http, pg and ioredis as they are imported:
 *
 *   node --import @authstack/telemetry/tracing services/auth/src/server.ts
 *
 * (the images' commands and `make dev` do this). OFF unless OTEL_EXPORTER_OTLP_ENDPOINT,
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_TRACES_EXPORTER is set (and OFF when OTEL_SDK_DISABLED=true or
 * OTEL_TRACES_EXPORTER=none): then this module does nothing, no loader hook, no SDK, and the manual spans
 * (`withSpan`) run on the API's no-op tracer.
 *
 * When on, the SDK reads every standard variable itself: OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
 * OTEL_PROPAGATORS, OTEL_TRACES_SAMPLER(_ARG), OTEL_BSP_*, OTEL_EXPORTER_OTLP_*, OTEL_LOG_LEVEL, ... This module
 * only fills three defaults, each when its variable is unset: OTEL_METRICS_EXPORTER=none (metrics are
 * Prometheus's), OTEL_LOGS_EXPORTER=none (logs are pino's, on stdout) and OTEL_EXPORTER_OTLP_PROTOCOL=http/json.
 */
import type { OutgoingHttpHeaders, RequestOptions } from 'node:http';
import { register } from 'node:module';

/**
 * An outgoing request's URL as the HTTP instrumentation writes url.full, but without its query string (or fragment)
 * and without user info: scheme, host (with a port other than 80 and 443) and path.
 */
function urlWithoutQuery(options: RequestOptions): string {
  const headers =
    options.headers && !Array.isArray(options.headers) ? (options.headers as OutgoingHttpHeaders) : {};
  const port = String(options.port ?? '');
  let host =
    options.host || options.hostname || (typeof headers.host === 'string' ? headers.host : '') || 'localhost';
  if (!host.includes(':') && port && port !== '80' && port !== '443') host += `:${port}`;
  const path = (options.path || '/').replace(/[?#].*$/s, '');
  return `${options.protocol || 'http:'}//${host}${path}`;
}

/** Set the way the SDK reads it: a variable that is empty or blank counts as unset. */
const isSet = (name: string) => (process.env[name] ?? '').trim() !== '';

const wanted =
  isSet('OTEL_EXPORTER_OTLP_ENDPOINT') ||
  isSet('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ||
  isSet('OTEL_TRACES_EXPORTER');
const disabled =
  process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true' ||
  process.env.OTEL_TRACES_EXPORTER?.trim() === 'none';

if (wanted && !disabled) {
  for (const [name, value] of [
    ['OTEL_METRICS_EXPORTER', 'none'],
    ['OTEL_LOGS_EXPORTER', 'none'],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'http/json'],
  ] as const)
    if (!isSet(name)) process.env[name] = value;

  // ESM modules are wrapped through import-in-the-middle's loader hook; it must be registered first.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const [
    { flushTraces, shutdownTracing },
    { NodeSDK },
    { HttpInstrumentation },
    { ExpressInstrumentation },
    { PgInstrumentation },
    { IORedisInstrumentation },
  ] = await Promise.all([
    import('./flush.ts'),
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-express'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/instrumentation-ioredis'),
  ]);
  new NodeSDK({
    instrumentations: [
      // Health and metrics probes would drown the traces that matter.
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => /^\/(healthz|readyz|metrics)$/.test(req.url ?? ''),
        // No query string in any span, as in no log (nginx logs $uri, pino's serializer cuts at '?'): a query can
        // hold a token or a username. The instrumentation's own redaction masks only a fixed list of names, so:
        // a server span omits url.query (the SDK drops an attribute whose value is undefined; url.path is the path
        // alone), and a client span's url.full is replaced by scheme, host and path, without the query.
        startIncomingSpanHook: () => ({ 'url.query': undefined }),
        startOutgoingSpanHook: (options) => ({ 'url.full': urlWithoutQuery(options) }),
      }),
      new ExpressInstrumentation(),
      // Statement text only, never the values (they hold usernames and hashes).
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
      // The command's name only: its arguments are keys and values, and a script's ARGV can hold a minted token.
      new IORedisInstrumentation({ dbStatementSerializer: (command: string) => command }),
    ],
  }).start();

  // Send what is buffered before the process ends. A service's own SIGTERM handler (@authstack/lifecycle) drains
  // it, then awaits `shutdownTracing()` before it exits; here the spans buffered when the signal comes go out at
  // once, and a process with no SIGTERM handler of its own still ends on the signal, after the last export.
  process.once('SIGTERM', () => {
    if (process.listenerCount('SIGTERM') > 0) void flushTraces();
    else void shutdownTracing().then(() => process.kill(process.pid, 'SIGTERM'));
  });
  process.once('beforeExit', () => void shutdownTracing());
}
