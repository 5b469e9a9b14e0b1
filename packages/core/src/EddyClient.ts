/**
 * The Promise facade of the producer SDK for plain async code: the same implementation as
 * `Producer`, run on a `ManagedRuntime`. Failures reject with the same typed errors
 * (`InvalidInput`, `JobDeadLettered`, `ResultTimeout`, …), each with its `_tag`.
 *
 * ```ts
 * const eddy = await EddyClient.connect({ url: "redis://127.0.0.1:6379" })
 * const { jobId } = await eddy.submit(ParsePosting, { html })
 * const posting = await eddy.resultOf(ParsePosting, jobId, { timeout: "30 seconds" })
 * await eddy.close()
 * ```
 */
import { Cause, type Duration, Effect, Either, Exit, Layer, ManagedRuntime, Redacted, Schema, Stream } from "effect"
import type * as Actor from "./Actor.js"
import * as EddyConfig from "./EddyConfig.js"
import type * as JobEvent from "./JobEvent.js"
import type * as JobStatus from "./JobStatus.js"
import * as Logging from "./Logging.js"
import * as PartitionGuard from "./PartitionGuard.js"
import * as Producer from "./Producer.js"
import * as RedisClient from "./RedisClient.js"
import * as Settings from "./Settings.js"

/** Where and how to connect. Unset fields come from `EDDY_*` variables and their defaults. */
export interface ConnectOptions {
  /** `redis://…`; default `EDDY_REDIS_URL` (or `EDDY_REDIS_CLUSTER`). */
  readonly url?: string
  /**
   * A Redis Cluster's seed nodes instead of `url`: each `host:port`, or
   * `redis://[user:password@]host:port` (`rediss://` for TLS); credentials and TLS written on one
   * entry apply to every node (see `EddyConfig.parseCluster`).
   */
  readonly cluster?: ReadonlyArray<string>
  /** Key namespace; default `EDDY_PREFIX` or `eddy`. */
  readonly prefix?: string
  readonly partitions?: number
  /**
   * Replicas each submission must reach before it is acknowledged; default `EDDY_SUBMIT_REPLICAS`
   * or 0 (see `DurableSubmit`).
   */
  readonly submitReplicas?: number
  /** The bound for every Redis call. Default 2 s. */
  readonly timeout?: Duration.DurationInput
}

/** `connect` was given options it cannot use: both `url` and `cluster`, or a bad seed list. */
export class InvalidConnectOptions extends Schema.TaggedError<InvalidConnectOptions>()("InvalidConnectOptions", {
  message: Schema.String,
}) {}

type ResultOptions = { readonly timeout: Duration.DurationInput; readonly failFast?: boolean }

/** The client. Call `close` when done: it closes the connections. */
export interface Client {
  readonly submit: <I, O, IE, OE>(
    actor: Actor.Actor<I, O, IE, OE>,
    input: I,
    options?: Producer.SubmitOptions,
  ) => Promise<Producer.Submitted>
  readonly submitMany: <I, O, IE, OE>(
    actor: Actor.Actor<I, O, IE, OE>,
    items: ReadonlyArray<{ readonly input: I; readonly options?: Producer.SubmitOptions }>,
  ) => Promise<ReadonlyArray<Producer.Submitted>>
  readonly status: (jobId: string) => Promise<JobStatus.JobStatus>
  readonly cancel: (jobId: string) => Promise<"cancelled" | "cancelRequested">
  readonly result: (jobId: string, options: ResultOptions) => Promise<unknown>
  readonly resultOf: <I, O, IE, OE>(
    actor: Actor.Actor<I, O, IE, OE>,
    jobId: string,
    options: ResultOptions,
  ) => Promise<O>
  /** The job's history, then its live events, ending after its terminal event. */
  readonly events: (jobId: string) => AsyncIterable<JobEvent.JobEvent>
  readonly close: () => Promise<void>
}

/** How `connect` reaches Redis: `url`, `cluster`, or the `EDDY_*` variables. */
const redisLayer = (options: ConnectOptions) => {
  const timeout = options.timeout ? { timeout: options.timeout } : {}
  if (options.url !== undefined && options.cluster !== undefined)
    throw new InvalidConnectOptions({ message: "connect takes url (one server) or cluster (seed nodes), not both" })
  if (options.cluster !== undefined) {
    const cluster = EddyConfig.parseCluster(options.cluster)
    if (Either.isLeft(cluster))
      throw new InvalidConnectOptions({ message: `connect's cluster seed list is not usable: ${cluster.left}` })
    return RedisClient.layer({ cluster: cluster.right, ...timeout })
  }
  if (options.url !== undefined) return RedisClient.layer({ url: Redacted.make(options.url), ...timeout })
  return RedisClient.layerConfig
}

/**
 * Connects. Rejects with `RedisUnavailable` when Redis cannot be reached within the bound, with
 * `InvalidConnectOptions` for options it cannot use, and with `PartitionCountMismatch` when the
 * deployment under the prefix has another partition count.
 */
export const connect = async (options: ConnectOptions = {}): Promise<Client> => {
  const redis = redisLayer(options)
  const settings =
    options.prefix === undefined && options.partitions === undefined && options.submitReplicas === undefined
      ? Settings.layerConfig
      : Settings.layer({
          prefix: options.prefix ?? "eddy",
          ...(options.partitions ? { partitions: options.partitions } : {}),
          ...(options.submitReplicas === undefined ? {} : { submitReplicas: options.submitReplicas }),
        })
  const runtime = ManagedRuntime.make(
    Producer.layer.pipe(Layer.provideMerge(Layer.merge(redis, settings)), Layer.provide(Logging.layerConfig)),
  )
  // Rejects with the typed error itself rather than a FiberFailure wrapper.
  const run = <A, E>(effect: Effect.Effect<A, E, Producer.Producer | RedisClient.RedisClient | Settings.Settings>) =>
    runtime.runPromiseExit(effect).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      throw Cause.squash(exit.cause)
    })
  const producer = <A, E>(f: (producer: Producer.ProducerService) => Effect.Effect<A, E>) =>
    run(Effect.flatMap(Producer.Producer, f))

  // Reachable, and with the deployment's partition count (PartitionGuard): refused at connect,
  // not at the first submit.
  await run(
    Effect.flatMap(RedisClient.RedisClient, (client) => client.health).pipe(Effect.zipRight(PartitionGuard.ensure)),
  ).catch(async (error) => {
    await runtime.dispose()
    throw error
  })

  return {
    submit: (actor, input, submitOptions) => producer((p) => p.submit(actor, input, submitOptions)),
    submitMany: (actor, items) => producer((p) => p.submitMany(actor, items)),
    status: (jobId) => producer((p) => p.status(jobId)),
    cancel: (jobId) => producer((p) => p.cancel(jobId)),
    result: (jobId, resultOptions) => producer((p) => p.result(jobId, resultOptions)),
    resultOf: (actor, jobId, resultOptions) => producer((p) => p.resultOf(actor, jobId, resultOptions)),
    events: (jobId) =>
      Stream.toAsyncIterableRuntime(
        Stream.unwrap(Effect.map(Producer.Producer, (p) => p.events(jobId))),
        runtime.runtimeEffect.pipe(Effect.runSync),
      ),
    close: () => runtime.dispose(),
  }
}
