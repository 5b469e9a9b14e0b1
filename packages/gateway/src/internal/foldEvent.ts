/**
 * The projector's reading of an event log entry: only what the fold uses, decoded by hand.
 * Decoding every entry with the full `JobEvent` schema (a 12-member union, plus the JSON of every
 * input and output) cost more than folding and writing the event; this reads the flat fields and
 * parses `d` only for the types whose fold needs it.
 *
 * It checks what the fold reads, as `JobEvent.fromEntry` does, and nothing else: a field the fold
 * ignores is not validated. An empty `w` or `d` means absent.
 */
import { JobEvent } from "@eddy/core"

/** Fields of an event the fold never reads. */
type Unread =
  | "input"
  | "output"
  | "note"
  | "lane"
  | "maxAttempts"
  | "retryAt"
  | "deliveries"
  | "from"
  | "correlationId"
  | "causationId"

type Slim<E> = E extends JobEvent.JobEvent ? Omit<E, Unread> : never

/** An event as the fold sees it. Every `JobEvent` is one. */
export type FoldEvent = Slim<JobEvent.JobEvent>

const known: ReadonlySet<string> = new Set(JobEvent.types)
const reasons: ReadonlySet<string> = new Set(JobEvent.DeadLetterReason.literals)

/** `d` as an object; undefined when it is not JSON of an object. */
const dataOf = (d: string | undefined): Record<string, unknown> | undefined => {
  if (d === undefined) return {}
  try {
    const data: unknown = JSON.parse(d)
    return typeof data === "object" && data !== null && !Array.isArray(data)
      ? (data as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

const errorOf = (value: unknown): JobEvent.ErrorInfo | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  const { tag, message, data } = value as Record<string, unknown>
  if (typeof tag !== "string" || typeof message !== "string") return undefined
  return data === undefined ? { tag, message } : { tag, message, data }
}

/** Orders two stream ids: core's one comparison (`JobEvent.compareIds`). */
export const compareIds = JobEvent.compareIds

/** Decodes one stream entry; undefined for a type this version does not know or an entry that does not decode. */
export const decodeEntry = (id: string, flat: ReadonlyArray<string>): FoldEvent | undefined => {
  let type: string | undefined
  let jobId: string | undefined
  let actor: string | undefined
  let n: string | undefined
  let at: string | undefined
  let worker: string | undefined
  let d: string | undefined
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const value = flat[i + 1]
    switch (flat[i]) {
      case "type":
        type = value
        break
      case "job":
        jobId = value
        break
      case "actor":
        actor = value
        break
      case "n":
        n = value
        break
      case "at":
        at = value
        break
      case "w":
        worker = value === "" ? undefined : value
        break
      case "d":
        d = value === "" ? undefined : value
        break
    }
  }
  if (type === undefined || !known.has(type) || jobId === undefined || actor === undefined) return undefined
  const common = {
    id,
    jobId,
    actor,
    attempt: Number(n),
    at: at === undefined || at === "" ? JobEvent.timeOf(id) : Number(at),
    ...(worker === undefined ? {} : { worker }),
  }
  const eventType = type as JobEvent.Type
  switch (eventType) {
    case "submitted": {
      // Only a delay matters to the fold; the input (often the bulk of `d`) is not parsed unless
      // the text names a delay at all.
      if (d === undefined || !d.includes('"delayUntil"')) return { ...common, type: eventType }
      const delayUntil = dataOf(d)?.delayUntil
      if (delayUntil === undefined) return { ...common, type: eventType }
      return typeof delayUntil === "number" ? { ...common, type: eventType, delayUntil } : undefined
    }
    case "progress": {
      const fraction = dataOf(d)?.fraction
      return typeof fraction === "number" ? { ...common, type: eventType, fraction } : undefined
    }
    case "failed": {
      const data = dataOf(d)
      const error = errorOf(data?.error)
      const willRetry = data?.willRetry
      return error !== undefined && typeof willRetry === "boolean"
        ? { ...common, type: eventType, error, willRetry }
        : undefined
    }
    case "deadLettered": {
      const data = dataOf(d)
      const reason = data?.reason
      if (typeof reason !== "string" || !reasons.has(reason)) return undefined
      const typedReason = reason as JobEvent.DeadLetterReason
      if (data?.error === undefined) return { ...common, type: eventType, reason: typedReason }
      const error = errorOf(data.error)
      return error === undefined ? undefined : { ...common, type: eventType, reason: typedReason, error }
    }
    default:
      return { ...common, type: eventType }
  }
}
