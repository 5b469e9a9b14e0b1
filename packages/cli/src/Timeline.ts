/**
 * A job's life from its events as text — what `eddy replay <jobId>` prints. The waits and run
 * times come from core's `JobTimeline`, which the dashboard's job page shows too.
 */
import { type JobEvent, JobTimeline } from "@eddy/core"
import * as EventFormat from "./EventFormat.js"
import { duration } from "./Output.js"

/** The timeline's lines: offsets from the submission, with waits and run times. */
export const lines = (events: ReadonlyArray<JobEvent.JobEvent>): Array<string> => {
  const timeline = JobTimeline.of(events)
  if (timeline === undefined) return ["no events (the log may have been trimmed)"]
  const out = [
    `job ${timeline.jobId} (${timeline.actor}): ${timeline.attempts} attempt(s), ${timeline.steps.length} events, ` +
      `${timeline.last} after ${duration(timeline.totalMs)}`,
  ]
  for (const { event, offsetMs, waitedMs, ranMs } of timeline.steps) {
    const note =
      waitedMs !== undefined ? `waited ${duration(waitedMs)}` : ranMs !== undefined ? `ran ${duration(ranMs)}` : ""
    const offset = `+${duration(offsetMs)}`.padStart(10)
    out.push(
      `${offset}  ${event.type.padEnd(15)} #${event.attempt}${event.worker === undefined ? "" : ` @${event.worker}`}` +
        `  ${EventFormat.details(event)}${note === "" ? "" : ` (${note})`}`,
    )
  }
  return out
}
