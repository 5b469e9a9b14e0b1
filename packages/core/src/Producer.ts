/**
 * The producer SDK: submit jobs to actors, follow them, wait for their results, cancel them.
 * Inputs are validated with the actor's Schema and checked against the payload limit before
 * anything is written (`internal/SubmitPreparation`). Waiting uses the process's one shared
 * tailer (`internal/ResultWait`): no polling, no connection per waiter.
 */
import { Context, type Duration, Effect, Either, Layer, Schema, Stream } from "effect"
import type * as Actor from "./Actor.js"
import * as DurableSubmit from "./DurableSubmit.js"
import * as EventTailer from "./EventTailer.js"
import { type ResultFailure, waitForResult } from "./internal/ResultWait.js"
import { prepareWith, type SubmitOptions, type SubmitRefusal } from "./internal/SubmitPreparation.js"
import { type JobNotFound, OutputMismatch } from "./JobErrors.js"
import * as JobEvent from "./JobEvent.js"
import type * as JobStatus from "./JobStatus.js"
import * as JobStore from "./JobStore.js"
import * as PartitionGuard from "./PartitionGuard.js"
import { RedisClient, type RedisError } from "./RedisClient.js"
import type { Refusal } from "./ScriptOutcome.js"
import { Settings } from "./Settings.js"

// Defined beside the code they belong to (internal), exported from here as they always were.
export { prepare, prepareUnknown } from "./internal/SubmitPreparation.js"
export type { ResultFailure, SubmitOptions, SubmitRefusal }

/** What `submit` did. */
export interface Submitted {
  readonly jobId: string
  /** True when the job already existed: nothing was written. */
  readonly duplicate: boolean
  readonly state: JobStatus.State
}

/** The producer client's operations. */
export interface ProducerService {
  /**
   * Validates and submits one job. With `EDDY_SUBMIT_REPLICAS`, answers once the replicas have it
   * (see `DurableSubmit`).
   */
  readonly submit: <I, O, IE, OE>(
    actor: Actor.Actor<I, O, IE, OE>,
    input: I,
    options?: SubmitOptions,
  ) => Effect.Effect<Submitted, SubmitRefusal | DurableSubmit.SubmitFailure>
  /** Validates every item first (nothing is written if one is refused), then writes them in batches. */
  readonly submitMany: <I, O, IE, OE>(
    actor: Actor.Actor<I, O, IE, OE>,
    items: ReadonlyArray<{ readonly input: I; readonly options?: SubmitOptions }>,
  ) => Effect.Effect<ReadonlyArray<Submitted>, SubmitRefusal | DurableSubmit.SubmitFailure>
  readonly status: (jobId: string) => Effect.Effect<JobStatus.JobStatus, JobNotFound | RedisError>
  /** Cancels at once (queued, delayed) or asks the running worker to stop (`cancelRequested`). */
  readonly cancel: (jobId: string) => Effect.Effect<"cancelled" | "cancelRequested", Refusal | RedisError>
  /** The job's history, then its live events, ending after its terminal event. */
  readonly events: (jobId: string) => Stream.Stream<JobEvent.JobEvent, JobNotFound | RedisError>
  /**
   * Waits for the job to end: its output (encoded JSON) on success; `JobDeadLettered`,
   * `JobCancelled`, or `ResultTimeout` after `timeout`. With `failFast`, the first failed
   * attempt fails with `JobFailed`.
   */
  readonly result: (
    jobId: string,
    options: { readonly timeout: Duration.DurationInput; readonly failFast?: boolean },
  ) => Effect.Effect<unknown, ResultFailure | JobNotFound | RedisError>
  /** `result`, decoded with the contract's output Schema. */
  readonly resultOf: <I, O, IE, OE>(
    actor: Actor.Actor<I, O, IE, OE>,
    jobId: string,
    options: { readonly timeout: Duration.DurationInput; readonly failFast?: boolean },
  ) => Effect.Effect<O, ResultFailure | OutputMismatch | JobNotFound | RedisError>
}

export class Producer extends Context.Tag("@eddy/core/Producer")<Producer, ProducerService>() {}

