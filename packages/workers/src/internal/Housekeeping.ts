/**
 * Housekeeping the expirer runs besides expiry, once a minute: the inbox sweep for the actors
 * this worker hosts (jobs stranded by a lost inbox entry are requeued; bounded per pass) and
 * the event logs' time-based retention.
 */
import { EventRetention, InboxSweep } from "@eddy/core"
import { Effect } from "effect"

/** One pass per run of the returned effect; the sweep's cursors live across passes. */
export const make = (inboxes: ReadonlyArray<{ readonly partition: number; readonly actor: string }>) => {
  const sweep = InboxSweep.sweeper(inboxes)
  return Effect.all([sweep, EventRetention.trim], { concurrency: "unbounded", discard: true })
}
