/**
 * Runs one delivery end to end: start (fenced; `claim` usually started it with its read), decode
 * the input, run the handler until it ends or is stopped (cancel, lease loss, timeout, shutdown),
 * then record the outcome through one fenced script (successes batched per inbox). A refusal (the
 * job was reclaimed, cancelled or finished elsewhere) means the result is not applied: it is
 * counted and logged, never an error storm.
 *
 * The way a job usually goes — claimed, no rate limit, the handler succeeds — is plain calls:
 * the handler gets a root fiber of its own (`Runtime.runFork`, which starts it at once and, for a
 * handler with nothing to wait for, ends it before it returns), its end is observed by a
 * callback, and its output joins the next batched completion through a callback too. Every other
 * way (a permit or a start to wait for, a failure, a refusal, a stop) runs as an Effect on a fiber
 * of its own. Why: see "the lean job path" in docs/benchmarks.md.
 */
import { Deliveries, DurableSubmit, Producer, RateLimiter, type RedisClient, type Settings } from "@eddy/core"
import { Cause, Duration, Effect, Either, Exit, FiberId, FiberRef, FiberRefs, HashMap, Runtime } from "effect"
import type * as Handler from "../Handler.js"
import * as Outcome from "./Outcome.js"
import * as PreparedHandler from "./PreparedHandler.js"
import * as Slots from "./Slots.js"
import type * as WorkerState from "./WorkerState.js"

type Needs = RedisClient.RedisClient | Settings.Settings

/** Stops a job at once: its handler (or its wait to start) is interrupted; the first reason wins. */
export const stopNow = (job: Slots.Job, reason: Slots.StopReason): void => {
  if (job.stopReason !== undefined) return
  job.stopReason = reason
  job.fiber?.unsafeInterruptAsFork(FiberId.none)
}

/** Stops a job (see `stopNow`). */
export const stop = (job: Slots.Job, reason: Slots.StopReason): Effect.Effect<void> =>
  Effect.sync(() => stopNow(job, reason))

/**
 * Log annotations of an actor's jobs: the worker's own plus the actor, and with each attempt
 * (index: attempt + 1; 0 for none yet), made once per actor and attempt.
 */
const actorAnnotations = new WeakMap<
  WorkerState.WorkerState,
  Map<string, Array<HashMap.HashMap<string, unknown> | undefined>>
>()

/** Attempts whose annotations are kept; later ones (rare) are made per job. */
const keptAttempts = 16

const baseAnnotations = (state: WorkerState.WorkerState, actor: string, attempt: number | undefined) => {
  let byActor = actorAnnotations.get(state)
  if (byActor === undefined) {
    byActor = new Map()
    actorAnnotations.set(state, byActor)
  }
  let byAttempt = byActor.get(actor)
  if (byAttempt === undefined) {
    byAttempt = []
    byActor.set(actor, byAttempt)
  }
  const index = attempt === undefined ? 0 : attempt + 1
  const kept = byAttempt[index]
  if (kept !== undefined) return kept
  const withActor = HashMap.set(
    FiberRefs.getOrDefault(state.runtime.fiberRefs, FiberRef.currentLogAnnotations),
    "actor",
    actor,
  )
  const made = attempt === undefined ? withActor : HashMap.set(withActor, "attempt", attempt)
  if (index < keptAttempts) byAttempt[index] = made
  return made
}

/**
 * Sets a job fiber's log annotations (actor, job id and, once known, attempt) as the fiber is
 * made: one map built per job from the actor's and attempt's (each set on a map copies part of
 * it), instead of an update of a running fiber's map (each update compares and hashes it whole).
 * The fiber's refs are made for it alone (`Runtime.runFork` copies the runtime's), so the entry is
 * set in them rather than in a second copy (`FiberRefs.updateAs`): a Map copy per job was ~10 % of
 * what the worker allocates per job (docs/benchmarks.md, session 13). A root fiber is never
 * joined, so the entry needs no history of its parent's values.
 */
const annotated = (state: WorkerState.WorkerState, delivery: Deliveries.Delivery, attempt?: number) => {
  const value = HashMap.set(baseAnnotations(state, delivery.actor, attempt), "jobId", delivery.jobId)
  return {
    updateRefs: (refs: FiberRefs.FiberRefs, fiberId: FiberId.Runtime) => {
      // Only where the copy is the fiber's own: never the runtime's refs themselves.
      if (refs.locals === state.runtime.fiberRefs.locals)
        return FiberRefs.updateAs(refs, { fiberId, fiberRef: FiberRef.currentLogAnnotations, value })
      refs.locals.set(FiberRef.currentLogAnnotations, [[fiberId, value]])
      return refs
    },
  }
}

