/**
 * RFC 9457 problem details for express services.
 *
 * One small error type (`HttpProblem`) with a stable machine `code`, an HTTP status and an
 * optional list of reasons. `problemHandler()` turns anything thrown into
 * `application/problem+json`; errors that are not `HttpProblem` answer a generic 500 and
 * nothing internal (stack, SQL, library message) reaches the client.
 */
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';

export { CONNECTION_ERROR_CODES, hasConnectionErrorCode } from './unreachable.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const TYPE_BASE = 'https://authstack.dev/problems/';

export interface ProblemInit {
  status: number;
  code: string;
  title: string;
  detail?: string;
  /** Extra members for the problem body (e.g. `reasons`). Never put secrets here. */
  extra?: Record<string, unknown>;
  /** Headers to send with the problem (e.g. `WWW-Authenticate`, `Retry-After`). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class HttpProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(init: ProblemInit) {
    super(init.detail ?? init.title, { cause: init.cause });
    this.name = 'HttpProblem';
    this.status = init.status;
    this.code = init.code;
    this.title = init.title;
    this.detail = init.detail ?? init.title;
    this.extra = init.extra ?? {};
    this.headers = init.headers ?? {};
  }
}

export function isHttpProblem(err: unknown): err is HttpProblem {
  return err instanceof HttpProblem;
}

/** A dependency (database, cache, key set) cannot be reached: 503, never 401 or 500. */
export function serviceUnavailable(dependency: string, cause?: unknown): HttpProblem {
  return new HttpProblem({
    status: 503,
    code: 'service_unavailable',
    title: 'Service unavailable',
    detail: 'A backing service is unavailable; try again shortly.',
    headers: { 'Retry-After': '5' },
    cause: cause ?? new Error(`${dependency} unavailable`),
  });
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  request_id?: string;
  [member: string]: unknown;
}

/** The RFC 9457 body of `problem`: what `sendProblem` writes, and what the gateway's own answers repeat. */
export function problemBody(problem: HttpProblem, requestId: string | undefined): ProblemBody {
  return {
    ...problem.extra,
    type: TYPE_BASE + problem.code,
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    code: problem.code,
    request_id: requestId,
  };
}

export function sendProblem(res: Response, problem: HttpProblem, requestId: string | undefined): void {
  const body = problemBody(problem, requestId);
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}

/** Errors thrown by express's body parser (`type` set by raw-body / body-parser). */
function fromBodyParser(err: { type?: unknown; status?: unknown }): HttpProblem | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new HttpProblem({ status: 400, code: 'malformed_json', title: 'Malformed JSON body' });
    case 'entity.too.large':
      return payloadTooLarge();
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpProblem({
        status: 415,
        code: 'unsupported_encoding',
        title: 'Unsupported body encoding',
      });
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new HttpProblem({ status: 400, code: 'bad_request', title: 'Bad request body' });
    default:
      // Client errors the framework raises without a `type`: the body parser's (status 400) for a body whose
      // Content-Encoding does not match its bytes, which carries zlib's numeric `errno`; and the router's URIError
      // (status 400) for a path parameter with a malformed %-escape. Any other half-exposed error stays a 500.
      if (
        err.status === 400 &&
        (err instanceof URIError ||
          ((err as { expose?: unknown }).expose === true &&
            typeof (err as { errno?: unknown }).errno === 'number'))
      ) {
        return new HttpProblem({ status: 400, code: 'bad_request', title: 'Bad request', cause: err });
      }
      return undefined;
  }
}

export interface ProblemHandlerOptions {
  /** Called for every problem; 5xx should be logged at error with the cause. */
  log?: (problem: HttpProblem, original: unknown, req: Parameters<RequestHandler>[0]) => void;
  requestId: (req: Parameters<RequestHandler>[0]) => string | undefined;
}

/**
 * Errors from other packages (e.g. the token verifier) that mark themselves safe to show:
 * `{ expose: true, status, code, title }`.
 */
interface ExposableError {
  expose: true;
  status: number;
  code: string;
  title: string;
}

function isExposable(err: object): err is ExposableError {
  const e = err as Partial<ExposableError>;
  return (
    e.expose === true &&
    typeof e.status === 'number' &&
    typeof e.code === 'string' &&
    typeof e.title === 'string'
  );
}

export function toProblem(err: unknown): HttpProblem {
  if (isHttpProblem(err)) return err;
  if (err && typeof err === 'object') {
    if (isExposable(err)) {
      return new HttpProblem({ status: err.status, code: err.code, title: err.title, cause: err });
    }
    const parsed = fromBodyParser(err as { type?: unknown });
    if (parsed) return parsed;
  }
  return new HttpProblem({
    status: 500,
    code: 'internal_error',
    title: 'Internal server error',
    detail: 'An unexpected error occurred.',
    cause: err,
  });
}

export function problemHandler(options: ProblemHandlerOptions): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const problem = toProblem(err);
    options.log?.(problem, err, req);
    sendProblem(res, problem, options.requestId(req));
  };
}

/** No route answers this method and path. */
export const routeNotFound = () => new HttpProblem({ status: 404, code: 'not_found', title: 'Not found' });

/** The request body is larger than the route accepts. */
export const payloadTooLarge = () =>
  new HttpProblem({ status: 413, code: 'payload_too_large', title: 'Request body too large' });

export const notFound: RequestHandler = (_req, _res, next) => {
  next(routeNotFound());
};

/** Requests with a body must send JSON: anything else is 415 before the body is read. */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  const hasBody =
    req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is('application/json')) {
    next(
      new HttpProblem({
        status: 415,
        code: 'unsupported_media_type',
        title: 'Unsupported media type',
        detail: 'Send the request body as application/json.',
      }),
    );
    return;
  }
  next();
};
