/**
 * A job's current state, read from its record (the `jobs` hash of its partition). The record is
 * written only by the lifecycle scripts; this module decodes it into the public status document.
 * A record is a MessagePack map (JSON in records written before 2026-12-07: its first byte is
 * `{`, which no MessagePack map starts with). Read it as bytes (`hgetBuffer`): as text, the
 * client would mangle MessagePack's binary lengths and numbers.
 */
import { Option, Schema } from "effect"
import { Unpackr } from "msgpackr"
import { DeadLetterReason, ErrorInfo, Lane } from "./JobEvent.js"

/** Where a job is in its life. */
export const State = Schema.Literal("queued", "delayed", "active", "retrying", "succeeded", "deadLettered", "cancelled")
export type State = typeof State.Type

/** The states a job ends in. */
export const isFinished = (state: State): boolean =>
  state === "succeeded" || state === "deadLettered" || state === "cancelled"

/** The record as the scripts store it (see lib/records.lua for the field names). */
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

const decodeRecord = Schema.decodeUnknownOption(Record)

/** A stored record as it reads: MessagePack or JSON bytes, or JSON text (a record written before). */
export type StoredRecord = Uint8Array | string

const openBrace = 0x7b
// Lua's cmsgpack writes whole numbers past 32 bits (a record's submission time) as 64-bit
// integers: read as numbers, not BigInts. Records are plain maps (no msgpackr records).
const unpacker = new Unpackr({ int64AsType: "number", useRecords: false, mapsAsObjects: true })

/**
 * The fields of a stored record, as the scripts wrote them (short names, see lib/records.lua);
 * undefined when it is not a record's encoding. For tools and tests that look at the store.
 */
export const fieldsOfRecord = (raw: StoredRecord): { readonly [field: string]: unknown } | undefined => {
  try {
    const decoded: unknown =
      typeof raw === "string"
        ? JSON.parse(raw)
        : raw[0] === openBrace
          ? JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString())
          : unpacker.unpack(raw)
    return typeof decoded === "object" && decoded !== null && !Array.isArray(decoded)
      ? (decoded as { readonly [field: string]: unknown })
      : undefined
  } catch {
    return undefined
  }
}
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
 * The state of a stored record, read without decoding the rest with the Schema (`fromRecord`,
 * ~5× the cost): undefined when it is not a record.
 */
export const stateOfRecord = (raw: StoredRecord): State | undefined => {
  const state = fieldsOfRecord(raw)?.s
  return isState(state) ? state : undefined
}

/**
 * Decodes the stored record of job `jobId` (the hash field: the record leaves it out); `None`
 * when it is not one (never written by these scripts), its input or output JSON text included.
 */
export const fromRecord = (jobId: string, raw: StoredRecord): Option.Option<JobStatus> =>
  Option.map(decodeRecord(fieldsOfRecord(raw)), (r) => ({
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