/**
 * Runs `effect` for a job on a fiber of its own; the job leaves the slots when it ends. Not
 * interruptible by a stop: what it records must be recorded.
 */
const record = (
  state: WorkerState.WorkerState,
  job: Slots.Job,
  effect: Effect.Effect<void, never, Needs>,
  attempt?: number,
): void => {
  const fiber = Runtime.runFork(state.runtime)(
    Effect.uninterruptible(effect).pipe(
      Effect.catchAllDefect((defect) => Effect.logError("worker defect while recording a job's outcome", defect)),
    ),
    annotated(state, job.delivery, attempt),
  )
  fiber.addObserver(() => Slots.remove(state.slots, job))
}

/**
 * Launches a job the slots have just put in flight. Returns once its handler runs (or, for a
 * handler with nothing to wait for, has already ended).
 */
export const launch = (state: WorkerState.WorkerState, job: Slots.Job): void => {
  const handler = state.handlers.get(job.delivery.actor)
  if (handler === undefined) {
    Slots.remove(state.slots, job)
    return
  }
  const prepared = PreparedHandler.prepare(handler)
  const claimed = job.claimed
  if (claimed !== undefined && Either.isRight(claimed) && handler.contract.policy.rateLimit === undefined) {
    job.started = true
    prepared.metrics.started.unsafeUpdate(1, [])
    execute(state, job, handler, prepared, claimed.right)
    return
  }
  const fiber = Runtime.runFork(state.runtime)(
    Effect.uninterruptibleMask((restore) => beforeRun(state, job, handler, prepared, restore)).pipe(
      Effect.catchAll((error) => Effect.logWarning(`job ${job.delivery.jobId} not handled: ${String(error)}`)),
      Effect.catchAllDefect((defect) => Effect.logError("worker defect while starting a job", defect)),
    ),
    annotated(state, job.delivery),
  )
  // Until the handler runs, a stop interrupts this fiber (its permit wait).
  if (job.fiber === undefined) job.fiber = fiber
  fiber.addObserver(() => {
    // Ended without handing the job to a handler (refused, stopped, dead-lettered).
    if (job.fiber === fiber) Slots.remove(state.slots, job)
  })
}

/**
 * What comes before the handler when `claim` did not start the job: the malformed entry, the
 * rate-limit permit, the start. Ends by launching the handler (see `execute`).
 */
const beforeRun = (
  state: WorkerState.WorkerState,
  job: Slots.Job,
  handler: Handler.Any,
  prepared: PreparedHandler.Prepared,
  restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
): Effect.Effect<void, unknown, Needs> =>
  Effect.gen(function* () {
    const { delivery } = job
    const { consumer } = state
    const { count, persistently } = prepared
    const contract = handler.contract
    if (delivery.jobId === "") {
      yield* Deliveries.deadLetterEntry(delivery, consumer, "inbox entry names no job").pipe(persistently)
      yield* count.deadLettered
      return yield* Effect.logWarning(`dead-lettered malformed entry ${delivery.entryId} of ${contract.name}`)
    }
    if (contract.policy.rateLimit !== undefined) {
      const permit = yield* restore(
        RateLimiter.acquire(contract.name, contract.policy.rateLimit).pipe(persistently),
      ).pipe(Effect.exit)
      if (Exit.isFailure(permit) && !Cause.isInterruptedOnly(permit.cause)) return yield* permit
    }
    // Stopped before it started (a shutdown): it goes back to its inbox for another worker.
    if (job.stopReason !== undefined) return yield* Outcome.stoppedBeforeStart(state, job, prepared)
    const startedResult = job.claimed ?? (yield* state.batches.start.call(delivery).pipe(persistently, Effect.either))
    if (startedResult._tag === "Left") {
      const error = startedResult.left
      if (error._tag === "CancelRequested") {
        yield* Deliveries.confirmCancel(delivery, consumer).pipe(persistently, Effect.ignore)
        return yield* count.cancelled
      }
      if (error._tag === "ActorPaused") {
        // Paused since it was read: it waits, unstarted and held, for the actor's resume.
        state.paused.add(delivery.actor)
        return Slots.requeue(state.slots, job)
      }
      return yield* Effect.logDebug(`delivery ${delivery.entryId} not started: ${error._tag}`)
    }
    job.started = true
    yield* count.started
    execute(state, job, handler, prepared, startedResult.right)
  })

