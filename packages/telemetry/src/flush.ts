import { trace } from '@opentelemetry/api';

interface SdkTracerProvider {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** The SDK's tracer provider when tracing is on (the API's global holds it behind a proxy). */
function sdkProvider(): SdkTracerProvider | undefined {
  const global = trace.getTracerProvider() as { getDelegate?: () => unknown };
  const provider = (global.getDelegate?.() ?? global) as Partial<SdkTracerProvider>;
  return typeof provider.forceFlush === 'function' && typeof provider.shutdown === 'function'
    ? (provider as SdkTracerProvider)
    : undefined;
}

/** Is tracing on (packages/telemetry/src/tracing.ts started the SDK)? */
export const tracingOn = (): boolean => sdkProvider() !== undefined;

/** `work`, but never longer than `timeoutMs` and never failing: a collector that is down must not hold a process. */
async function bounded(work: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs).unref();
    }),
  ]);
  clearTimeout(timer);
}

/** Export the spans buffered now; tracing goes on. Resolves at once when tracing is off. */
export async function flushTraces(timeoutMs = 5_000): Promise<void> {
  const provider = sdkProvider();
  if (provider) await bounded(provider.forceFlush(), timeoutMs);
}

/**
 * The last step before a process exits: export every buffered span and wait for the exports already under way
 * (a flush only sends what is buffered, so an export begun earlier could still be cut off by the exit); no span is
 * recorded after. Resolves at once when tracing is off.
 */
export async function shutdownTracing(timeoutMs = 5_000): Promise<void> {
  const provider = sdkProvider();
  if (provider) await bounded(provider.shutdown(), timeoutMs);
}
