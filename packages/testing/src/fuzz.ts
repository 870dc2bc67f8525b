/**
 * Property-based HTTP testing (fast-check): generated bodies, headers, query strings and path parameters
 * thrown at one endpoint of a running service, asserting the error contract — never a 5xx, and every 4xx an
 * RFC 9457 `application/problem+json` body with a `code`.
 *
 * Runs are reproducible: each endpoint has a fixed seed (from its name), and a bounded number of runs
 * (`FUZZ_RUNS`, default 100). A failure is shrunk to a small counterexample and reported with its seed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';

export interface Endpoint {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';
  /** Path with `:name` parameters, e.g. `/auth/sessions/:id`. */
  path: string;
  /** Query keys the endpoint knows, so generated queries hit them as well as unknown ones. */
  queryKeys?: string[];
  /** Field names the endpoint's body knows, so generated bodies hit them with arbitrary values. */
  bodyFields?: string[];
  /** Bodies that should succeed (or nearly), so a share of requests reaches the code behind validation. */
  examples?: fc.Arbitrary<Record<string, unknown>>;
}

export interface FuzzTarget {
  baseUrl: string;
  /** Authorization header values to choose from (valid tokens of several roles, forged ones...). */
  authorizations: fc.Arbitrary<string>;
  /** Values a path parameter may take besides generated ones (ids that exist). */
  knownIds?: string[];
}

export interface GeneratedRequest {
  method: string;
  path: string;
  query: [string, string][];
  headers: Record<string, string>;
  body: string | undefined;
}

/** Printable ASCII: what an HTTP client can put in a header value. */
const headerText = (maxLength = 40) => fc.string({ unit: 'grapheme-ascii', maxLength });

const ipv6 = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
  .map((words) => words.map((word) => word.toString(16)).join(':'));

const forwardedFor = fc.oneof(
  fc.ipV4(),
  ipv6,
  fc.constantFrom('unknown', '', ' ', '::ffff:127.0.0.1', '127.0.0.1, 10.0.0.1', '1.2.3', '[::1]', '_hidden'),
  headerText(),
  fc.array(fc.oneof(fc.ipV4(), ipv6, headerText(10)), { maxLength: 4 }).map((list) => list.join(', ')),
);

/** Mostly the JSON the endpoints expect (so requests get past the parser), sometimes anything else. */
const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'application/JSON',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/problem+json',
      '*/*',
      '',
    ),
  },
  { weight: 1, arbitrary: headerText() },
);

/** JSON-ish values, including the awkward ones (deep nesting, huge numbers, `__proto__`). */
const awkwardValue: fc.Arbitrary<unknown> = fc.oneof(
  // plausible values, so some requests succeed and reach deeper code
  fc.stringMatching(/^[a-z][a-z0-9._-]{2,20}$/),
  fc.constantFrom('correct horse battery staple', 'password', 'user', 'admin', false),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    null,
    '',
    ' ',
    '\u0000',
    'a'.repeat(2000),
    -1,
    0,
    1e308,
    Number.MAX_SAFE_INTEGER + 2,
    true,
    [],
    {},
    ['admin'],
    ['user', 'admin', 'root'],
    '00000000-0000-0000-0000-000000000000',
  ),
  fc.string({ maxLength: 100 }),
);

function bodies(
  fields: string[],
  examples?: fc.Arbitrary<Record<string, unknown>>,
): fc.Arbitrary<string | undefined> {
  const shaped =
    fields.length > 0
      ? fc
          .dictionary(fc.constantFrom(...fields), awkwardValue, { maxKeys: fields.length })
          .map((o) => JSON.stringify(o))
      : fc.constant('{}');
  return fc.oneof(
    ...(examples ? [{ weight: 3, arbitrary: examples.map((o) => JSON.stringify(o)) }] : []),
    { weight: 4, arbitrary: shaped },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        '{',
        '{"__proto__": {"polluted": true}}',
        '{"constructor": {"prototype": {"polluted": true}}}',
        `{"a":${'['.repeat(5000)}`,
        `"${'x'.repeat(40_000)}"`,
        '\ufeff{}',
        'null',
        '[]',
      ),
    },
  );
}

function queries(keys: string[]): fc.Arbitrary<[string, string][]> {
  const key = fc.oneof(
    { weight: 3, arbitrary: keys.length > 0 ? fc.constantFrom(...keys) : headerText(10) },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'a[b]', 'a[]', '') },
    { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
  );
  const value = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        '',
        '0',
        '-1',
        '1',
        '100',
        '101',
        '1e3',
        '1.5',
        'NaN',
        'abc',
        'AAAA',
        'null',
        '%',
        '%zz',
      ),
    },
    { weight: 1, arbitrary: fc.uuid().map(String) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
    { weight: 1, arbitrary: fc.base64String({ maxLength: 60 }) },
  );
  return fc.array(fc.tuple(key, value), { maxLength: 5 });
}

