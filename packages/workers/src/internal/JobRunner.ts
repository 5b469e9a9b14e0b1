/**
 * Runs one delivery end to end: start (fenced), decode the input, run the handler under the
 * contract's timeout while watching for a stop (cancel, lease loss, shutdown), then record the
 * outcome through one fenced script. A refusal (the job was reclaimed, cancelled or finished
 * elsewhere) means the result is not applied: it is counted and logged, never an error storm.
 */
import { Actor, Deliveries, JobStore, Producer, RateLimiter, type RedisClient, type Settings } from "@eddy/core"
import { Cause, type Context, Deferred, Duration, Effect, Exit, Metric, Option, Schedule, Schema } from "effect"
import * as Handler from "../Handler.js"
import * as WorkerMetrics from "../WorkerMetrics.js"

/** Why a running job must stop before its handler ends. */
export type StopReason = "cancel" | "leaseLost" | "shutdown"

/** A job this process holds. */
export interface InFlight {
  readonly delivery: Deliveries.Delivery
  readonly stop: Deferred.Deferred<StopReason>
  /** Set once `start` succeeded: until then (e.g. waiting for a rate-limit permit) a shutdown releases it at once. */
  started: boolean
}

class HandlerTimeout extends Schema.TaggedError<HandlerTimeout>()("Timeout", { message: Schema.String }) {}

/**
 * Redis trouble while recording an outcome: retry within the lease. Past it another worker
 * reclaims the job anyway, so giving up then loses nothing.
 */
const persistently =
  (lease: Duration.Duration) =>
  <A, E extends { readonly _tag: string }, R>(self: Effect.Effect<A, E, R>) =>
    Effect.retry(self, {
      schedule: Schedule.exponential("100 millis").pipe(
        Schedule.union(Schedule.spaced("2 seconds")),
        Schedule.upTo(lease),
      ),
      while: (error) => error._tag === "RedisUnavailable",
    })

/** Logs and counts a refusal: the job changed hands; nothing was applied. */
const refused = (actor: string, what: string) => (error: { readonly _tag: string; readonly message: string }) =>
  Effect.logWarning(`${what} not applied: ${error._tag} (${error.message})`).pipe(
    Effect.zipRight(Metric.increment(WorkerMetrics.forActor(WorkerMetrics.rejected, actor))),
  )

interface RunnerDeps {
  readonly consumer: string
  readonly progressThrottle: Duration.Duration
  /** Run when a failed attempt was scheduled for a retry (wakes the promoter). */
  readonly retryScheduled: Effect.Effect<void>
}

/** Runs one delivery with its handler. Never fails: every outcome is recorded or logged. */
export const run = (
  handler: Handler.Any,
  job: InFlight,
  deps: RunnerDeps,
): Effect.Effect<void, never, RedisClient.RedisClient | Settings.Settings> =>
  Effect.flatMap(Effect.context<RedisClient.RedisClient | Settings.Settings>(), (services) =>
    runWith(handler, job, deps, services),
  )

