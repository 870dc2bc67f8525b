/**
 * The k6 stand-in's shared state inside one runner thread: the VU and iteration being run, the checks and
 * metrics recorded, and the synchronous HTTP bridge to the parent thread (see runner.ts).
 */
import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
  timeoutMs: number;
}
export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  body: string;
  error: string;
  durationMs: number;
}

export const state = {
  vu: 1,
  iteration: 0,
  scenario: '',
  checks: new Map<string, { passes: number; fails: number }>(),
  metrics: new Map<string, { type: 'counter' | 'rate' | 'trend' | 'gauge'; values: number[] }>(),
  requests: [] as { method: string; url: string; status: number; name: string; expected: boolean }[],
};

let bridge: { port: MessagePort; signal: Int32Array } | undefined;
export const connect = (port: MessagePort, signal: Int32Array) => {
  bridge = { port, signal };
};

/** Blocks this thread until the parent has made the request: k6's HTTP calls are synchronous too. */
export function syncRequest(request: HttpRequest): HttpReply {
  if (!bridge) throw new Error('k6 stand-in: no HTTP bridge');
  Atomics.store(bridge.signal, 0, 0);
  bridge.port.postMessage(request);
  Atomics.wait(bridge.signal, 0, 0);
  const message = receiveMessageOnPort(bridge.port);
  if (!message) throw new Error('k6 stand-in: no HTTP reply');
  return message.message as HttpReply;
}

export function addMetric(name: string, type: 'counter' | 'rate' | 'trend' | 'gauge', value: number): void {
  let metric = state.metrics.get(name);
  if (!metric) {
    metric = { type, values: [] };
    state.metrics.set(name, metric);
  }
  metric.values.push(value);
}
