/**
 * The event catalogue: immutable facts about a job, one entry each in the partition's event log.
 *
 * On the wire (a stream entry) an event is two fields: `e`, a JSON array of the type, the job
 * id, the actor, the attempt, then the worker, correlation and causation ids (`""` for an absent
 * one, trailing absent ones left out), and `d`, a JSON object with the type's own fields (`""`
 * for none). Its time (`at`, ms since the epoch) is its entry id's. Entries written until
 * 2026-12-07 (version 1) have flat fields instead — `v`, `type`, `job`, `actor`, `n`, `w`, `c`,
 * `k`, `d` — and readers take both (a version 1 reader skips version 2 entries: see the README's
 * upgrade note). Readers skip a type they do not know and ignore fields and array places they do
 * not know, so old readers survive new types and new fields.
 */
import { Option, Schema } from "effect"

/** The wire format writers use today (see above; version 1 had flat fields). */
export const version = 2

/** An error as it travels between processes: never a raw stack. */
export const ErrorInfo = Schema.Struct({
  tag: Schema.String,
  message: Schema.String,
  data: Schema.optional(Schema.Unknown),
})
export type ErrorInfo = typeof ErrorInfo.Type

const common = {
  /** The stream entry id: unique and ordered within the partition. */
  id: Schema.String,
  jobId: Schema.String,
  actor: Schema.String,
  attempt: Schema.Number,
  /** Milliseconds since the epoch, from the Redis server's clock. */
  at: Schema.Number,
  worker: Schema.optional(Schema.String),
  correlationId: Schema.optional(Schema.String),
  causationId: Schema.optional(Schema.String),
}

const event = <T extends string, F extends Schema.Struct.Fields>(type: T, fields: F) =>
  Schema.Struct({ type: Schema.Literal(type), ...common, ...fields })

export const Lane = Schema.Literal("high", "normal", "low")

export const Submitted = event("submitted", {
  input: Schema.Unknown,
  /** Left out on the wire for the usual lane. */
  lane: Schema.optionalWith(Lane, { default: () => "normal" as const }),
  maxAttempts: Schema.Number,
  delayUntil: Schema.optional(Schema.Number),
})
export const Started = event("started", {})
export const Progress = event("progress", { fraction: Schema.Number, note: Schema.optional(Schema.String) })
export const Succeeded = event("succeeded", { output: Schema.Unknown })
export const Failed = event("failed", {
  error: ErrorInfo,
  willRetry: Schema.Boolean,
  retryAt: Schema.optional(Schema.Number),
})
export const Stalled = event("stalled", { deliveries: Schema.Number })
/** Why a job was dead-lettered. */
export const DeadLetterReason = Schema.Literal("attemptsExhausted", "nonRetryable", "stalled", "malformed")
export type DeadLetterReason = typeof DeadLetterReason.Type
export const DeadLettered = event("deadLettered", {
  reason: DeadLetterReason,
  error: Schema.optional(ErrorInfo),
})
export const CancelRequested = event("cancelRequested", {})
export const Cancelled = event("cancelled", {})
export const Released = event("released", {})
/**
 * Back in the inbox: a delay or retry came due, an operator requeued a dead letter, or the inbox
 * sweep found the job's inbox entry lost (deleted by hand) and gave it a new one.
 */
export const Requeued = event("requeued", { from: Schema.Literal("delayed", "retry", "deadLetter", "lost") })
export const Purged = event("purged", {})

/** Any event of the catalogue. */
export const JobEvent = Schema.Union(
  Submitted,
  Started,
  Progress,
  Succeeded,
  Failed,
  Stalled,
  DeadLettered,
  CancelRequested,
  Cancelled,
  Released,
  Requeued,
  Purged,
)
export type JobEvent = typeof JobEvent.Type
export type Type = JobEvent["type"]

/** Every type this version knows. */
export const types: ReadonlyArray<Type> = JobEvent.members.map((member) => member.fields.type.literals[0])

/** The types that end a job: exactly one of them per job (per life, when requeued). */
export const terminalTypes: ReadonlySet<Type> = new Set<Type>(["succeeded", "deadLettered", "cancelled"])

/** Whether an event ends its job. */
export const isTerminal = (event: JobEvent): boolean => terminalTypes.has(event.type)

