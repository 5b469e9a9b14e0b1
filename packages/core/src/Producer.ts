/**
 * The producer SDK: submit jobs to actors, follow them, wait for their results, cancel them.
 * Inputs are validated with the actor's Schema and checked against the payload limit before
 * anything is written. Waiting uses the process's one shared tailer: no polling, no connection
 * per waiter.
 */
import { Context, Duration, Effect, Either, Layer, Option, ParseResult, Schema, Stream } from "effect"
import type * as Actor from "./Actor.js"
import * as DurableSubmit from "./DurableSubmit.js"
import * as EventTailer from "./EventTailer.js"
import {
  InvalidInput,
  InvalidOptions,
  JobCancelled,
  JobDeadLettered,
  JobFailed,
  type JobNotFound,
  OutputMismatch,
  PayloadTooLarge,
  ResultTimeout,
} from "./JobErrors.js"
import * as JobEvent from "./JobEvent.js"
import * as JobId from "./JobId.js"
import type * as JobStatus from "./JobStatus.js"
import * as JobStore from "./JobStore.js"
import type { RedisClient, RedisError } from "./RedisClient.js"
import type { Refusal } from "./ScriptOutcome.js"
import { Settings } from "./Settings.js"

/** How to submit one job. Every field is optional. */
export interface SubmitOptions {
  /** Your own job id (1-128 of `A-Za-z0-9._~-`); a repeated id is a duplicate. */
  readonly jobId?: string
  /**
   * Maps to a job id per actor: the same key finds the same job for the retention window. With a
   * `partitionKey`, the pair decides: the same key under another partition key is another job.
   */
  readonly idempotencyKey?: string
  /** Run no earlier than this from now. */
  readonly delay?: Duration.DurationInput
  readonly lane?: Actor.Lane
  /** Jobs with the same partition key share a partition (and so their order in the log). */
  readonly partitionKey?: string
  readonly correlationId?: string
  readonly causationId?: string
}

/** What `submit` did. */
export interface Submitted {
  readonly jobId: string
  /** True when the job already existed: nothing was written. */
  readonly duplicate: boolean
  readonly state: JobStatus.State
}

/** Why a submission was refused before anything was written. */
export type SubmitRefusal = InvalidInput | PayloadTooLarge | InvalidOptions

/** Typed failures of `result`. */
export type ResultFailure = JobDeadLettered | JobCancelled | ResultTimeout | JobFailed

const maxDelay = Duration.days(365)
const limitedText = (name: string, max: number, value: string | undefined) =>
  value !== undefined && (value.length === 0 || value.length > max) ? [`${name} must be 1-${max} characters`] : []
const isJobId = Schema.is(JobId.JobId)

const checkOptions = (
  actor: string,
  options: SubmitOptions,
): Either.Either<{ jobId: string; delayMs: number }, InvalidOptions> => {
  const problems = [
    ...limitedText("idempotencyKey", 256, options.idempotencyKey),
    ...limitedText("partitionKey", 256, options.partitionKey),
    ...limitedText("correlationId", 128, options.correlationId),
    ...limitedText("causationId", 128, options.causationId),
  ]
  if (options.jobId !== undefined && !isJobId(options.jobId))
    problems.push("jobId must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', '~' and '-'")
  if (options.jobId !== undefined && options.idempotencyKey !== undefined)
    problems.push("give jobId or idempotencyKey, not both")
  const delay = Duration.decode(options.delay ?? 0)
  if (Duration.greaterThan(delay, maxDelay)) problems.push("delay must be at most 365 days")
  if (problems.length > 0) return Either.left(new InvalidOptions({ message: problems.join("; ") }))
  const jobId =
    options.jobId ??
    (options.idempotencyKey === undefined
      ? JobId.generate()
      : JobId.fromIdempotencyKey(actor, options.idempotencyKey, options.partitionKey))
  return Either.right({ jobId, delayMs: Duration.toMillis(delay) })
}

const invalid = (actor: string, error: ParseResult.ParseError) => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    path: issue.path.map((key) => (typeof key === "number" ? key : String(key))),
    message: issue.message,
  }))
  const first = issues[0]
  const where = first === undefined || first.path.length === 0 ? "" : ` at ${first.path.join(".")}`
  return new InvalidInput({
    actor,
    message: `input for ${actor} is invalid${where}: ${first?.message ?? error.message}`,
    issues,
  })
}

const jsonText = (actor: string, encoded: unknown): Either.Either<string, InvalidInput> => {
  let input: string | undefined
  try {
    input = JSON.stringify(encoded)
  } catch {
    // A value nested deeper than the stack allows cannot be stored (nor read back).
    return Either.left(new InvalidInput({ actor, message: `input for ${actor} is nested too deeply`, issues: [] }))
  }
  return input === undefined
    ? Either.left(new InvalidInput({ actor, message: `input for ${actor} must be a JSON value`, issues: [] }))
    : Either.right(input)
}

