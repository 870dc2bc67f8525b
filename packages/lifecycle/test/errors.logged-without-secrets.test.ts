/**
 * A 5xx is logged at error with its cause, and a cause can carry what a client sent: ioredis puts the refused
 * command's arguments on the error (`err.command.args`: a script's ARGV, which can hold a minted access token),
 * an aborted MULTI keeps each refused command's error (`previousErrors`), and PostgreSQL quotes row values in an
 * error's `detail` ("Failing row contains (...)", "Key (username)=(...)"). Provoked for real here, against the
 * test Redis and PostgreSQL, and logged through the services' own logger and error routes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createLogger, httpLogger } from '@authstack/telemetry';
import { infraUrls, type JsonResponse, suiteScope, useRedisClient, useRedisPrefix } from '@authstack/testing';
import express from 'express';
import pg from 'pg';
import { errorRoutes, type Listening, listen } from '../src/index.ts';

describe('errors are logged without the secrets their fields carry', () => {
  const scope = suiteScope();
  const redis = useRedisClient(scope);
  const prefix = useRedisPrefix(scope);
  const lines: string[] = [];
  const secret = `eyJ-${randomBytes(24).toString('hex')}`;
  const db = new pg.Client({ connectionString: infraUrls().databaseUrl });
  let running: Listening;

  before(async () => {
    await db.connect();
    await db.query('CREATE TEMPORARY TABLE refused_rows (value text NOT NULL CHECK (length(value) < 8))');
    await redis.set(`${prefix}a-string`, 'not a hash', 'EX', 600);
    const logger = createLogger({
      service: 'errors-test',
      level: 'info',
      destination: { write: (line: string) => void lines.push(line) },
    });
    const app = express();
    app.use(httpLogger(logger));
    // The minted-token cache's shape: the token is a script argument; the key holds the wrong type, so Redis refuses.
    app.get('/redis-script', async () => {
      await redis.eval("return redis.call('HSET', KEYS[1], 'at', ARGV[1])", 1, `${prefix}a-string`, secret);
    });
    // A transaction Redis refuses as a whole: the refused command's error, with its arguments, rides along.
    app.get('/redis-multi', async () => {
      await redis
        .multi()
        .set(`${prefix}a-string`, 'not a hash')
        .call('get', `${prefix}a-string`, secret)
        .exec();
    });
    app.get('/postgres', async () => {
      await db.query('INSERT INTO refused_rows (value) VALUES ($1)', [secret]);
    });
    errorRoutes(app, logger);
    running = await listen(
      app,
      { logger, markShuttingDown() {}, async close() {} },
      { port: 0, host: '127.0.0.1', shutdownTimeoutSec: 1 },
    );
  });
  after(async () => {
    await running.stop();
    await db.end();
  });

  async function failedRequest(
    path: string,
  ): Promise<{ res: JsonResponse; logged: Record<string, unknown> }> {
    lines.length = 0;
    const res = await fetch(`${running.url}${path}`);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 500);
    assert.equal(body.code, 'internal_error');
    const logged = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.level === 'error' && line.code === 'internal_error');
    assert.ok(logged, 'the failure is logged at error');
    assert.ok(!lines.join('\n').includes(secret), 'no log line holds the secret');
    return { res: { status: res.status, headers: res.headers, body }, logged };
  }

  it('when Redis refuses a script whose arguments hold a token, then the log names the command, not its arguments', async () => {
    const { logged } = await failedRequest('/redis-script');
    const err = logged.err as { message: string; command: { name: string; args: unknown } };
    assert.match(err.message, /WRONGTYPE/, 'what Redis said stays');
    assert.equal(err.command.name, 'eval', 'which command stays');
    assert.equal(err.command.args, '[redacted]');
  });

  it('when Redis aborts a transaction, then the errors of its refused commands are logged without their arguments', async () => {
    const { logged } = await failedRequest('/redis-multi');
    const err = logged.err as {
      message: string;
      previousErrors: { command: { name: string; args: unknown } }[];
    };
    assert.match(err.message, /EXECABORT/);
    assert.ok(err.previousErrors.length > 0, 'the refused commands are still named');
    for (const previous of err.previousErrors) assert.equal(previous.command.args, '[redacted]');
  });

  it('when PostgreSQL refuses a row, then the log keeps the constraint and the code, not the row values', async () => {
    const { logged } = await failedRequest('/postgres');
    const err = logged.err as { type: string; code: string; constraint: string; detail: unknown };
    assert.equal(err.type, 'DatabaseError');
    assert.equal(err.code, '23514');
    assert.equal(err.constraint, 'refused_rows_value_check');
    assert.equal(err.detail, '[redacted]');
  });
});
