/**
 * How a job's attempt is recorded when it is not a plain success claimed and completed in a batch
 * (see `JobRunner`): a failure (retry with the contract's backoff, or dead letter), a timeout, a
 * stop (cancel, lost lease, shutdown), a refusal, and a completion Redis trouble held up. Each is
 * one fenced script, retried through Redis trouble within the lease; a refusal is counted and
 * logged, never an error.
 */
import { Actor, Deliveries, type RedisClient, type ScriptOutcome, type Settings } from "@eddy/core"
import { Cause, Duration, Effect, Either, Exit, Option, Queue, Schema } from "effect"
import * as Handler from "../Handler.js"
import type * as PreparedHandler from "./PreparedHandler.js"
import type * as Slots from "./Slots.js"
import type * as WorkerState from "./WorkerState.js"

type Needs = RedisClient.RedisClient | Settings.Settings

class HandlerTimeout extends Schema.TaggedError<HandlerTimeout>()("Timeout", { message: Schema.String }) {}

/** A job stopped before it started: at shutdown it goes back to its inbox for another worker. */
export const stoppedBeforeStart = (
  state: WorkerState.WorkerState,
  job: Slots.Job,
  prepared: PreparedHandler.Prepared,
) =>
  job.stopReason === "shutdown"
    ? Deliveries.release(job.delivery, state.consumer).pipe(
        prepared.persistently,
        Effect.zipRight(prepared.count.released),
        Effect.zipRight(Effect.logDebug("released before it started, at shutdown")),
        Effect.catchAll(refused(prepared, "release")),
      )
    : Effect.void

/**
 * Logs and counts a refusal: the job changed hands; nothing was applied. A job this worker had
 * finished itself (an earlier call timed out on the way back but went through) is no refusal: it
 * is said at debug level and counted apart.
 */
const refused =
  (prepared: PreparedHandler.Prepared, what: string) =>
  (error: { readonly _tag: string; readonly message: string; readonly byThisWorker?: boolean | undefined }) =>
    error._tag === "JobAlreadyFinished" && error.byThisWorker === true
      ? Effect.logDebug(`${what} applied already by this worker's earlier call (${error.message})`).pipe(
          Effect.zipRight(prepared.count.alreadyApplied),
        )
      : Effect.logWarning(`${what} not applied: ${error._tag} (${error.message})`).pipe(
          Effect.zipRight(prepared.count.rejected),
        )

/** What a completion's refusal means: counted (a requested cancel won), never a failure. */
const completionRefused = <R>(
  prepared: PreparedHandler.Prepared,
  recording: Effect.Effect<void, ScriptOutcome.Refusal | RedisClient.RedisError, R>,
): Effect.Effect<void, never, R> =>
  recording.pipe(
    Effect.catchTags({
      LeaseLost: refused(prepared, "result"),
      JobAlreadyFinished: refused(prepared, "result"),
      CancelRequested: () => prepared.count.cancelled,
    }),
    Effect.catchAll((error) => Effect.logWarning(`result not recorded: ${error._tag} (${error.message})`)),
  )

/** Records a success through the batched completion, as an Effect, retrying Redis trouble within the lease. */
const complete = (
  state: WorkerState.WorkerState,
  prepared: PreparedHandler.Prepared,
  completion: WorkerState.Completion,
): Effect.Effect<void, never, Needs> =>
  completionRefused(
    prepared,
    prepared.persistently(state.batches.complete.call(completion)).pipe(Effect.zipRight(prepared.count.succeeded)),
  )

/** A batched completion that did not go through: Redis trouble is retried, a refusal counted. */
export const completeAgain = (
  state: WorkerState.WorkerState,
  prepared: PreparedHandler.Prepared,
  completion: WorkerState.Completion,
  cause: Cause.Cause<ScriptOutcome.Refusal | RedisClient.RedisError>,
): Effect.Effect<void, never, Needs> => {
  const failure = Cause.failureOption(cause)
  if (Option.isNone(failure)) return Effect.logDebug("result not recorded: the worker is stopping")
  return failure.value._tag === "RedisUnavailable"
    ? complete(state, prepared, completion)
    : completionRefused(prepared, Effect.fail(failure.value))
}