/**
 * Turns an encoded input into a submit request, checking size and options. Synchronous, no
 * Effect per item: `submitMany` runs it for every job of a batch before anything is written.
 */
const request = (
  actor: Actor.Any,
  encoded: unknown,
  options: SubmitOptions,
  maxPayloadBytes: number,
): Either.Either<JobStore.SubmitRequest, SubmitRefusal> =>
  Either.flatMap(jsonText(actor.name, encoded), (input): Either.Either<JobStore.SubmitRequest, SubmitRefusal> => {
    // Only text that could be over the limit is measured (UTF-8 takes at most 3 bytes per UTF-16 unit).
    const size = input.length * 3 > maxPayloadBytes ? Buffer.byteLength(input, "utf8") : input.length
    if (size > maxPayloadBytes)
      return Either.left(
        new PayloadTooLarge({
          actor: actor.name,
          size,
          limit: maxPayloadBytes,
          message: `input for ${actor.name} is ${size} bytes, over the limit of ${maxPayloadBytes} bytes`,
        }),
      )
    return Either.map(checkOptions(actor.name, options), ({ jobId, delayMs }) => ({
      jobId,
      actor: actor.name,
      lane: options.lane ?? "normal",
      input,
      maxAttempts: actor.policy.attempts,
      delayMs,
      correlationId: options.correlationId,
      causationId: options.causationId,
      partitionKey: options.partitionKey,
    }))
  })

/** Report every problem of an input, not only the first. */
const allIssues = { errors: "all" } as const

/** The synchronous check of a typed input against its actor's contract (see `prepare`). */
const prepareWith = <I, O, IE, OE>(actor: Actor.Actor<I, O, IE, OE>, maxPayloadBytes: number) => {
  const encode = Schema.encodeEither(actor.input)
  return (input: I, options: SubmitOptions = {}): Either.Either<JobStore.SubmitRequest, SubmitRefusal> =>
    Either.match(encode(input, allIssues), {
      onLeft: (error) => Either.left(invalid(actor.name, error)),
      onRight: (encoded) => request(actor, encoded, options, maxPayloadBytes),
    })
}

/** Validates a typed input: encodes it with the contract's input Schema. Writes nothing. */
export const prepare = <I, O, IE, OE>(actor: Actor.Actor<I, O, IE, OE>, input: I, options: SubmitOptions = {}) =>
  Effect.flatMap(Settings, ({ maxPayloadBytes }) => prepareWith(actor, maxPayloadBytes)(input, options))

/** The size refusal of an input as given, when its JSON text is over the limit. */
const oversized = (actor: Actor.Any, input: unknown, maxPayloadBytes: number): PayloadTooLarge | undefined => {
  const text = jsonText(actor.name, input)
  if (Either.isLeft(text)) return undefined
  const size = Buffer.byteLength(text.right, "utf8")
  return size > maxPayloadBytes
    ? new PayloadTooLarge({
        actor: actor.name,
        size,
        limit: maxPayloadBytes,
        message: `input for ${actor.name} is ${size} bytes, over the limit of ${maxPayloadBytes} bytes`,
      })
    : undefined
}

/**
 * Validates an untyped input (e.g. JSON from HTTP): it must decode with the contract's input
 * Schema; what is stored is its canonical encoding. Writes nothing. Size comes before content:
 * an input that is over the limit as given and fails its Schema is refused as too large (413),
 * not as invalid, so a client is not sent to fix fields of an input that could never be stored.
 */
export const prepareUnknown = (actor: Actor.Any, input: unknown, options: SubmitOptions = {}) =>
  Effect.flatMap(Settings, ({ maxPayloadBytes }) =>
    Schema.decodeUnknownEither(actor.input)(input, allIssues).pipe(
      Either.flatMap((decoded) => Schema.encodeEither(actor.input)(decoded, allIssues)),
      Either.match({
        // Measured only when refused: an accepted input is measured in its canonical encoding below.
        onLeft: (error): Either.Either<JobStore.SubmitRequest, SubmitRefusal> =>
          Either.left(oversized(actor, input, maxPayloadBytes) ?? invalid(actor.name, error)),
        onRight: (encoded) => request(actor, encoded, options, maxPayloadBytes),
      }),
    ),
  )

