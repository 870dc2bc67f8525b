/** `tracingOn()`: whether tracing.ts started the SDK (the session-mode resource pipelines its lookups only when not). */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ProxyTracerProvider, trace } from '@opentelemetry/api';
import { tracingOn } from '../src/index.ts';

describe('tracingOn', () => {
  after(() => trace.disable());

  it('when no SDK is registered, then tracing is off; when a provider that can flush is, then it is on', () => {
    assert.equal(tracingOn(), false, 'the API alone: a no-op tracer');
    const provider = {
      getTracer: () => new ProxyTracerProvider().getTracer('noop'),
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    assert.equal(trace.setGlobalTracerProvider(provider), true);
    assert.equal(tracingOn(), true);
  });
});
