/**
 * @eddy/core — actor contracts, the event log, the job-lifecycle scripts, the Redis connection
 * and the producer SDK.
 */
export * as EddyConfig from "./EddyConfig.js"
export * as EmbeddedRedis from "./EmbeddedRedis.js"
export * as Logging from "./Logging.js"
export * as RedisClient from "./RedisClient.js"
