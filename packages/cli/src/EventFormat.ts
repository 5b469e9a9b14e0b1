/** One readable line per event, for `eddy tail` and `eddy replay`. */
import { type JobEvent, JobTimeline } from "@eddy/core"
import { time } from "./Output.js"

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text)

/** What is particular to an event, in a few words (core's `JobTimeline.details`, times in UTC). */
export const details = (event: JobEvent.JobEvent): string => JobTimeline.details(event, { time, clip })

/** `time  type  actor  job  #attempt  @worker  details`. */
export const line = (event: JobEvent.JobEvent): string =>
  [
    time(event.at),
    event.type.padEnd(15),
    event.actor.padEnd(18),
    event.jobId,
    `#${event.attempt}`,
    ...(event.worker === undefined ? [] : [`@${event.worker}`]),
    details(event),
  ]
    .filter((part) => part !== "")
    .join("  ")
