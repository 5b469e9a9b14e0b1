/**
 * A job's life from its events: every attempt, the worker that ran it, how long it waited and
 * ran. One definition shared by `eddy replay` (text) and the dashboard's job page (a table), so
 * both read the same waits and run times from the same events. Pure, with type-only imports:
 * the dashboard bundles it for the browser.
 */
import type { JobEvent } from "./JobEvent.js"

/** One event of the timeline, with its offset from the submission and what it closes. */
export interface Step {
  readonly event: JobEvent
  /** Milliseconds since the job's first event. */
  readonly offsetMs: number
  /** On a start: how long the job waited since it last became ready. */
  readonly waitedMs?: number
  /** On an attempt's end (succeeded, failed, cancelled, released): how long it ran. */
  readonly ranMs?: number
}

/** The whole timeline of one job. */
export interface Timeline {
  readonly jobId: string
  readonly actor: string
  /** Starts: every start is one try, however the attempt numbers run (a dead-letter retry starts again at 1). */
  readonly attempts: number
  readonly last: JobEvent["type"]
  readonly totalMs: number
  readonly steps: ReadonlyArray<Step>
}

const endsAttempt: ReadonlySet<JobEvent["type"]> = new Set(["succeeded", "failed", "cancelled", "released"])
const makesReady: ReadonlySet<JobEvent["type"]> = new Set(["requeued", "released", "stalled"])

/** The timeline of a job's events (oldest first); `undefined` when there are none. */
export const of = (events: ReadonlyArray<JobEvent>): Timeline | undefined => {
  const first = events[0]
  const last = events[events.length - 1]
  if (first === undefined || last === undefined) return undefined
  let readyAt = first.at
  let startedAt: number | undefined
  const steps = events.map((event): Step => {
    const offsetMs = event.at - first.at
    let step: Step = { event, offsetMs }
    if (event.type === "started") {
      step = { event, offsetMs, waitedMs: event.at - readyAt }
      startedAt = event.at
    } else if (startedAt !== undefined && endsAttempt.has(event.type)) {
      step = { event, offsetMs, ranMs: event.at - startedAt }
      startedAt = undefined
    }
    if (makesReady.has(event.type)) readyAt = event.at
    return step
  })
  return {
    jobId: first.jobId,
    actor: first.actor,
    attempts: events.filter((e) => e.type === "started").length,
    last: last.type,
    totalMs: last.at - first.at,
    steps,
  }
}

/** How `details` writes times and long text. */
export interface DetailsFormat {
  readonly time: (ms: number) => string
  /** Shortens long text (an output, an error message); `max` is the room it has. */
  readonly clip: (text: string, max: number) => string
}

/** What is particular to an event, in a few words (a line of `eddy tail`, a step of a timeline). */
export const details = (event: JobEvent, format: DetailsFormat): string => {
  const { time, clip } = format
  switch (event.type) {
    case "submitted":
      return `lane ${event.lane}${event.delayUntil === undefined ? "" : `, delayed until ${time(event.delayUntil)}`}`
    case "progress":
      return `${Math.round(event.fraction * 100)}%${event.note === undefined ? "" : ` ${event.note}`}`
    case "succeeded":
      return clip(JSON.stringify(event.output) ?? "", 80)
    case "failed":
      return `${event.error.tag}: ${clip(event.error.message, 60)}${event.willRetry && event.retryAt !== undefined ? `; retry at ${time(event.retryAt)}` : "; no retry"}`
    case "stalled":
      return `lease expired; delivery ${event.deliveries}`
    case "deadLettered":
      return `reason ${event.reason}${event.error === undefined ? "" : ` (${event.error.tag}: ${clip(event.error.message, 60)})`}`
    case "requeued":
      return `from ${event.from}`
    default:
      return ""
  }
}
