/**
 * Login and register under overload, refused before their body is read. When admission control would shed the
 * request whatever its account (its client address's share or the budget is full: `Admission.shedEarly`), it is
 * answered here, ahead of the request log, the JSON body parser and routing: the same 503 `overloaded` problem, with
 * the same headers (`Retry-After`, `X-Request-Id`, the problem's content type) as a shed answered by the route, built
 * from a body prepared once. It is counted as every shed is (`auth_bcrypt_shed_total`, `auth_login_total` for a
 * login, `http_request_duration_seconds`: the metrics middleware runs before this), and logged in aggregate: one line
 * per window with the number shed and why, not a line per refusal. The answer waits `plan.shedDelayMs` (batched
 * by one timer, each its full delay), so a client that sends again as soon as it is answered comes back no faster than slots free.
 * Why: docs/security-model.md, "Admission control".
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { PROBLEM_CONTENT_TYPE, problemBody } from '@authstack/http-problem';
import { type Logger, requestIdFor } from '@authstack/telemetry';
import type { RequestHandler } from 'express';
import type { Admission, AdmissionOp, ShedReason } from '../domain/admission.ts';
import type { Observe } from '../domain/deps.ts';
import { overloaded } from '../domain/errors.ts';
import { parseClientAddress } from '../domain/request-meta.ts';

/** How often the aggregate line of early sheds is written while requests are shed. */
export const SHED_LOG_WINDOW_MS = 10_000;

/** The problem body of `overloaded` up to its request id, which is the last member. */
function bodyPrefix(retryAfterSec: number): string {
  const whole = JSON.stringify(problemBody(overloaded(retryAfterSec), undefined));
  return `${whole.slice(0, -1)},"request_id":`;
}

/** Express's weak ETag of a body (what `res.send` adds to every answer, so this one carries it too). */
const weakEtag = (body: Buffer) =>
  `W/"${body.length.toString(16)}-${createHash('sha1').update(body).digest('base64').slice(0, 27)}"`;

export function earlyShed(
  op: AdmissionOp,
  deps: { admission: Admission; observe?: Observe | undefined; logger: Logger },
): RequestHandler {
  const { plan } = deps.admission;
  const prefix = bodyPrefix(plan.retryAfterSec);
  const retryAfter = String(plan.retryAfterSec);
  const contentType = `${PROBLEM_CONTENT_TYPE}; charset=utf-8`;

  // Answers waiting out the shed delay, in the order they are due (each its full delay), sent by one timer: when it
  // fires it ends every answer that is due and is set again for the next one.
  const waiting: { due: number; res: ServerResponse; body: Buffer }[] = [];
  let armed = false;
  const flush = () => {
    armed = false;
    const now = Date.now();
    let done = 0;
    while (done < waiting.length && waiting[done]!.due <= now) {
      const { res, body } = waiting[done]!;
      if (!res.destroyed) res.end(body);
      done++;
    }
    waiting.splice(0, done);
    if (waiting.length > 0) {
      armed = true;
      setTimeout(flush, Math.max(1, waiting[0]!.due - now));
    }
  };

  // The aggregate log line: sheds per reason in the current window.
  let counted: Partial<Record<ShedReason, number>> | undefined;
  const count = (reason: ShedReason) => {
    if (!counted) {
      counted = {};
      setTimeout(() => {
        deps.logger.warn(
          { op, shed: counted, window_s: SHED_LOG_WINDOW_MS / 1000 },
          'requests shed before their body was read (503 overloaded)',
        );
        counted = undefined;
      }, SHED_LOG_WINDOW_MS).unref();
    }
    counted[reason] = (counted[reason] ?? 0) + 1;
  };

  return (req, res, next) => {
    // An address that is not one is refused by the route (400 client_address_unknown), as before.
    const ip = parseClientAddress(req.ip);
    const reason = ip === undefined ? undefined : deps.admission.shedEarly(op, ip);
    if (!reason) {
      next();
      return;
    }
    if (op === 'login') deps.observe?.login?.('overloaded');
    count(reason);
    const id = requestIdFor(req);
    // The id is a UUID or matched [A-Za-z0-9._-]{8,128}: nothing in it needs escaping.
    const body = Buffer.from(`${prefix}"${id}"}`);
    res.writeHead(503, {
      'X-Request-Id': id,
      'Retry-After': retryAfter,
      'Content-Type': contentType,
      'Content-Length': String(body.length),
      ETag: weakEtag(body),
    });
    // The body is not read: keep the connection usable by draining what the client sends.
    req.resume();
    if (plan.shedDelayMs <= 0) {
      res.end(body);
      return;
    }
    waiting.push({ due: Date.now() + plan.shedDelayMs, res, body });
    if (!armed) {
      armed = true;
      setTimeout(flush, plan.shedDelayMs);
    }
  };
}
