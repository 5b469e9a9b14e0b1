/** One readable line per event, for `eddy tail` and `eddy replay`. */
import type { JobEvent } from "@eddy/core"
import { time } from "./Output.js"

const clip = (text: string, max = 80) => (text.length > max ? `${text.slice(0, max - 1)}…` : text)

/** What is particular to an event, in a few words. */
export const details = (event: JobEvent.JobEvent): string => {
  switch (event.type) {
    case "submitted":
      return `lane ${event.lane}${event.delayUntil === undefined ? "" : `, delayed until ${time(event.delayUntil)}`}`
    case "progress":
      return `${Math.round(event.fraction * 100)}%${event.note === undefined ? "" : ` ${event.note}`}`
    case "succeeded":
      return clip(JSON.stringify(event.output) ?? "")
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
