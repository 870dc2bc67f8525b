/** The Redis connection and its failure rule, from `@authstack/redis` (shared with the resource service). */
export { createRedis, hashTag, type RedisClient, replicaWait, withRedis } from '@authstack/redis';
