/**
 * Test infrastructure shared by every service's tests, one module per concern:
 *
 * - `infra.ts`: where PostgreSQL and Redis are (`DATABASE_URL` / `REDIS_URL`, or testcontainers from
 *   `global-setup.ts`), unique names;
 * - `database.ts`: a database of its own per test file, built by the real migrations;
 * - `redis.ts`: Redis clients, key prefixes and their clearing, a cuttable Redis;
 * - `tcp-proxy.ts`: a TCP proxy a test can cut or freeze, free ports;
 * - `eventually.ts`: polling for what happens on its own time;
 * - `http.ts`: plain HTTP with JSON in and out;
 * - `shell.ts`: a PATH without some commands and with fakes, for spawned scripts;
 * - `fixture.ts`: scopes whose teardowns run last-in first-out, and the fixtures built on the above.
 */
export * from './database.ts';
export * from './eventually.ts';
export * from './fixture.ts';
export * from './http.ts';
export * from './infra.ts';
export * from './redis.ts';
export * from './shell.ts';
export * from './tcp-proxy.ts';
