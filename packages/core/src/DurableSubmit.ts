/**
 * A submission as producers, the gateway and the CLI make it: the partition count checked
 * (`PartitionGuard`), the jobs written (`JobStore`), and, with `EDDY_SUBMIT_REPLICAS=n`, the
 * answer held until `WAIT n` confirms that n replicas have the write.
 *
 * Why: Redis replicates asynchronously, so a master that dies right after acknowledging a write
 * may take it along, and its promoted replica never heard of the job. `WAIT` on the connection
 * that wrote makes the acknowledgement mean "on n replicas too". It is one `WAIT` per call (per
 * master on a cluster), not one per job: a batch of 200 jobs waits once.
 *
 * When the replicas do not confirm within `EDDY_SUBMIT_REPLICAS_TIMEOUT`, the call fails with
 * `SubmitNotReplicated`: the jobs were written on the master and may well exist (and run), so
 * only a retry with the same job ids or idempotency keys is safe. Cost: a replication round
 * trip per call, and while a `WAIT` waits, the connection's later commands wait behind it (Redis
 * answers a connection's commands in order), so with the replicas gone every command of the
 * process stalls up to the timeout; the timeout is kept below half the Redis bound for that.
 */
import { Duration, Effect, Schema } from "effect"
import * as JobStore from "./JobStore.js"
import * as PartitionGuard from "./PartitionGuard.js"
import { RedisClient, type RedisError } from "./RedisClient.js"
import { Settings } from "./Settings.js"

/**
 * Fewer replicas than `EDDY_SUBMIT_REPLICAS` confirmed the submission within the timeout. The
 * jobs were written on the master and may exist: retrying with the same job ids or idempotency
 * keys is safe (a duplicate is answered as such), retrying without them may submit twice.
 */
export class SubmitNotReplicated extends Schema.TaggedError<SubmitNotReplicated>()("SubmitNotReplicated", {
  /** The jobs whose write was not confirmed. */
  jobIds: Schema.Array(Schema.String),
  /** Replicas asked for (`EDDY_SUBMIT_REPLICAS`). */
  replicas: Schema.Number,
  /** Replicas that confirmed (the least over the masters written to). */
  confirmed: Schema.Number,
  timeoutMs: Schema.Number,
}) {
  override get message() {
    const jobs =
      this.jobIds.length === 1 ? `job ${this.jobIds[0]}` : `${this.jobIds.length} jobs (${this.jobIds[0]}, …)`
    return (
      `${jobs} written, but only ${this.confirmed} of ${this.replicas} replica(s) confirmed it within ` +
      `${this.timeoutMs} ms (EDDY_SUBMIT_REPLICAS): the job may exist and run, yet a failover now could lose it; ` +
      `retrying with the same idempotency key or job id is safe`
    )
  }
}

/** What a submission can fail with once its input was accepted. */
export type SubmitFailure = RedisError | SubmitNotReplicated | PartitionGuard.PartitionCountMismatch

/** A job to be written: its id and the partition key it is placed by. */
export type Written = Pick<JobStore.SubmitRequest, "jobId" | "partitionKey">

/** Where jobs were written: each job's partition (its route) and the master holding it then. */
export type Placement = ReadonlyArray<{ readonly jobId: string; readonly route: string; readonly node: string }>

/**
 * The masters the jobs are about to be written to, taken before writing (empty when
 * `EDDY_SUBMIT_REPLICAS` is 0): `confirm` then knows if a slot moved in between.
 */
export const place = (written: ReadonlyArray<Written>): Effect.Effect<Placement, never, RedisClient | Settings> =>
  Effect.gen(function* () {
    const { submitReplicas, keyspace } = yield* Settings
    if (submitReplicas === 0) return []
    const redis = yield* RedisClient
    return written.map((job) => {
      const route = keyspace.partitionOf(job.jobId, job.partitionKey).jobs
      return { jobId: job.jobId, route, node: redis.nodeOf(route) }
    })
  })

/**
 * Waits until `EDDY_SUBMIT_REPLICAS` replicas have what this process wrote to the placed jobs'
 * partitions: one `WAIT` per master holding them, on the connection that wrote. Does nothing when
 * the setting is 0 or nothing was written. A job whose slot moved to another master since it was
 * placed (a failover) counts as unconfirmed without asking: a WAIT on the new master would only
 * vouch for what that master has.
 */
export const confirm = (
  placement: Placement,
): Effect.Effect<void, RedisError | SubmitNotReplicated, RedisClient | Settings> =>
  Effect.gen(function* () {
    const { submitReplicas, submitReplicasTimeout } = yield* Settings
    if (submitReplicas === 0 || placement.length === 0) return
    const redis = yield* RedisClient
    // Below the Redis bound, so that the WAIT's own answer ("not enough") comes before the
    // client gives up on it ("unavailable"), which would say less.
    const timeoutMs = Math.max(
      1,
      Math.round(Math.min(Duration.toMillis(submitReplicasTimeout), Duration.toMillis(redis.timeout) / 2)),
    )
    // One WAIT per master written to (one server: one), routed by one of the partitions it holds.
    const byNode = new Map<string, { readonly route: string; readonly jobIds: Array<string> }>()
    const moved: Array<string> = []
    for (const job of placement) {
      if (redis.nodeOf(job.route) !== job.node) {
        moved.push(job.jobId)
        continue
      }
      const group = byNode.get(job.node)
      if (group === undefined) byNode.set(job.node, { route: job.route, jobIds: [job.jobId] })
      else group.jobIds.push(job.jobId)
    }
    const answers = yield* Effect.forEach(
      byNode.values(),
      (group) =>
        Effect.map(redis.waitForReplicas(group.route, submitReplicas, timeoutMs), (confirmed) => ({
          ...group,
          confirmed,
        })),
      { concurrency: "unbounded" },
    )
    const short = [
      ...answers.filter((answer) => answer.confirmed < submitReplicas),
      ...(moved.length === 0 ? [] : [{ jobIds: moved, confirmed: 0 }]),
    ]
    if (short.length > 0)
      return yield* new SubmitNotReplicated({
        jobIds: short.flatMap((answer) => answer.jobIds),
        replicas: submitReplicas,
        confirmed: Math.min(...short.map((answer) => answer.confirmed)),
        timeoutMs,
      })
  })

/** Submits one job: checks the partition count, writes, and waits for the replicas asked for. */
export const submit = (
  request: JobStore.SubmitRequest,
): Effect.Effect<JobStore.SubmitResult, SubmitFailure, RedisClient | Settings> =>
  Effect.gen(function* () {
    yield* PartitionGuard.ensure
    const placement = yield* place([request])
    const result = yield* JobStore.submit(request)
    yield* confirm(placement)
    return result
  })

/** Submits many jobs (`JobStore.submitMany`), then waits for the replicas once. */
export const submitMany = (
  requests: ReadonlyArray<JobStore.SubmitRequest>,
): Effect.Effect<ReadonlyArray<JobStore.SubmitResult>, SubmitFailure, RedisClient | Settings> =>
  Effect.gen(function* () {
    yield* PartitionGuard.ensure
    const placement = yield* place(requests)
    const results = yield* JobStore.submitMany(requests)
    yield* confirm(placement)
    return results
  })
