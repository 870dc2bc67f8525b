/**
 * OpenTelemetry tracing, OFF unless OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set.
 * Loaded before the service so the instrumentations can wrap express, http, pg and ioredis as they are imported:
 *
 *   node --import ./packages/telemetry/src/tracing.ts services/auth/src/server.ts
 *
 * (the images' commands and `make dev` do this). Without the variable this module does nothing: no loader hook,
 * no provider, and the manual spans (`withSpan`) run on the API's no-op tracer. With it: spans go by OTLP/HTTP
 * (JSON) to the endpoint, in batches (OTEL_BSP_SCHEDULE_DELAY, default 5 s), named after OTEL_SERVICE_NAME.
 * These are the SDK's standard variables, read here rather than in config.ts because they must act before any
 * service module loads.
 */
import { register } from 'node:module';

const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;

if (endpoint) {
  // ESM modules are wrapped through import-in-the-middle's loader hook; it must be registered first.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const [
    { context, propagation, trace },
    { AsyncLocalStorageContextManager },
    { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator },
    { BatchSpanProcessor, TracerProvider },
    { OTLPTraceExporter },
    { resourceFromAttributes },
    { registerInstrumentations },
    { HttpInstrumentation },
    { ExpressInstrumentation },
    { PgInstrumentation },
    { IORedisInstrumentation },
  ] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/instrumentation'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-express'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/instrumentation-ioredis'),
  ]);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': process.env.OTEL_SERVICE_NAME || 'authstack' }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter(),
        scheduledDelayMillis: Number(process.env.OTEL_BSP_SCHEDULE_DELAY) || 5_000,
      }),
    ],
  });
  trace.setGlobalTracerProvider(provider);
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      // Health and metrics probes would drown the traces that matter.
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => /^\/(healthz|readyz|metrics)$/.test(req.url ?? ''),
      }),
      new ExpressInstrumentation(),
      // Statement text only, never the values (they hold usernames and hashes).
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
      // The command's name only: its arguments are keys and values, and a script's ARGV can hold a minted token.
      new IORedisInstrumentation({ dbStatementSerializer: (command: string) => command }),
    ],
  });
  // Send what is buffered before the process ends (the server's own SIGTERM handler closes it).
  const flush = () => provider.forceFlush().catch(() => {});
  process.once('SIGTERM', flush);
  process.once('beforeExit', flush);
}