const isOver = (events: ReadonlyArray<JobEvent.JobEvent>) => {
  // A requeue (from the dead letters) starts a new life after a terminal event.
  const last = events.findLast((event) => JobEvent.isTerminal(event) || event.type === "requeued")
  return last !== undefined && JobEvent.isTerminal(last)
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

const outcomeOfStatus = (status: JobStatus.JobStatus): Option.Option<Effect.Effect<unknown, ResultFailure>> => {
  switch (status.state) {
    case "succeeded":
      return Option.some(Effect.succeed(status.output))
    case "deadLettered":
      return Option.some(
        Effect.fail(
          new JobDeadLettered({
            jobId: status.jobId,
            reason: status.deadLetterReason ?? "attemptsExhausted",
            ...(status.error === undefined ? {} : { error: status.error }),
          }),
        ),
      )
    case "cancelled":
      return Option.some(Effect.fail(new JobCancelled({ jobId: status.jobId })))
    default:
      return Option.none()
  }
}

const outcomeOfEvent = (
  event: JobEvent.JobEvent,
  failFast: boolean,
): Option.Option<Effect.Effect<unknown, ResultFailure>> => {
  switch (event.type) {
    case "succeeded":
      return Option.some(Effect.succeed(event.output))
    case "deadLettered":
      return Option.some(
        Effect.fail(
          new JobDeadLettered({
            jobId: event.jobId,
            reason: event.reason,
            ...(event.error === undefined ? {} : { error: event.error }),
          }),
        ),
      )
    case "cancelled":
      return Option.some(Effect.fail(new JobCancelled({ jobId: event.jobId })))
    case "failed":
      return failFast
        ? Option.some(
            Effect.fail(
              new JobFailed({
                jobId: event.jobId,
                attempt: event.attempt,
                error: event.error,
                willRetry: event.willRetry,
              }),
            ),
          )
        : Option.none()
    default:
      return Option.none()
  }
}

/** Builds the producer over the process's Redis, settings and tailer. */
export const make = Effect.gen(function* () {
  const context = yield* Effect.context<RedisClient | Settings | EventTailer.EventTailer>()
  const tailer = yield* EventTailer.EventTailer
  const provide = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, RedisClient | Settings>> =>
    Effect.provide(effect, context) as Effect.Effect<A, E, Exclude<R, RedisClient | Settings>>

  /**
   * Listens first, then reads the status: an event landing in between is still seen (the first
   * outcome wins). The read decodes the record whole only for a job that has already ended. The
   * wait itself is one callback and a plain timer: `Effect.timeoutFail` and a queue per wait
   * forked a fiber, a sleep and an interruption for every result, a measured share of what
   * survived the young-generation collections of a producer at 500 results/s. The timeout bounds
   * the wait from the call; the status read before it is bounded by Redis's own.
   */
  const result: ProducerService["result"] = (jobId, options) =>
    Effect.suspend(() => {
      const timeout = Duration.decode(options.timeout)
      const deadline = Date.now() + Duration.toMillis(timeout)
      const failFast = options.failFast === true
      let early: Effect.Effect<unknown, ResultFailure> | undefined
      let resume: ((outcome: Effect.Effect<unknown, ResultFailure>) => void) | undefined
      const onEvent = (event: JobEvent.JobEvent) => {
        const outcome = outcomeOfEvent(event, failFast)
        if (Option.isNone(outcome)) return
        if (resume !== undefined) resume(outcome.value)
        else early ??= outcome.value
      }
      const outcome = Effect.async<unknown, ResultFailure>((answer) => {
        const timer = setTimeout(
          () => answer(Effect.fail(new ResultTimeout({ jobId, timeoutMs: Duration.toMillis(timeout) }))),
          Math.max(0, deadline - Date.now()),
        )
        resume = (settled) => {
          // The first outcome answers; a later event (a dead letter after a fail-fast failure) does not.
          resume = () => {}
          clearTimeout(timer)
          answer(settled)
        }
        return Effect.sync(() => clearTimeout(timer))
      })
      // The listener is removed however the wait ends, an interruption right after it was added included.
      return Effect.acquireUseRelease(
        tailer.listen(jobId, onEvent),
        () =>
          Effect.flatMap(provide(JobStore.endedStatus(jobId)), (ended) =>
            Option.getOrElse(Option.flatMap(ended, outcomeOfStatus), () => early ?? outcome),
          ),
        (stop) => Effect.sync(stop),
      )
    })

  const service: ProducerService = {
    submit: (actor, input, options) =>
      provide(prepare(actor, input, options).pipe(Effect.flatMap(DurableSubmit.submit))),
    submitMany: (actor, items) =>
      provide(
        Effect.flatMap(
          Settings,
          ({
            maxPayloadBytes,
          }): Effect.Effect<
            ReadonlyArray<Submitted>,
            SubmitRefusal | DurableSubmit.SubmitFailure,
            RedisClient | Settings
          > => {
            // Every item is checked before anything is written: one refusal and nothing is.
            const check = prepareWith(actor, maxPayloadBytes)
            const requests = new Array<JobStore.SubmitRequest>(items.length)
            for (const [index, item] of items.entries()) {
              const prepared = check(item.input, item.options)
              if (Either.isLeft(prepared)) return Effect.fail(prepared.left)
              requests[index] = prepared.right
            }
            return DurableSubmit.submitMany(requests)
          },
        ),
      ),
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