/**
 * Decodes the input and runs the handler on a fiber of its own; its end is recorded by `ended`.
 * Synchronous: a stop interrupts the handler's fiber.
 */
const execute = (
  state: WorkerState.WorkerState,
  job: Slots.Job,
  handler: Handler.Any,
  prepared: PreparedHandler.Prepared,
  started: Deliveries.Started,
): void => {
  const decoded = prepared.decodeInput(started.input)
  if (decoded._tag === "Left") {
    job.fiber = undefined
    const message = decoded.left instanceof Error ? decoded.left.message : String(decoded.left)
    const malformed: Deliveries.Failure = {
      error: { tag: "MalformedInput", message },
      retryable: false,
      retryDelay: Duration.zero,
      reason: "malformed",
    }
    record(state, job, Outcome.fail(state, job, prepared, malformed, started.attempt), started.attempt)
    return
  }
  const context = makeContext(state, job, handler, started)
  // Sub-millisecond: most handlers of a busy worker take less than one.
  const startedAt = performance.now()
  job.deadline = Date.now() + prepared.timeoutMs
  // A stop that came while the job was starting: the handler is not run at all.
  const run = job.stopReason === undefined ? handler.run(decoded.right, context.context) : Effect.interrupt
  const fiber = Runtime.runFork(state.runtime)(run, annotated(state, job.delivery, started.attempt))
  job.fiber = fiber
  fiber.addObserver((exit) => {
    context.abort()
    job.deadline = Number.POSITIVE_INFINITY
    prepared.metrics.duration.unsafeUpdate((performance.now() - startedAt) / 1000, [])
    ended(state, job, prepared, started, exit)
  })
}

/** Records a handler's end: a success joins the next batched completion; anything else runs as an Effect. */
const ended = (
  state: WorkerState.WorkerState,
  job: Slots.Job,
  prepared: PreparedHandler.Prepared,
  started: Deliveries.Started,
  exit: Exit.Exit<unknown, unknown>,
): void => {
  if (job.stopReason === undefined && Exit.isSuccess(exit)) {
    const output = prepared.encodeOutput(exit.value)
    if (Either.isRight(output)) {
      const completion = { job, delivery: job.delivery, output: output.right }
      state.batches.complete.offer(completion, (result) => {
        if (Exit.isSuccess(result)) {
          prepared.metrics.succeeded.unsafeUpdate(1, [])
          Slots.remove(state.slots, job)
        } else {
          // Refused, or Redis trouble (retried within the lease): the rare way, as an Effect.
          record(state, job, Outcome.completeAgain(state, prepared, completion, result.cause), started.attempt)
        }
      })
      return
    }
  }
  record(state, job, Outcome.outcome(state, job, prepared, started, exit), started.attempt)
}

/**
 * The handler's context. Its `AbortSignal` is made only if the handler reads it (most Effect
 * handlers never do), and `abort` fires it once the handler is over.
 */
const makeContext = (
  state: WorkerState.WorkerState,
  job: Slots.Job,
  handler: Handler.Any,
  started: Deliveries.Started,
) => {
  const { delivery } = job
  const services = state.runtime.context
  let lastProgress = 0
  let controller: AbortController | undefined
  const correlationId = started.correlationId ?? delivery.jobId
  const context: Handler.JobContext = {
    jobId: delivery.jobId,
    actor: handler.contract.name,
    attempt: started.attempt,
    maxAttempts: started.maxAttempts,
    correlationId,
    get signal() {
      controller ??= new AbortController()
      return controller.signal
    },
    progress: (fraction, note) => {
      const now = Date.now()
      if (now - lastProgress < state.progressThrottleMs && fraction < 1) return Effect.void
      lastProgress = now
      return Deliveries.progress(delivery, state.consumer, fraction, note).pipe(
        Effect.catchTag("CancelRequested", () => stop(job, "cancel")),
        Effect.catchAll((error) => Effect.logDebug(`progress not recorded: ${error._tag}`)),
        Effect.asVoid,
        Effect.provide(services),
      )
    },
    send: (target, input, options = {}) =>
      Producer.prepare(target, input, { ...options, correlationId, causationId: delivery.jobId }).pipe(
        Effect.flatMap(DurableSubmit.submit),
        Effect.provide(services),
      ),
  }
  return { context, abort: () => controller?.abort() }
}
