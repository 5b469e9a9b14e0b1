/**
 * A job's current state, read from its record (the `jobs` hash of its partition). The record is
 * written only by the lifecycle scripts; this module decodes it into the public status document.
 */
import { Option, Schema } from "effect"
import { DeadLetterReason, ErrorInfo, Lane } from "./JobEvent.js"

/** Where a job is in its life. */
export const State = Schema.Literal("queued", "delayed", "active", "retrying", "succeeded", "deadLettered", "cancelled")
export type State = typeof State.Type

/** The states a job ends in. */
export const isFinished = (state: State): boolean =>
  state === "succeeded" || state === "deadLettered" || state === "cancelled"

/** The record as the scripts store it (see lib.lua for the field names). */
const Record = Schema.Struct({
  a: Schema.String,
  /** Absent for the usual lane, `normal`. */
  l: Schema.optional(Lane),
  s: State,
  n: Schema.Number,
  m: Schema.Number,
  /** The input and the output as JSON text; a record whose text does not parse is no record. */
  i: Schema.parseJson(),
  o: Schema.optional(Schema.parseJson()),
  e: Schema.optional(Schema.String),
  c: Schema.optional(Schema.String),
  k: Schema.optional(Schema.String),
  x: Schema.optional(Schema.String),
  cr: Schema.optional(Schema.Number),
  t: Schema.Number,
  st: Schema.optional(Schema.Number),
  ft: Schema.optional(Schema.Number),
  due: Schema.optional(Schema.Number),
  w: Schema.optional(Schema.String),
  p: Schema.optional(Schema.Number),
  h: Schema.optional(Schema.String),
  r: Schema.optional(DeadLetterReason),
})

/** The public status document of a job. */
export const JobStatus = Schema.Struct({
  jobId: Schema.String,
  actor: Schema.String,
  lane: Lane,
  state: State,
  attempt: Schema.Number,
  maxAttempts: Schema.Number,
  progress: Schema.Number,
  cancelRequested: Schema.Boolean,
  input: Schema.Unknown,
  output: Schema.optional(Schema.Unknown),
  error: Schema.optional(ErrorInfo),
  /** Why the job was dead-lettered, when it was. */
  deadLetterReason: Schema.optional(DeadLetterReason),
  submittedAt: Schema.Number,
  startedAt: Schema.optional(Schema.Number),
  finishedAt: Schema.optional(Schema.Number),
  dueAt: Schema.optional(Schema.Number),
  worker: Schema.optional(Schema.String),
  correlationId: Schema.optional(Schema.String),
  causationId: Schema.optional(Schema.String),
  /** Ids of the job's events in its partition's log, oldest first. */
  eventIds: Schema.Array(Schema.String),
})
export type JobStatus = typeof JobStatus.Type

const decodeRecord = Schema.decodeUnknownOption(Schema.parseJson(Record))
const decodeError = Schema.decodeUnknownOption(Schema.parseJson(ErrorInfo))

/**
 * An event id from the record's history: `<ms after submission>:<seq>` (a full `ms-seq` id in
 * records written before the history was stored that way).
 */
const eventId = (submittedAt: number, entry: string): string => {
  const colon = entry.indexOf(":")
  return colon < 0 ? entry : `${submittedAt + Number(entry.slice(0, colon))}-${entry.slice(colon + 1)}`
}

/**
 * A time the record keeps as an offset from the submission (an absolute time in records written
 * before; no offset comes near 1e11 ms, three years).
 */
const afterSubmission = (submittedAt: number, stored: number): number =>
  stored >= 1e11 ? stored : submittedAt + stored

const isState = Schema.is(State)

/**
 * The state of a stored record, read without decoding the rest (`fromRecord` decodes every field
 * with the Schema, ~5× the cost): undefined when the text is not a record's JSON.
 */
export const stateOfRecord = (raw: string): State | undefined => {
  try {
    const state: unknown = (JSON.parse(raw) as { readonly s?: unknown } | null)?.s
    return isState(state) ? state : undefined
  } catch {
    return undefined
  }
}

/**
 * Decodes the stored record of job `jobId` (the hash field: the record leaves it out); `None`
 * when it is not one (never written by these scripts), its input or output JSON text included.
 */
export const fromRecord = (jobId: string, raw: string): Option.Option<JobStatus> =>
  Option.map(decodeRecord(raw), (r) => ({
    jobId,
    actor: r.a,
    lane: r.l ?? "normal",
    state: r.s,
    attempt: r.n,
    maxAttempts: r.m,
    // A succeeded job's record leaves out its progress: it is complete.
    progress: r.s === "succeeded" ? 1 : (r.p ?? 0),
    cancelRequested: r.cr !== undefined,
    input: r.i,
    ...(r.o === undefined ? {} : { output: r.o }),
    ...(r.e === undefined
      ? {}
      : Option.match(decodeError(r.e), { onNone: () => ({}), onSome: (error) => ({ error }) })),
    ...(r.r === undefined ? {} : { deadLetterReason: r.r }),
    submittedAt: r.t,
    ...(r.st === undefined ? {} : { startedAt: afterSubmission(r.t, r.st) }),
    ...(r.ft === undefined ? {} : { finishedAt: afterSubmission(r.t, r.ft) }),
    ...(r.due === undefined ? {} : { dueAt: afterSubmission(r.t, r.due) }),
    ...(r.w === undefined ? {} : { worker: r.w }),
    ...(r.c === undefined ? {} : { correlationId: r.c }),
    ...(r.k === undefined ? {} : { causationId: r.k }),
    eventIds: r.h === undefined || r.h === "" ? [] : r.h.split(",").map((entry) => eventId(r.t, entry)),
  }))
