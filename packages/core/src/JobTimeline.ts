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