const runWith = (
  handler: Handler.Any,
  job: InFlight,
  deps: RunnerDeps,
  services: Context.Context<RedisClient.RedisClient | Settings.Settings>,
) => {
  const { delivery } = job
  const { consumer } = deps
  const contract = handler.contract
  const actor = contract.name
  const lease = contract.policy.lease
  const count = (metric: Metric.Metric.Counter<number>) => Metric.increment(WorkerMetrics.forActor(metric, actor))

  const body = Effect.gen(function* () {
    if (delivery.jobId === "") {
      yield* Deliveries.deadLetterEntry(delivery, consumer, "inbox entry names no job").pipe(persistently(lease))
      yield* count(WorkerMetrics.deadLettered)
      return yield* Effect.logWarning(`dead-lettered malformed entry ${delivery.entryId} of ${actor}`)
    }
    if (contract.policy.rateLimit !== undefined) {
      const stoppedWaiting = yield* Effect.raceFirst(
        RateLimiter.acquire(actor, contract.policy.rateLimit).pipe(persistently(lease), Effect.as(Option.none())),
        Deferred.await(job.stop).pipe(Effect.map(Option.some)),
      )
      if (Option.isSome(stoppedWaiting)) return yield* stoppedBeforeStart(stoppedWaiting.value)
    }
    // Stopped between dispatch and here (a shutdown): do not start at all.
    const early = yield* Deferred.poll(job.stop)
    if (Option.isSome(early)) return yield* Effect.flatMap(early.value, stoppedBeforeStart)
    const startedResult = yield* Deliveries.start(delivery, consumer).pipe(persistently(lease), Effect.either)
    if (startedResult._tag === "Left") {
      const error = startedResult.left
      if (error._tag === "CancelRequested") {
        yield* Deliveries.confirmCancel(delivery, consumer).pipe(persistently(lease), Effect.ignore)
        return yield* count(WorkerMetrics.cancelled)
      }
      return yield* Effect.logDebug(`delivery ${delivery.entryId} not started: ${error._tag}`)
    }
    const started = startedResult.right
    job.started = true
    yield* count(WorkerMetrics.started)
    return yield* execute(started).pipe(
      Effect.annotateLogs({ attempt: started.attempt }),
      Metric.trackDuration(
        WorkerMetrics.forActor(WorkerMetrics.duration, actor).pipe(Metric.mapInput(Duration.toSeconds)),
      ),
    )
  })

  const fail = (failure: Deliveries.Failure, attempt: number) =>
    Deliveries.fail(delivery, consumer, failure).pipe(
      persistently(lease),
      Effect.tap((outcome) =>
        Effect.all([
          count(WorkerMetrics.failed),
          count(outcome._tag === "retrying" ? WorkerMetrics.retried : WorkerMetrics.deadLettered),
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
      Effect.catchTags({ LeaseLost: refused(actor, "failure"), JobAlreadyFinished: refused(actor, "failure") }),
      Effect.catchTag("CancelRequested", () => count(WorkerMetrics.cancelled)),
      Effect.asVoid,
    )

  const execute = (started: Deliveries.Started) =>
    Effect.gen(function* () {
      const decoded = yield* Effect.try(() => JSON.parse(started.input) as unknown).pipe(
        Effect.flatMap(Schema.decodeUnknown(contract.input)),
        Effect.either,
      )
      if (decoded._tag === "Left") {
        const message = decoded.left instanceof Error ? decoded.left.message : String(decoded.left)
        return yield* fail(
          {
            error: { tag: "MalformedInput", message },
            retryable: false,
            retryDelay: Duration.zero,
            reason: "malformed",
          },
          started.attempt,
        )
      }
      const controller = new AbortController()
      const context = makeContext(started, controller.signal)
      const timeout = contract.policy.timeout
      const attempt = handler.run(decoded.right, context).pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new HandlerTimeout({ message: `timed out after ${Duration.format(timeout)}` }),
        }),
        Effect.exit,
        Effect.map((exit) => ({ _tag: "finished" as const, exit })),
        Effect.ensuring(Effect.sync(() => controller.abort())),
      )
      const outcome = yield* Effect.raceFirst(
        attempt,
        Deferred.await(job.stop).pipe(Effect.map((reason) => ({ _tag: "stopped" as const, reason }))),
      )
      if (outcome._tag === "stopped") return yield* stopped(outcome.reason)
      return yield* finished(outcome.exit, started)
    })

  /** A job stopped before it started: at shutdown it goes back to its inbox for another worker. */
  const stoppedBeforeStart = (reason: StopReason) =>
    reason === "shutdown"
      ? Deliveries.release(delivery, consumer).pipe(
          persistently(lease),
          Effect.zipRight(count(WorkerMetrics.released)),
          Effect.zipRight(Effect.logDebug("released before it started, at shutdown")),
          Effect.catchAll(refused(actor, "release")),
        )
      : Effect.void

  const stopped = (reason: StopReason) => {
    switch (reason) {
      case "cancel":
        return Deliveries.confirmCancel(delivery, consumer).pipe(
          persistently(lease),
          Effect.zipRight(count(WorkerMetrics.cancelled)),
          Effect.zipRight(Effect.logInfo("cancelled while running; handler interrupted")),
          Effect.catchAll(refused(actor, "cancel")),
        )
      case "leaseLost":
        return refused(actor, "result")({ _tag: "LeaseLost", message: "the lease was lost; handler interrupted" })
      case "shutdown":
        return Deliveries.release(delivery, consumer).pipe(
          persistently(lease),
          Effect.zipRight(count(WorkerMetrics.released)),
          Effect.zipRight(Effect.logInfo("released at shutdown")),
          Effect.catchAll(refused(actor, "release")),
        )
    }
  }

  const finished = (exit: Exit.Exit<unknown, unknown>, started: Deliveries.Started) => {
    if (Exit.isSuccess(exit)) {
      return Schema.encode(contract.output)(exit.value).pipe(
        Effect.matchEffect({
          onFailure: (error) =>
            fail(
              { error: { tag: "InvalidOutput", message: error.message }, retryable: false, retryDelay: Duration.zero },
              started.attempt,
            ),
          onSuccess: (encoded) =>
            Deliveries.complete(delivery, consumer, JSON.stringify(encoded)).pipe(
              persistently(lease),
              Effect.zipRight(count(WorkerMetrics.succeeded)),
              Effect.catchTags({
                LeaseLost: refused(actor, "result"),
                JobAlreadyFinished: refused(actor, "result"),
                CancelRequested: () => count(WorkerMetrics.cancelled),
              }),
            ),
        }),
      )
    }
    const failure = Cause.failureOption(exit.cause)
    const error = Option.isSome(failure) ? failure.value : Cause.squash(exit.cause)
    return Actor.retryDelay(contract.policy, started.attempt).pipe(
      Effect.flatMap((retryDelay) =>
        fail({ error: Handler.errorInfo(error), retryable: Handler.isRetryable(error), retryDelay }, started.attempt),
      ),
    )
  }

  const makeContext = (started: Deliveries.Started, signal: AbortSignal): Handler.JobContext => {
    let lastProgress = 0
    const correlationId = started.correlationId ?? delivery.jobId
    return {
      jobId: delivery.jobId,
      actor,
      attempt: started.attempt,
      maxAttempts: started.maxAttempts,
      correlationId,
      signal,
      progress: (fraction, note) => {
        const now = Date.now()
        if (now - lastProgress < Duration.toMillis(deps.progressThrottle) && fraction < 1) return Effect.void
        lastProgress = now
        return Deliveries.progress(delivery, consumer, fraction, note).pipe(
          Effect.catchTag("CancelRequested", () => Deferred.succeed(job.stop, "cancel")),
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
  }

  return body.pipe(
    Effect.catchAll((error) => Effect.logWarning(`job ${delivery.jobId} not handled: ${String(error)}`)),
    Effect.catchAllDefect((defect) => Effect.logError("worker defect while handling a job", defect)),
    Effect.annotateLogs({ actor, jobId: delivery.jobId }),
    Effect.provide(services),
  )
}
