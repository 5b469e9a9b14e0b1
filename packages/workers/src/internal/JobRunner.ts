/**
 * Runs one delivery end to end: start (fenced, batched with the deliveries read with it), decode
 * the input, run the handler until it ends or is stopped (cancel, lease loss, timeout, shutdown),
 * then record the outcome through one fenced script (successes batched). A refusal (the job was
 * reclaimed, cancelled or finished elsewhere) means the result is not applied: it is counted and
 * logged, never an error storm.
 *
 * The hot path is lean on purpose (the benchmark's no-op jobs are all overhead): one fiber per
 * job, stopped by interrupting it rather than by racing a signal; no timer per job (the
 * watchdog in `Maintenance` enforces timeouts from the deadline kept here); per-actor metrics,
 * codecs and retry schedules prepared once per handler.
 */
import {
  Actor,
  Deliveries,
  JobStore,
  Producer,
  RateLimiter,
  type RedisClient,
  type ScriptOutcome,
  type Settings,
} from "@eddy/core"
import {
  Cause,
  type Context,
  Duration,
  Effect,
  Either,
  Exit,
  Fiber,
  FiberRef,
  HashMap,
  Metric,
  Option,
  Schema,
} from "effect"
import * as Handler from "../Handler.js"
import * as Batcher from "./Batcher.js"
import * as PreparedHandler from "./PreparedHandler.js"
import * as WorkerState from "./WorkerState.js"

/** Why a running job must stop before its handler ends. */
export type StopReason = "cancel" | "leaseLost" | "shutdown" | "timeout"

/** A job this process holds. */
export interface InFlight {
  readonly delivery: Deliveries.Delivery
  /** Set once the job must stop; the first reason wins. */
  stopReason: StopReason | undefined
  /** Set once `start` succeeded: until then (e.g. waiting for a rate-limit permit) a shutdown releases it at once. */
  started: boolean
  /** The job's fiber: a stop interrupts its handler. */
  fiber: Fiber.RuntimeFiber<void> | undefined
  /** When the handler's time is up (ms since the epoch); infinite until it runs. */
  deadline: number
  /** Started already (by `claim`, with its read): the start's answer. */
  readonly claimed: Deliveries.Claimed["started"]
  /** The handler has ended; only its outcome is left to record (its slot is free). */
  handlerDone: boolean
}

export const inFlight = (delivery: Deliveries.Delivery, claimed?: Deliveries.Claimed["started"]): InFlight => ({
  delivery,
  claimed,
  handlerDone: false,
  stopReason: undefined,
  started: false,
  fiber: undefined,
  deadline: Number.POSITIVE_INFINITY,
})

/** Stops a job: its handler (or its wait for a rate-limit permit) is interrupted; the first reason wins. */
export const stop = (job: InFlight, reason: StopReason): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (job.stopReason !== undefined) return Effect.void
    job.stopReason = reason
    return job.fiber === undefined ? Effect.void : Fiber.interruptFork(job.fiber)
  })

class HandlerTimeout extends Schema.TaggedError<HandlerTimeout>()("Timeout", { message: Schema.String }) {}

type RedisError = RedisClient.RedisError
type Refusal = ScriptOutcome.Refusal

/** The batched calls job fibers share (see `Batcher`). */
export interface Batches {
  readonly start: Batcher.Batcher<Deliveries.Delivery, Deliveries.Started, Refusal | RedisError>
  readonly complete: Batcher.Batcher<
    { readonly delivery: Deliveries.Delivery; readonly output: string },
    void,
    Refusal | RedisError
  >
}

/** Most deliveries one batched start or completion carries. */
const maxBatch = 500

/** The batchers of one worker (consumer), alive for the current scope. */
export const makeBatches = (consumer: string) =>
  Effect.all({
    start: Batcher.make({
      groupOf: WorkerState.inboxOf,
      run: (deliveries: ReadonlyArray<Deliveries.Delivery>) => Deliveries.startMany(deliveries, consumer),
      maxBatch,
    }),
    complete: Batcher.make({
      groupOf: (completion: { readonly delivery: Deliveries.Delivery }) => WorkerState.inboxOf(completion.delivery),
      run: (completions: ReadonlyArray<{ readonly delivery: Deliveries.Delivery; readonly output: string }>) =>
        Deliveries.completeMany(completions, consumer),
      maxBatch,
    }),
  }) satisfies Effect.Effect<Batches, never, unknown>

/** What one worker's job fibers share. */
export interface RunnerDeps {
  readonly consumer: string
  readonly progressThrottle: Duration.Duration
  /** Run when a failed attempt was scheduled for a retry (wakes the promoter). */
  readonly retryScheduled: Effect.Effect<void>
  readonly batches: Batches
  /** The services a handler's context uses (progress, send), read once per dispatch rather than per job. */
  readonly services: Context.Context<RedisClient.RedisClient | Settings.Settings>
  /** Run when a job's handler has ended, before its outcome is recorded: frees its slot. */
  readonly handlerDone: (job: InFlight) => Effect.Effect<void>
}

