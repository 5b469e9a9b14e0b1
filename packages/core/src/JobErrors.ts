/**
 * The errors a producer, worker or operator can meet. Those that cross a process boundary
 * (returned by the SDK, sent by the gateway) are `Schema.TaggedError`s.
 */
import { Schema } from "effect"
import { DeadLetterReason, ErrorInfo } from "./JobEvent.js"

/** One path-level problem with an input. */
export const Issue = Schema.Struct({
  path: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  message: Schema.String,
})
export type Issue = typeof Issue.Type

/** The input does not match the actor's input Schema. Nothing was written. */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  actor: Schema.String,
  message: Schema.String,
  issues: Schema.Array(Issue),
}) {}

/** The encoded input is larger than `EDDY_MAX_PAYLOAD_BYTES`. Nothing was written. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  actor: Schema.String,
  message: Schema.String,
  size: Schema.Number,
  limit: Schema.Number,
}) {}

/** A submit option is not acceptable (job id, delay, lane). Nothing was written. */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>()("InvalidOptions", {
  message: Schema.String,
}) {}

/** The actor is paused: its deliveries are not started until it is resumed. Nothing changed. */
export class ActorPaused extends Schema.TaggedError<ActorPaused>()("ActorPaused", {
  jobId: Schema.String,
}) {
  override get message() {
    return `the actor of job ${this.jobId} is paused`
  }
}

/** No job with this id (never submitted, or its record expired after retention). */
export class JobNotFound extends Schema.TaggedError<JobNotFound>()("JobNotFound", {
  jobId: Schema.String,
}) {
  override get message() {
    return `no job ${this.jobId}`
  }
}

/** The job has already ended; nothing was changed. */
export class JobAlreadyFinished extends Schema.TaggedError<JobAlreadyFinished>()("JobAlreadyFinished", {
  jobId: Schema.String,
  state: Schema.String,
  /**
   * A fenced worker call: this consumer ended the job itself (an earlier call of its own whose
   * answer it never got), so nothing was lost.
   */
  byThisWorker: Schema.optional(Schema.Boolean),
}) {
  override get message() {
    return `job ${this.jobId} is already ${this.state}`
  }
}

/** The operation does not apply to the job in its current state (e.g. requeue of a live job). */
export class JobNotInState extends Schema.TaggedError<JobNotInState>()("JobNotInState", {
  jobId: Schema.String,
  state: Schema.String,
  expected: Schema.String,
}) {
  override get message() {
    return `job ${this.jobId} is ${this.state}, not ${this.expected}`
  }
}

/**
 * This worker no longer holds the delivery (reclaimed after a stall, released, cancelled or
 * gone): its result is not applied. An expected outcome, not a fault.
 */
export class LeaseLost extends Schema.TaggedError<LeaseLost>()("LeaseLost", {
  jobId: Schema.String,
}) {}

/** A cancel was requested for the running job; the worker stops and confirms. */
export class CancelRequested extends Schema.TaggedError<CancelRequested>()("CancelRequested", {
  jobId: Schema.String,
}) {}

/** `result` with `failFast`: an attempt failed (a retry may still follow). */
export class JobFailed extends Schema.TaggedError<JobFailed>()("JobFailed", {
  jobId: Schema.String,
  attempt: Schema.Number,
  error: ErrorInfo,
  willRetry: Schema.Boolean,
}) {}

/** The job ended dead-lettered. */
export class JobDeadLettered extends Schema.TaggedError<JobDeadLettered>()("JobDeadLettered", {
  jobId: Schema.String,
  reason: DeadLetterReason,
  error: Schema.optional(ErrorInfo),
}) {}

/** The job ended cancelled. */
export class JobCancelled extends Schema.TaggedError<JobCancelled>()("JobCancelled", {
  jobId: Schema.String,
}) {}

/** The job did not end within the time `result` was given. It goes on running. */
export class ResultTimeout extends Schema.TaggedError<ResultTimeout>()("ResultTimeout", {
  jobId: Schema.String,
  timeoutMs: Schema.Number,
}) {}

/** A stored output did not decode with the contract's output Schema. */
export class OutputMismatch extends Schema.TaggedError<OutputMismatch>()("OutputMismatch", {
  jobId: Schema.String,
  message: Schema.String,
}) {}
