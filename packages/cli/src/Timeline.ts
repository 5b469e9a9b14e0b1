/**
 * A job's life from its events: every attempt, the worker that ran it, how long it waited and
 * ran, its errors, stalls and retries — what `eddy replay <jobId>` prints.
 */
import type { JobEvent } from "@eddy/core"
import * as EventFormat from "./EventFormat.js"
import { duration } from "./Output.js"

/** The timeline's lines: offsets from the submission, with waits and run times. */
export const lines = (events: ReadonlyArray<JobEvent.JobEvent>): Array<string> => {
  const first = events[0]
  if (first === undefined) return ["no events (the log may have been trimmed)"]
  const last = events[events.length - 1] as JobEvent.JobEvent
  // Every start is one try, however the attempt numbers run (a retry from the dead letters starts again at 1).
  const attempts = events.filter((e) => e.type === "started").length
  const out = [
    `job ${first.jobId} (${first.actor}): ${attempts} attempt(s), ${events.length} events, ` +
      `${last.type} after ${duration(last.at - first.at)}`,
  ]
  let readyAt = first.at
  let startedAt: number | undefined
  for (const event of events) {
    let note = ""
    if (event.type === "started") {
      note = `waited ${duration(event.at - readyAt)}`
      startedAt = event.at
    } else if (
      startedAt !== undefined &&
      (event.type === "succeeded" || event.type === "failed" || event.type === "cancelled" || event.type === "released")
    ) {
      note = `ran ${duration(event.at - startedAt)}`
      startedAt = undefined
    }
    if (event.type === "requeued" || event.type === "released" || event.type === "stalled") readyAt = event.at
    const offset = `+${duration(event.at - first.at)}`.padStart(10)
    out.push(
      `${offset}  ${event.type.padEnd(15)} #${event.attempt}${event.worker === undefined ? "" : ` @${event.worker}`}` +
        `  ${EventFormat.details(event)}${note === "" ? "" : ` (${note})`}`,
    )
  }
  return out
}
