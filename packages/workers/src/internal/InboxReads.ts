/**
 * The XREADGROUP of a worker's inboxes: its arguments, how many entries to ask of each stream,
 * what a reply means (deliveries; drained or not). Shared by the blocking reader and the
 * non-blocking reads of rate-limited actors.
 */
import { type Deliveries, type NodeReads, StreamKeys } from "@eddy/core"
import * as Slots from "./Slots.js"
import type * as WorkerState from "./WorkerState.js"

export type XReadGroupReply = NodeReads.StreamReply

export const parse = (state: WorkerState.WorkerState, reply: XReadGroupReply): Array<Deliveries.Delivery> =>
  (reply ?? []).flatMap(([key, entries]) => {
    const inbox = state.inboxByKey.get(key)
    if (inbox === undefined) return []
    return entries.map(([entryId, fields]) => {
      const at = fields.indexOf("j")
      const jobId = at >= 0 && at % 2 === 0 ? (fields[at + 1] ?? "") : ""
      return { partition: inbox.partition, actor: inbox.actor, lane: inbox.lane, entryId, jobId }
    })
  })

/**
 * How many entries to ask of each stream. XREADGROUP's COUNT holds per stream, so the room is
 * split over the streams read (and each actor's room over its lanes): one read then never brings
 * more than there is room for, unless the room is smaller than the number of streams, when it
 * may bring one entry per stream (they wait, held, in the buffer).
 */
export const countPerStream = (state: WorkerState.WorkerState, inboxes: ReadonlyArray<WorkerState.Inbox>): number => {
  const streamsOf = new Map<string, number>()
  for (const inbox of inboxes) streamsOf.set(inbox.actor, (streamsOf.get(inbox.actor) ?? 0) + 1)
  let count = Math.floor(Slots.room(state.slots) / inboxes.length)
  for (const [actor, streams] of streamsOf)
    count = Math.min(count, Math.floor(Slots.roomFor(state.slots, actor) / streams))
  return Math.max(1, count)
}

/**
 * Whether a read left its inboxes empty: XREADGROUP hands out everything waiting up to COUNT per
 * stream, so a read that brought less than COUNT from every stream (or nothing) drained them a
 * moment ago. A claim would then find nothing and only delay the next read (and its jobs' starts
 * would queue behind it in Redis): the reader blocks again instead.
 */
export const isDrained = (reply: XReadGroupReply, count: number): boolean =>
  (reply ?? []).every(([, entries]) => entries.length < count)

/** XREADGROUP's arguments: new entries of `keys` for this consumer, blocking `blockMs` if given. */
export const readArgs = (
  state: WorkerState.WorkerState,
  keys: ReadonlyArray<string>,
  count: number,
  blockMs?: number,
): Array<string | number> => [
  "GROUP",
  StreamKeys.workerGroup,
  state.consumer,
  "COUNT",
  count,
  ...(blockMs === undefined ? [] : ["BLOCK", blockMs]),
  "STREAMS",
  ...keys,
  ...keys.map(() => ">"),
]