const isOver = (events: ReadonlyArray<JobEvent.JobEvent>) => {
  // A requeue (from the dead letters) starts a new life after a terminal event.
  const last = events.findLast((event) => JobEvent.isTerminal(event) || event.type === "requeued")
  return last !== undefined && JobEvent.isTerminal(last)
}

/** Builds the producer over the process's Redis, settings and tailer. */
export const make = Effect.gen(function* () {
  const context = yield* Effect.context<RedisClient | Settings | EventTailer.EventTailer>()
  const tailer = yield* EventTailer.EventTailer
  const redis = yield* RedisClient
  const settings = yield* Settings
  const provide = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, RedisClient | Settings>> =>
    Effect.provide(effect, context) as Effect.Effect<A, E, Exclude<R, RedisClient | Settings>>
  const result: ProducerService["result"] = waitForResult(tailer, JobStore.endedStatusWith(redis, settings.keyspace))

  // Each actor's input check, made once: its Schema's encoder with it.
  const checks = new WeakMap<object, unknown>()
  const checkOf = <I, O, IE, OE>(actor: Actor.Actor<I, O, IE, OE>) => {
    let check = checks.get(actor) as ReturnType<typeof prepareWith<I, O, IE, OE>> | undefined
    if (check === undefined) {
      check = prepareWith(actor, settings.maxPayloadBytes)
      checks.set(actor, check)
    }
    return check
  }
  // Straight to the script once the partition count is verified and no replica has to confirm:
  // the hot path of a producer, a few effect steps instead of DurableSubmit's generators.
  const write = (request: JobStore.SubmitRequest) =>
    settings.submitReplicas === 0 && PartitionGuard.isVerified(redis, settings.keyspace)
      ? JobStore.submitWith(redis, settings, request)
      : provide(DurableSubmit.submit(request))

  const service: ProducerService = {
    submit: (actor, input, options) =>
      Effect.suspend((): Effect.Effect<Submitted, SubmitRefusal | DurableSubmit.SubmitFailure> => {
        const prepared = checkOf(actor)(input, options)
        return Either.isLeft(prepared) ? Effect.fail(prepared.left) : write(prepared.right)
      }),
    submitMany: (actor, items) =>
      Effect.suspend((): Effect.Effect<ReadonlyArray<Submitted>, SubmitRefusal | DurableSubmit.SubmitFailure> => {
        // Every item is checked before anything is written: one refusal and nothing is.
        const check = checkOf(actor)
        const requests = new Array<JobStore.SubmitRequest>(items.length)
        for (const [index, item] of items.entries()) {
          const prepared = check(item.input, item.options)
          if (Either.isLeft(prepared)) return Effect.fail(prepared.left)
          requests[index] = prepared.right
        }
        return provide(DurableSubmit.submitMany(requests))
      }),
    status: (jobId) => provide(JobStore.status(jobId)),
    cancel: (jobId) => provide(JobStore.cancel(jobId)),
    events: (jobId) =>
      Stream.unwrapScoped(
        provide(
          Effect.gen(function* () {
            const queue = yield* tailer.subscribe(jobId)
            const past = yield* JobStore.history(jobId)
            const history = Stream.fromIterable(past)
            if (isOver(past)) return history
            const lastId = past[past.length - 1]?.id
            const live = Stream.fromQueue(queue).pipe(
              Stream.filter((event) => lastId === undefined || JobEvent.compareIds(event.id, lastId) > 0),
              Stream.takeUntil(JobEvent.isTerminal),
            )
            return Stream.concat(history, live)
          }),
        ),
      ),
    result,
    resultOf: (actor, jobId, options) =>
      result(jobId, options).pipe(
        Effect.flatMap((output) =>
          Schema.decodeUnknown(actor.output)(output).pipe(
            Effect.mapError((error) => new OutputMismatch({ jobId, message: error.message })),
          ),
        ),
      ),
  }
  return service
})

/** The producer, with its tailer, over the process's Redis and settings. */
export const layer: Layer.Layer<Producer, never, RedisClient | Settings> = Layer.effect(Producer, make).pipe(
  Layer.provide(EventTailer.layer),
)
