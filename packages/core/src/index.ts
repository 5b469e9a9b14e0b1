/**
 * @eddy/core — actor contracts, the event log, the job-lifecycle scripts, the Redis connection
 * and the producer SDK.
 */
export * as Actor from "./Actor.js"
export * as Deliveries from "./Deliveries.js"
export * as EddyClient from "./EddyClient.js"
export * as EddyConfig from "./EddyConfig.js"
export * as EmbeddedRedis from "./EmbeddedRedis.js"
export * as EventTailer from "./EventTailer.js"
export * as JobErrors from "./JobErrors.js"
export * as JobEvent from "./JobEvent.js"
export * as JobId from "./JobId.js"
export * as JobStatus from "./JobStatus.js"
export * as JobStore from "./JobStore.js"
export * as Logging from "./Logging.js"
export * as Producer from "./Producer.js"
export * as RateLimiter from "./RateLimiter.js"
export * as RedisClient from "./RedisClient.js"
export * as ScriptOutcome from "./ScriptOutcome.js"
export * as Scripts from "./Scripts.js"
export * as Settings from "./Settings.js"
export * as StreamKeys from "./StreamKeys.js"
export * as WorkerPresence from "./WorkerPresence.js"
