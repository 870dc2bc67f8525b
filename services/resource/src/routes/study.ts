/**
 * The study console's two endpoints (docs/console.md). Neither authorises anything.
 *
 * `POST /api/explain {token, at?, audience?}`: the verifier's own pipeline run step by step on any token
 * (`Verifier.explain`), answered 200 whether the token is good or not; rate-limited per client (`clientBucket`: an
 * IPv6 client per /64), in process.
 * `GET /api/stats`: the verification results and the verified-token cache of this instance, as a small JSON
 * summary, so the console never needs `/metrics` (which the gateway does not route).
 */
import { clientBucket } from '@authstack/config';
import { ExplainRequest } from '@authstack/contract';
import { HttpProblem, requireJsonBody } from '@authstack/http-problem';
import type { Verifier } from '@authstack/verifier';
import express, { type Express, type RequestHandler } from 'express';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface StudyDeps {
  verifier: Verifier;
  verifyMode: 'stateless' | 'session';
  /** Verification results counted so far: `valid` or the refusal's code. */
  results: () => Record<string, number>;
  /** Session mode only: the Redis session checks after a good verification, `alive` or `revoked`. */
  sessionChecks: () => Record<string, number>;
  /** Explanations per client (an IPv4 address, an IPv6 /64) per minute. */
  explainPerMinute: number;
}

/** `{token, at?, audience?}`: the contract's schema (the OpenAPI document is generated from it). */
const explainBody = ExplainRequest;

const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};

export function studyRoutes(app: Express, deps: StudyDeps): void {
  const limiter = new RateLimiterMemory({ points: deps.explainPerMinute, duration: 60 });

  const limitExplain: RequestHandler = async (req, res, next) => {
    try {
      // Per client as every per-address limit counts one: an IPv6 client per /64.
      await limiter.consume(clientBucket(req.ip ?? 'unknown'));
      next();
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) return next(refusal);
      const retryAfter = String(Math.max(1, Math.ceil(refusal.msBeforeNext / 1000)));
      res.set('Retry-After', retryAfter);
      next(
        new HttpProblem({
          status: 429,
          code: 'too_many_requests',
          title: 'Too many requests',
          detail: `At most ${deps.explainPerMinute} explanations a minute; retry in ${retryAfter} s.`,
        }),
      );
    }
  };

  app.post(
    '/api/explain',
    limitExplain,
    requireJsonBody,
    express.json({ limit: '16kb', strict: true, type: 'application/json' }),
    noStore,
    async (req, res, next) => {
      const parsed = explainBody.safeParse(req.body);
      if (!parsed.success) {
        next(
          new HttpProblem({
            status: 400,
            code: 'invalid_input',
            title: 'Invalid input',
            detail: 'Send {"token": "<JWT>"} with optional "at" (seconds) and "audience".',
            extra: {
              errors: parsed.error.issues.map((issue) => ({
                field: issue.path.join('.') || '(body)',
                message: issue.message,
              })),
            },
          }),
        );
        return;
      }
      try {
        const { token, at, audience } = parsed.data;
        const explanation = await deps.verifier.explain(token, {
          ...(at !== undefined ? { at } : {}),
          ...(audience !== undefined ? { audience } : {}),
        });
        res.json({ status: 'success', mode: deps.verifyMode, explanation });
      } catch (error) {
        next(error);
      }
    },
  );

  app.get('/api/stats', noStore, (_req, res) => {
    const { cacheHits, cacheMisses, cacheSize } = deps.verifier.stats();
    const lookups = cacheHits + cacheMisses;
    res.json({
      status: 'success',
      mode: deps.verifyMode,
      verifications: deps.results(),
      ...(deps.verifyMode === 'session' ? { session_checks: deps.sessionChecks() } : {}),
      cache: {
        hits: cacheHits,
        misses: cacheMisses,
        size: cacheSize,
        hit_ratio: lookups === 0 ? null : cacheHits / lookups,
      },
    });
  });
}