/** Records a failed attempt: a retry with the contract's backoff, or a dead letter. */
export const fail = (
  state: WorkerState.WorkerState,
  job: Slots.Job,
  prepared: PreparedHandler.Prepared,
  failure: Deliveries.Failure,
  attempt: number,
): Effect.Effect<void, never, Needs> => {
  const { count } = prepared
  return Deliveries.fail(job.delivery, state.consumer, failure).pipe(
    prepared.persistently,
    Effect.tap((result) =>
      Effect.all([
        count.failed,
        result._tag === "retrying" ? count.retried : count.deadLettered,
        result._tag === "retrying" ? Effect.sync(() => Queue.unsafeOffer(state.promoteSoon, undefined)) : Effect.void,
        result._tag === "retrying"
          ? Effect.logInfo(
              `attempt ${attempt} failed (${failure.error.tag}: ${failure.error.message}); retry at ${new Date(result.retryAt).toISOString()}`,
            )
          : Effect.logWarning(
              `attempt ${attempt} failed (${failure.error.tag}: ${failure.error.message}); dead-lettered (${result.reason})`,
            ),
      ]),
    ),
    Effect.catchTags({ LeaseLost: refused(prepared, "failure"), JobAlreadyFinished: refused(prepared, "failure") }),
    Effect.catchTag("CancelRequested", () => count.cancelled),
    Effect.catchAll((error) => Effect.logWarning(`failure not recorded: ${error._tag} (${error.message})`)),
    Effect.asVoid,
  )
}

/** What a handler's end records when it is not a plain success: a timeout and a stop come first. */
export const outcome = (
  state: WorkerState.WorkerState,
  job: Slots.Job,
  prepared: PreparedHandler.Prepared,
  started: Deliveries.Started,
  exit: Exit.Exit<unknown, unknown>,
): Effect.Effect<void, never, Needs> => {
  const { contract } = prepared
  if (job.stopReason === "timeout") {
    const timeout = new HandlerTimeout({ message: `timed out after ${Duration.format(contract.policy.timeout)}` })
    return failed(state, job, prepared, started, Exit.fail(timeout) as Exit.Failure<unknown, unknown>)
  }
  if (Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)) return stopped(state, job, prepared)
  if (Exit.isFailure(exit)) return failed(state, job, prepared, started, exit)
  // A success with a stop on its way (a cancel, a lost lease): recorded all the same, and Redis
  // decides (a requested cancel wins; a lost lease is refused).
  const output = prepared.encodeOutput(exit.value)
  return Either.isRight(output)
    ? complete(state, prepared, { job, delivery: job.delivery, output: output.right })
    : fail(
        state,
        job,
        prepared,
        { error: { tag: "InvalidOutput", message: output.left }, retryable: false, retryDelay: Duration.zero },
        started.attempt,
      )
}

/** A handler that failed (or timed out): a failed attempt with the contract's backoff. */
const failed = (
  state: WorkerState.WorkerState,
  job: Slots.Job,
  prepared: PreparedHandler.Prepared,
  started: Deliveries.Started,
  exit: Exit.Failure<unknown, unknown>,
): Effect.Effect<void, never, Needs> => {
  const failure = Cause.failureOption(exit.cause)
  const error = Option.isSome(failure) ? failure.value : Cause.squash(exit.cause)
  return Actor.retryDelay(prepared.contract.policy, started.attempt).pipe(
    Effect.flatMap((retryDelay) =>
      fail(
        state,
        job,
        prepared,
        { error: Handler.errorInfo(error), retryable: Handler.isRetryable(error), retryDelay },
        started.attempt,
      ),
    ),
  )
}

/** A handler stopped before it ended: cancelled, its lease lost, or released at shutdown. */
const stopped = (
  state: WorkerState.WorkerState,
  job: Slots.Job,
  prepared: PreparedHandler.Prepared,
): Effect.Effect<void, never, Needs> => {
  const { delivery } = job
  const { count, persistently } = prepared
  switch (job.stopReason ?? "shutdown") {
    case "cancel":
      return Deliveries.confirmCancel(delivery, state.consumer).pipe(
        persistently,
        Effect.zipRight(count.cancelled),
        Effect.zipRight(Effect.logInfo("cancelled while running; handler interrupted")),
        Effect.catchAll(refused(prepared, "cancel")),
      )
    case "leaseLost":
      return refused(prepared, "result")({ _tag: "LeaseLost", message: "the lease was lost; handler interrupted" })
    case "timeout": // handled as a failed attempt before this is reached
    case "shutdown":
      return Deliveries.release(delivery, state.consumer).pipe(
        persistently,
        Effect.zipRight(count.released),
        Effect.zipRight(Effect.logInfo("released at shutdown")),
        Effect.catchAll(refused(prepared, "release")),
      )
  }
}
