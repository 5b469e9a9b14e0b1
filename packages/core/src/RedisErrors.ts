/**
 * The two ways a Redis call fails, and how an ioredis failure maps to them. Re-exported by
 * `RedisClient`, which is where callers take them from.
 */
import { Schema } from "effect"

/**
 * Redis could not be reached, or did not answer within the bound. Safe to retry later. When Redis
 * itself said why it refused the connection (`ERR max number of clients reached`, `NOAUTH …`,
 * `WRONGPASS …`, `LOADING …`), `redisSaid` holds its words, which the message also shows.
 */
export class RedisUnavailable extends Schema.TaggedError<RedisUnavailable>()("RedisUnavailable", {
  message: Schema.String,
  redisSaid: Schema.optional(Schema.String),
}) {}

/** Redis answered with an error (a bug or a misconfiguration, not an outage). */
export class RedisCommandFailed extends Schema.TaggedError<RedisCommandFailed>()("RedisCommandFailed", {
  message: Schema.String,
}) {}

export type RedisError = RedisUnavailable | RedisCommandFailed

// ioredis reports connection trouble as plain Errors; these messages mean "not reachable now".
// The cluster ones: no slot map yet, a master failing over (redirections run out while its slots
// have no owner), a slot that moved under a command sent to one node.
const unavailablePattern =
  /Stream isn't writeable|Connection is closed|max retries per request|Command aborted|Command timed out|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|Cluster isn't ready|Too many Cluster redirections|None of startup nodes|Failed to refresh slots cache|Node is disconnected|^MOVED |^ASK /
// What ioredis rejects in-flight commands with when their connection closes (with
// `maxRetriesPerRequest: 0`, every close): the command may or may not have run.
const unavailableNames = new Set(["MaxRetriesPerRequestError", "AbortError"])

/** Maps an ioredis failure to the typed error callers handle. */
export const classify = (error: unknown): RedisError => {
  const message = error instanceof Error ? error.message : String(error)
  return (error instanceof Error && unavailableNames.has(error.name)) || unavailablePattern.test(message)
    ? new RedisUnavailable({ message })
    : new RedisCommandFailed({ message })
}
