/** The Redis connection and its failure rule, from `@authstack/redis` (shared with the resource service). */
export { createRedis, replicaWait, withRedis } from '@authstack/redis';
