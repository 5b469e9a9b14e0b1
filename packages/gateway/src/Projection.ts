/**
 * The status projection as the API shows it. The read model itself is core's `ReadModel`, kept
 * inline by the lifecycle scripts (no projector, no lag); this module shapes one of its jobs as a
 * `JobView`: state, attempt, progress, times and durations, worker and last error.
 */
import { JobEvent, JobStatus } from "@eddy/core"
import { Schema } from "effect"

/** One job as the projection shows it. */
export const JobView = Schema.Struct({
  jobId: Schema.String,
  actor: Schema.String,
  state: JobStatus.State,
  attempt: Schema.Number,
  progress: Schema.Number,
  cancelRequested: Schema.Boolean,
  worker: Schema.optional(Schema.String),
  submittedAt: Schema.Number,
  startedAt: Schema.optional(Schema.Number),
  finishedAt: Schema.optional(Schema.Number),
  /** From submission to the start, for a first attempt. */
  queueMs: Schema.optional(Schema.Number),
  /** From the last start to the end. */
  runMs: Schema.optional(Schema.Number),
  error: Schema.optional(JobEvent.ErrorInfo),
  deadLetterReason: Schema.optional(JobEvent.DeadLetterReason),
  /** The job's newest event in its partition's log ("" before any is known). */
  lastEventId: Schema.String,
})
export type JobView = typeof JobView.Type

/** A job's status (its record) as a view. */
export const viewOf = (status: JobStatus.JobStatus): JobView => ({
  jobId: status.jobId,
  actor: status.actor,
  state: status.state,
  attempt: status.attempt,
  progress: status.progress,
  cancelRequested: status.cancelRequested,
  submittedAt: status.submittedAt,
  lastEventId: status.eventIds.at(-1) ?? "",
  ...(status.worker === undefined ? {} : { worker: status.worker }),
  ...(status.startedAt === undefined ? {} : { startedAt: status.startedAt }),
  ...(status.finishedAt === undefined ? {} : { finishedAt: status.finishedAt }),
  ...(status.startedAt !== undefined && status.attempt === 1 ? { queueMs: status.startedAt - status.submittedAt } : {}),
  ...(status.startedAt !== undefined && status.finishedAt !== undefined
    ? { runMs: status.finishedAt - status.startedAt }
    : {}),
  ...(status.error === undefined ? {} : { error: status.error }),
  ...(status.deadLetterReason === undefined ? {} : { deadLetterReason: status.deadLetterReason }),
})