function pathParameter(knownIds: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.uuid().map(String),
    fc.string({ minLength: 1, maxLength: 40 }).map(encodeURIComponent),
    // raw, not encoded: malformed escapes, traversal, encoded slashes and NULs
    fc.constantFrom('%', '%zz', '%E0%A4%A', '%00', '..', '%2e%2e', '%2F', 'a%2Fb', '%C0%AF', ' ', '%20'),
    ...(knownIds.length > 0 ? [fc.constantFrom(...knownIds)] : []),
  );
}

/** `arbitrary`'s value with the given probability, else `null` (the header is left out). */
function sometimes<T>(arbitrary: fc.Arbitrary<T>, probability: number): fc.Arbitrary<T | null> {
  const weight = Math.round(probability * 100);
  return fc.oneof({ weight: 100 - weight, arbitrary: fc.constant(null) }, { weight, arbitrary });
}

export function requests(endpoint: Endpoint, target: FuzzTarget): fc.Arbitrary<GeneratedRequest> {
  const params = [...endpoint.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]!);
  const withBody = endpoint.method !== 'GET';
  return fc
    .record({
      params: fc.tuple(...params.map(() => pathParameter(target.knownIds ?? []))),
      query: queries(endpoint.queryKeys ?? []),
      body: withBody ? bodies(endpoint.bodyFields ?? [], endpoint.examples) : fc.constant(undefined),
      contentType: sometimes(contentType, 0.95), // absent: application/json when there is a body
      contentEncoding: sometimes(fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-bogus'), 0.1),
      authorization: sometimes(
        fc.oneof(
          { weight: 8, arbitrary: target.authorizations },
          { weight: 1, arbitrary: headerText(80) },
          {
            weight: 1,
            arbitrary: fc.constantFrom('Bearer', 'Bearer ', 'Basic YTpi', 'bearer a.b.c', 'Bearer ..'),
          },
        ),
        0.9,
      ),
      forwardedFor: sometimes(forwardedFor, 0.25),
      requestId: sometimes(headerText(140), 0.3),
      cookie: sometimes(headerText(), 0.2),
      extra: fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,12}$/), headerText(), { maxKeys: 2 }),
    })
    .map((g) => {
      let i = 0;
      const path = endpoint.path.replace(/:([A-Za-z_]+)/g, () => g.params[i++] ?? '');
      const headers: Record<string, string> = { ...g.extra };
      if (g.contentType !== null) headers['content-type'] = g.contentType;
      else if (g.body !== undefined) headers['content-type'] = 'application/json';
      if (g.contentEncoding !== null) headers['content-encoding'] = g.contentEncoding;
      if (g.authorization !== null) headers.authorization = g.authorization;
      if (g.forwardedFor !== null) headers['x-forwarded-for'] = g.forwardedFor;
      if (g.requestId !== null) headers['x-request-id'] = g.requestId;
      if (g.cookie !== null) headers.cookie = g.cookie;
      return { method: endpoint.method, path, query: g.query, headers, body: g.body };
    });
}

/** Build the URL by hand: generated path segments stay exactly as generated (malformed escapes included). */
function urlOf(baseUrl: string, request: GeneratedRequest): string {
  const query = request.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  return `${baseUrl}${request.path}${query ? `?${query}` : ''}`;
}

/** The contract every response must keep, whatever the request. */
export async function assertErrorContract(response: Response, label: string): Promise<void> {
  const text = await response.text();
  assert.ok(response.status < 500, `${label}: ${response.status} ${text.slice(0, 300)}`);
  if (response.status < 400) return;
  assert.match(
    response.headers.get('content-type') ?? '',
    /^application\/problem\+json/,
    `${label}: ${response.status} is not problem+json: ${text.slice(0, 200)}`,
  );
  const body = JSON.parse(text) as { code?: unknown; status?: unknown };
  assert.equal(typeof body.code, 'string', `${label}: no code in ${text.slice(0, 200)}`);
  assert.ok((body.code as string).length > 0, label);
  assert.equal(body.status, response.status, label);
}

const seedOf = (name: string) => createHash('sha256').update(name).digest().readInt32BE(0);

export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 100);

/**
 * Throw `FUZZ_RUNS` generated requests at one endpoint; fails with the shrunk counterexample. Returns how often
 * each status was seen, so a test can check the requests got past authentication to the handler at all.
 */
export async function fuzzEndpoint(
  endpoint: Endpoint,
  target: FuzzTarget,
  numRuns = FUZZ_RUNS,
): Promise<Map<number, number>> {
  const name = `${endpoint.method} ${endpoint.path}`;
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(requests(endpoint, target), async (request) => {
      const response = await fetch(urlOf(target.baseUrl, request), {
        method: request.method,
        headers: request.headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
        redirect: 'manual',
      });
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      await assertErrorContract(response, `${request.method} ${urlOf('', request)}`);
    }),
    { numRuns, seed: seedOf(name), endOnFailure: false },
  );
  return statuses;
}

/** Did any response get past authentication and authorisation (a status other than 401 and 403)? */
export const reachedHandler = (statuses: Map<number, number>) =>
  [...statuses.keys()].some((status) => status !== 401 && status !== 403);