/** Runs one delivery with its handler. Never fails: every outcome is recorded or logged. */
export const run = (
  handler: Handler.Any,
  job: InFlight,
  deps: RunnerDeps,
): Effect.Effect<void, never, RedisClient.RedisClient | Settings.Settings> => {
  const { delivery } = job
  const { consumer, batches } = deps
  const contract = handler.contract
  const actor = contract.name
  const { decodeInput, encodeOutput, metrics, count, persistently, timeoutMs } = PreparedHandler.prepare(handler)

  /** Logs and counts a refusal: the job changed hands; nothing was applied. */
  const refused = (what: string) => (error: { readonly _tag: string; readonly message: string }) =>
    Effect.logWarning(`${what} not applied: ${error._tag} (${error.message})`).pipe(Effect.zipRight(count.rejected))

  /**
   * Sets the job's log annotations (actor, job id, attempt) for the rest of its fiber's life, in
   * one update: each update of the annotations compares and hashes the whole map, and a second
   * one measured several times the cost of the first (~10 µs against ~3 µs per job).
   */
  const annotateJob = (attempt: number) =>
    FiberRef.update(FiberRef.currentLogAnnotations, (annotations) =>
      HashMap.set(HashMap.set(HashMap.set(annotations, "actor", actor), "jobId", delivery.jobId), "attempt", attempt),
    )
  /** What is logged before the attempt is known (rare paths) carries actor and job id on its own. */
  const beforeStart = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.annotateLogs(effect, { actor, jobId: delivery.jobId })

  // Uninterruptible but for the handler (and the wait for a rate-limit permit): a stop
  // interrupts those, and the outcome is always recorded.
  const body = (restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) =>
    Effect.gen(function* () {
      if (delivery.jobId === "") {
        yield* Deliveries.deadLetterEntry(delivery, consumer, "inbox entry names no job").pipe(persistently)
        yield* count.deadLettered
        return yield* beforeStart(Effect.logWarning(`dead-lettered malformed entry ${delivery.entryId} of ${actor}`))
      }
      if (contract.policy.rateLimit !== undefined) {
        const permit = yield* restore(RateLimiter.acquire(actor, contract.policy.rateLimit).pipe(persistently)).pipe(
          Effect.exit,
        )
        if (Exit.isFailure(permit) && !Cause.isInterruptedOnly(permit.cause)) return yield* permit
      }
      // Stopped between dispatch and here (a shutdown): do not start at all.
      if (job.stopReason !== undefined) return yield* stoppedBeforeStart(job.stopReason)
      const startedResult = job.claimed ?? (yield* batches.start(delivery).pipe(persistently, Effect.either))
      if (startedResult._tag === "Left") {
        const error = startedResult.left
        if (error._tag === "CancelRequested") {
          yield* Deliveries.confirmCancel(delivery, consumer).pipe(persistently, Effect.ignore)
          return yield* count.cancelled
        }
        return yield* beforeStart(Effect.logDebug(`delivery ${delivery.entryId} not started: ${error._tag}`))
      }
      const started = startedResult.right
      job.started = true
      yield* count.started
      const startedAt = Date.now()
      yield* annotateJob(started.attempt)
      yield* execute(started, restore)
      yield* Metric.update(metrics.duration, (Date.now() - startedAt) / 1000)
    })

  const fail = (failure: Deliveries.Failure, attempt: number) =>
    Deliveries.fail(delivery, consumer, failure).pipe(
      persistently,
      Effect.tap((outcome) =>
        Effect.all([
          count.failed,
          outcome._tag === "retrying" ? count.retried : count.deadLettered,
          outcome._tag === "retrying" ? deps.retryScheduled : Effect.void,
          outcome._tag === "retrying"
            ? Effect.logInfo(
                `attempt ${attempt} failed (${failure.error.tag}: ${failure.error.message}); retry at ${new Date(outcome.retryAt).toISOString()}`,
              )
            : Effect.logWarning(
                `attempt ${attempt} failed (${failure.error.tag}: ${failure.error.message}); dead-lettered (${outcome.reason})`,
              ),
        ]),
      ),
      Effect.catchTags({ LeaseLost: refused("failure"), JobAlreadyFinished: refused("failure") }),
      Effect.catchTag("CancelRequested", () => count.cancelled),
      Effect.asVoid,
    )

  /** Decodes the input, runs the handler (interruptibly) and records its outcome. */
  const execute = (
    started: Deliveries.Started,
    restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
  ) =>
    Effect.suspend(() => {
      const decoded = decodeInput(started.input)
      if (decoded._tag === "Left") {
        const message = decoded.left instanceof Error ? decoded.left.message : String(decoded.left)
        return fail(
          {
            error: { tag: "MalformedInput", message },
            retryable: false,
            retryDelay: Duration.zero,
            reason: "malformed",
          },
          started.attempt,
        )
      }
      const context = makeContext(started, deps.services)
      job.deadline = Date.now() + timeoutMs
      return Effect.flatMap(Effect.exit(restore(handler.run(decoded.right, context.context))), (exit) => {
        context.abort()
        job.deadline = Number.POSITIVE_INFINITY
        return Effect.zipRight(
          deps.handlerDone(job),
          Effect.suspend(() => outcome(exit, started)),
        )
      })
    })

  /** What a handler's end records: a timeout and a stop come first, whatever it answered. */
  const outcome = (exit: Exit.Exit<unknown, unknown>, started: Deliveries.Started) => {
    if (job.stopReason === "timeout")
      return finished(
        Exit.fail(new HandlerTimeout({ message: `timed out after ${Duration.format(contract.policy.timeout)}` })),
        started,
      )
    if (Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)) return stopped(job.stopReason ?? "shutdown")
    return finished(exit, started)
  }

  /** A job stopped before it started: at shutdown it goes back to its inbox for another worker. */
  const stoppedBeforeStart = (reason: StopReason) =>
    reason === "shutdown"
      ? Deliveries.release(delivery, consumer).pipe(
          persistently,
          Effect.zipRight(count.released),
          Effect.zipRight(Effect.logDebug("released before it started, at shutdown")),
          Effect.catchAll(refused("release")),
          beforeStart,
        )
      : Effect.void

  const stopped = (reason: StopReason) => {
    switch (reason) {
      case "cancel":
        return Deliveries.confirmCancel(delivery, consumer).pipe(
          persistently,
          Effect.zipRight(count.cancelled),
          Effect.zipRight(Effect.logInfo("cancelled while running; handler interrupted")),
          Effect.catchAll(refused("cancel")),
        )
      case "leaseLost":
        return refused("result")({ _tag: "LeaseLost", message: "the lease was lost; handler interrupted" })
      case "timeout": // handled as a failed attempt before this is reached
      case "shutdown":
        return Deliveries.release(delivery, consumer).pipe(
          persistently,
          Effect.zipRight(count.released),
          Effect.zipRight(Effect.logInfo("released at shutdown")),
          Effect.catchAll(refused("release")),
        )
    }
  }

  const finished = (exit: Exit.Exit<unknown, unknown>, started: Deliveries.Started) => {
    if (Exit.isSuccess(exit)) {
      return Either.match(encodeOutput(exit.value), {
        onLeft: (message) =>
          fail(
            { error: { tag: "InvalidOutput", message }, retryable: false, retryDelay: Duration.zero },
            started.attempt,
          ),
        onRight: (output) =>
          batches.complete({ delivery, output }).pipe(
            persistently,
            Effect.zipRight(count.succeeded),
            Effect.catchTags({
              LeaseLost: refused("result"),
              JobAlreadyFinished: refused("result"),
              CancelRequested: () => count.cancelled,
            }),
          ),
      })
    }
    const failure = Cause.failureOption(exit.cause)
    const error = Option.isSome(failure) ? failure.value : Cause.squash(exit.cause)
    return Actor.retryDelay(contract.policy, started.attempt).pipe(
      Effect.flatMap((retryDelay) =>
        fail({ error: Handler.errorInfo(error), retryable: Handler.isRetryable(error), retryDelay }, started.attempt),
      ),
    )
  }

  /**
   * The handler's context. Its `AbortSignal` is made only if the handler reads it (most Effect
   * handlers never do), and `abort` fires it once the handler is over.
   */
  const makeContext = (
    started: Deliveries.Started,
    services: Context.Context<RedisClient.RedisClient | Settings.Settings>,
  ) => {
    let lastProgress = 0
    let controller: AbortController | undefined
    const correlationId = started.correlationId ?? delivery.jobId
    const throttleMs = Duration.toMillis(deps.progressThrottle)
    const context: Handler.JobContext = {
      jobId: delivery.jobId,
      actor,
      attempt: started.attempt,
      maxAttempts: started.maxAttempts,
      correlationId,
      get signal() {
        controller ??= new AbortController()
        return controller.signal
      },
      progress: (fraction, note) => {
        const now = Date.now()
        if (now - lastProgress < throttleMs && fraction < 1) return Effect.void
        lastProgress = now
        return Deliveries.progress(delivery, consumer, fraction, note).pipe(
          Effect.catchTag("CancelRequested", () => stop(job, "cancel")),
          Effect.catchAll((error) => Effect.logDebug(`progress not recorded: ${error._tag}`)),
          Effect.asVoid,
          Effect.provide(services),
        )
      },
      send: (target, input, options = {}) =>
        Producer.prepare(target, input, { ...options, correlationId, causationId: delivery.jobId }).pipe(
          Effect.flatMap(JobStore.submit),
          Effect.provide(services),
        ),
    }
    return { context, abort: () => controller?.abort() }
  }

  // The job has a fiber of its own (see Reader): its logs, and its handler's, are annotated by
  // setting the fiber's annotations once the attempt is known (see `annotateJob`); the few lines
  // logged before that carry actor and job id on their own (`beforeStart`).
  return Effect.uninterruptibleMask(body).pipe(
    Effect.catchAll((error) => Effect.logWarning(`job ${delivery.jobId} not handled: ${String(error)}`)),
    Effect.catchAllDefect((defect) => beforeStart(Effect.logError("worker defect while handling a job", defect))),
  )
}