const known = new Set<string>(types)
const decode = Schema.decodeUnknownOption(JobEvent)

/** Pairs a flat `[field, value, field, value, …]` list, as Redis returns stream entries. */
export const fieldsOf = (flat: ReadonlyArray<string>): Record<string, string> => {
  const fields: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string
  return fields
}

/** An event's fields as version 1 named them, whichever version the entry was written in. */
export interface EventFields {
  readonly type?: string
  readonly job?: string
  readonly actor?: string
  readonly n?: string
  readonly w?: string
  readonly c?: string
  readonly k?: string
  readonly d?: string
  readonly at?: string
}

const headPlaces = ["type", "job", "actor", "n", "w", "c", "k"] as const

/** Reads an event entry's fields; `undefined` for a version 2 entry whose head does not parse. */
export const eventFieldsOf = (flat: ReadonlyArray<string>): EventFields | undefined => {
  const fields = fieldsOf(flat)
  if (fields.e === undefined) return fields
  let head: unknown
  try {
    head = JSON.parse(fields.e)
  } catch {
    return undefined
  }
  if (!Array.isArray(head)) return undefined
  const named: Record<string, string> = { d: fields.d ?? "" }
  headPlaces.forEach((name, place) => {
    const value: unknown = head[place]
    if (typeof value === "string" || typeof value === "number") named[name] = String(value)
  })
  return named
}

/**
 * An event entry's job id without decoding the rest (`""` when it has none): the tailer looks
 * every event of the log up by it, most of them other jobs'.
 */
export const jobIdOf = (flat: ReadonlyArray<string>): string => {
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i]
    if (name === "job") return flat[i + 1] as string
    if (name === "e") {
      // `["<type>","<job id>",…`: a type holds no quote, and a job id rarely an escaped one.
      const head = flat[i + 1] as string
      const start = head.indexOf('","') + 3
      const end = head.indexOf('"', start)
      if (start < 3 || end < 0) return ""
      if (head.charCodeAt(end - 1) !== 92) return head.slice(start, end)
      return eventFieldsOf(flat)?.job ?? ""
    }
  }
  return ""
}

/**
 * Decodes one stream entry. `None` for a type this version does not know (skip it) and for an
 * entry that does not decode (a reader goes on rather than stopping the log).
 */
export const fromEntry = (id: string, flat: ReadonlyArray<string>): Option.Option<JobEvent> => {
  const fields = eventFieldsOf(flat)
  if (fields?.type === undefined || !known.has(fields.type)) return Option.none()
  let data: unknown = {}
  try {
    data = fields.d === undefined || fields.d === "" ? {} : JSON.parse(fields.d)
  } catch {
    return Option.none()
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) return Option.none()
  return decode({
    ...data,
    type: fields.type,
    id,
    jobId: fields.job,
    actor: fields.actor,
    attempt: Number(fields.n),
    at: fields.at === undefined || fields.at === "" ? timeOf(id) : Number(fields.at),
    ...(fields.w === undefined || fields.w === "" ? {} : { worker: fields.w }),
    ...(fields.c === undefined || fields.c === "" ? {} : { correlationId: fields.c }),
    ...(fields.k === undefined || fields.k === "" ? {} : { causationId: fields.k }),
  })
}

/**
 * An event's time: its entry id's milliseconds (the scripts append each event at its time).
 * Events written before that carry an `at` field, which readers prefer when present.
 */
export const timeOf = (id: string): number => Number(id.slice(0, id.indexOf("-")))

/**
 * Orders two stream ids (`ms-seq`; a bare `ms` counts as `ms-0`). The one comparison of event ids
 * that core, the gateway and the CLI share. It builds no arrays: the projection compares ids for
 * every event it folds.
 */
export const compareIds = (a: string, b: string): number => {
  const aDash = a.indexOf("-")
  const bDash = b.indexOf("-")
  const aMs = Number(aDash < 0 ? a : a.slice(0, aDash))
  const bMs = Number(bDash < 0 ? b : b.slice(0, bDash))
  return aMs - bMs || (aDash < 0 ? 0 : Number(a.slice(aDash + 1))) - (bDash < 0 ? 0 : Number(b.slice(bDash + 1)))
}
