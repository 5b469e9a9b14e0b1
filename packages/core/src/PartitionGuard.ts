/**
 * The partition count belongs to the deployment, not to a process. A job lives in partition
 * `stableHash(partitionKey ?? jobId) % partitions`, so a process started with another
 * `EDDY_PARTITIONS` looks for jobs, idempotency keys and inboxes in other partitions than the
 * ones they are in: existing jobs would be stranded (a duplicate idempotency key makes a second
 * job, queued jobs sit in inboxes no worker of the new count reads as it should).
 *
 * So the first component that writes records the count in `<prefix>:meta` (HSETNX: whoever comes
 * first wins, atomically), and every later one compares: workers refuse to start, and producers,
 * the gateway and the CLI refuse to submit, with `PartitionCountMismatch`, before writing
 * anything. Changing the count is a procedure, not a restart (see the README, "How to choose the
 * number of partitions"): run the new count under a new `EDDY_PREFIX`, switch the producers to it,
 * and retire the old prefix once its workers have drained it.
 */
import { Effect, Schema } from "effect"
import { RedisClient, type RedisClientService, type RedisError } from "./RedisClient.js"
import { Settings } from "./Settings.js"
import type { Keyspace } from "./StreamKeys.js"

/** The field of `<prefix>:meta` that holds the deployment's partition count. */
export const partitionsField = "partitions"

/**
 * This process was configured with another partition count than the deployment under its prefix
 * was started with. Nothing was written: fix `EDDY_PARTITIONS`, or move to a new prefix.
 */
export class PartitionCountMismatch extends Schema.TaggedError<PartitionCountMismatch>()("PartitionCountMismatch", {
  prefix: Schema.String,
  /** What `<prefix>:meta` holds, as written there. */
  recorded: Schema.String,
  /** This process's `EDDY_PARTITIONS`. */
  configured: Schema.Number,
}) {
  override get message() {
    return (
      `EDDY_PARTITIONS is ${this.configured}, but the deployment under EDDY_PREFIX "${this.prefix}" was started ` +
      `with ${this.recorded} partition(s) (recorded in ${this.prefix}:meta): with another count, job ids map to ` +
      `other partitions and existing jobs would be stranded. Start this process with EDDY_PARTITIONS=${this.recorded}; ` +
      `to change the count, run the new one under a new EDDY_PREFIX, switch producers to it and retire "${this.prefix}" ` +
      `once its workers have drained it (README: "How to choose the number of partitions")`
    )
  }
}

/**
 * Records this process's partition count for its prefix if none is recorded yet, else checks it
 * against the recorded one. One round trip when it records, two when it compares.
 */
export const verify: Effect.Effect<void, PartitionCountMismatch | RedisError, RedisClient | Settings> = Effect.gen(
  function* () {
    const { keyspace } = yield* Settings
    const redis = yield* RedisClient
    const configured = String(keyspace.partitions)
    const recorded = yield* redis.run(async (connection) =>
      (await connection.hsetnx(keyspace.meta, partitionsField, configured)) === 1
        ? configured
        : await connection.hget(keyspace.meta, partitionsField),
    )
    // `null`: the record was deleted between the two calls (by hand, after a drain): nothing to compare.
    if (recorded !== null && recorded !== configured)
      return yield* new PartitionCountMismatch({
        prefix: keyspace.prefix,
        recorded,
        configured: keyspace.partitions,
      })
  },
)

// Counts verified per client: a submit asks Redis once per process, not once per job. A mismatch
// is not remembered, so every refused submit says so again (and a fixed record is seen).
const verified = new WeakMap<RedisClientService, Set<string>>()

const verifiedKey = (keyspace: Keyspace) => `${keyspace.prefix}|${keyspace.partitions}`

/** Whether `ensure` already verified this client's prefix and count: then it asks Redis nothing. */
export const isVerified = (redis: RedisClientService, keyspace: Keyspace): boolean =>
  verified.get(redis)?.has(verifiedKey(keyspace)) === true

/** `verify`, once per client, prefix and count: later calls succeed without asking Redis. */
export const ensure: Effect.Effect<void, PartitionCountMismatch | RedisError, RedisClient | Settings> = Effect.gen(
  function* () {
    const redis = yield* RedisClient
    const { keyspace } = yield* Settings
    if (isVerified(redis, keyspace)) return
    yield* verify
    const seen = verified.get(redis)
    if (seen === undefined) verified.set(redis, new Set([verifiedKey(keyspace)]))
    else seen.add(verifiedKey(keyspace))
  },
)
