/** Stand-in for `k6/http`: synchronous requests (bridged to the parent thread), k6's Response shape. */
import { addMetric, type HttpReply, state, syncRequest } from '../runtime.ts';

const EXPECTED = Symbol('expectedStatuses');
interface Expected {
  [EXPECTED]: (status: number) => boolean;
}
interface Params {
  headers?: Record<string, string>;
  tags?: Record<string, string>;
  responseCallback?: Expected | null;
  timeout?: string | number;
}

/** gjson-like selector: `a.b.0.c` */
const select = (value: unknown, selector: string): unknown =>
  selector.split('.').reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], value);

class Response {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string>;
  readonly error: string;
  readonly error_code: number;
  readonly timings: { duration: number };
  readonly request: { method: string; url: string };
  readonly url: string;
  constructor(method: string, url: string, reply: HttpReply) {
    this.status = reply.status;
    this.body = reply.body;
    // k6 canonicalises header names: content-type -> Content-Type
    this.headers = Object.fromEntries(
      Object.entries(reply.headers).map(([k, v]) => [
        k.replace(/(^|-)([a-z])/g, (_, d, c) => d + c.toUpperCase()),
        v,
      ]),
    );
    this.error = reply.error;
    this.error_code = reply.error ? 1000 : 0;
    this.timings = { duration: reply.durationMs };
    this.request = { method, url };
    this.url = url;
  }
  json(selector?: string): unknown {
    const parsed = JSON.parse(this.body) as unknown; // k6 throws on a body that is not JSON, too
    return selector ? select(parsed, selector) : parsed;
  }
}

const defaultExpected = (status: number) => status >= 200 && status < 400;

export function request(method: string, url: string, body?: string | null, params: Params = {}): Response {
  if (body !== undefined && body !== null && typeof body !== 'string')
    throw new TypeError('k6 stand-in: pass bodies as strings (JSON.stringify), as the scripts do');
  const timeoutMs = typeof params.timeout === 'number' ? params.timeout : 60_000;
  const reply = syncRequest({ method, url, headers: params.headers ?? {}, body: body ?? null, timeoutMs });
  const res = new Response(method, url, reply);
  const expected = params.responseCallback ? params.responseCallback[EXPECTED] : defaultExpected;
  const ok = expected(res.status);
  const name = params.tags?.name ?? url;
  state.requests.push({ method, url, status: res.status, name, expected: ok });
  addMetric('http_reqs', 'counter', 1);
  addMetric('http_req_failed', 'rate', ok ? 0 : 1);
  addMetric('http_req_duration', 'trend', reply.durationMs);
  return res;
}

export const get = (url: string, params?: Params) => request('GET', url, null, params);
export const post = (url: string, body?: string | null, params?: Params) =>
  request('POST', url, body, params);
export const put = (url: string, body?: string | null, params?: Params) => request('PUT', url, body, params);
export const patch = (url: string, body?: string | null, params?: Params) =>
  request('PATCH', url, body, params);
export const del = (url: string, body?: string | null, params?: Params) =>
  request('DELETE', url, body, params);

export function expectedStatuses(...statuses: (number | { min: number; max: number })[]): Expected {
  return {
    [EXPECTED]: (status: number) =>
      statuses.some((s) => (typeof s === 'number' ? s === status : status >= s.min && status <= s.max)),
  };
}

export default { request, get, post, put, patch, del, expectedStatuses };
