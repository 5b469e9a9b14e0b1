/**
 * Waiting for a job's result on the process's shared tailer: the first outcome (a terminal event,
 * or with `failFast` a failed attempt) answers, whether it is already in the job's record or
 * arrives as an event. No polling and no connection per waiter.
 */
import { Duration, Effect, Option } from "effect"
import type * as EventTailer from "../EventTailer.js"
import { JobCancelled, JobDeadLettered, JobFailed, type JobNotFound, ResultTimeout } from "../JobErrors.js"
import type * as JobEvent from "../JobEvent.js"
import type * as JobStatus from "../JobStatus.js"
import type { RedisError } from "../RedisClient.js"

/** Typed failures of `result`. */
export type ResultFailure = JobDeadLettered | JobCancelled | ResultTimeout | JobFailed

/** How long to wait, and whether a failed attempt already ends the wait. */
export interface ResultOptions {
  readonly timeout: Duration.DurationInput
  readonly failFast?: boolean
}

/** The outcome of a dead-lettered job, as its record or its event tells it. */
const deadLettered = (
  jobId: string,
  reason: JobDeadLettered["reason"],
  error: JobDeadLettered["error"],
): Option.Option<Effect.Effect<unknown, ResultFailure>> =>
  Option.some(Effect.fail(new JobDeadLettered({ jobId, reason, ...(error === undefined ? {} : { error }) })))

/** The outcome a job's status gives once it has ended; none while it waits or runs. */
const outcomeOfStatus = (status: JobStatus.JobStatus): Option.Option<Effect.Effect<unknown, ResultFailure>> => {
  switch (status.state) {
    case "succeeded":
      return Option.some(Effect.succeed(status.output))
    case "deadLettered":
      return deadLettered(status.jobId, status.deadLetterReason ?? "attemptsExhausted", status.error)
    case "cancelled":
      return Option.some(Effect.fail(new JobCancelled({ jobId: status.jobId })))
    default:
      return Option.none()
  }
}

/** The outcome an event gives: none for an event that does not end the wait. */
const outcomeOfEvent = (
  event: JobEvent.JobEvent,
  failFast: boolean,
): Option.Option<Effect.Effect<unknown, ResultFailure>> => {
  switch (event.type) {
    case "succeeded":
      return Option.some(Effect.succeed(event.output))
    case "deadLettered":
      return deadLettered(event.jobId, event.reason, event.error)
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

/**
 * The `result` operation over a tailer and a reader of ended statuses (`JobStore.endedStatus`,
 * already provided with its Redis).
 *
 * Listens first, then reads the status: an event landing in between is still seen (the first
 * outcome wins). The read decodes the record whole only for a job that has already ended. The
 * wait itself is one callback and a plain timer: `Effect.timeoutFail` and a queue per wait
 * forked a fiber, a sleep and an interruption for every result, a measured share of what
 * survived the young-generation collections of a producer at 500 results/s. The timeout bounds
 * the wait from the call; the status read before it is bounded by Redis's own.
 */
export const waitForResult =
  (
    tailer: EventTailer.EventTailerService,
    endedStatus: (jobId: string) => Effect.Effect<Option.Option<JobStatus.JobStatus>, JobNotFound | RedisError>,
  ) =>
  (jobId: string, options: ResultOptions): Effect.Effect<unknown, ResultFailure | JobNotFound | RedisError> =>
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
          Effect.flatMap(endedStatus(jobId), (ended) =>
            Option.getOrElse(Option.flatMap(ended, outcomeOfStatus), () => early ?? outcome),
          ),
        (stop) => Effect.sync(stop),
      )
    })
