/**
 * What one worker process holds: its handlers, the inboxes it reads, the deliveries it has
 * read but not started (the buffer) and those it is running (in flight). Every part of the
 * runtime — reader, heartbeat, reclaimer, shutdown — works on this one state.
 */
import { type Actor, type Deliveries, StreamKeys } from "@eddy/core"
import { Effect, type FiberSet, Queue } from "effect"
import type * as Handler from "../Handler.js"
import type { Batches, InFlight } from "./JobRunner.js"

/** One inbox this worker reads. */
export interface Inbox {
  readonly partition: number
  readonly actor: string
  readonly lane: Actor.Lane
  readonly key: string
}

export interface WorkerState {
  readonly consumer: string
  readonly concurrency: number
  readonly handlers: ReadonlyMap<string, Handler.Any>
  /** High lanes first: the order in which inboxes are read and served. */
  readonly inboxes: ReadonlyArray<Inbox>
  readonly inboxByKey: ReadonlyMap<string, Inbox>
  /** By `keyOf`: an entry id is unique only within its stream. */
  readonly inFlight: Map<string, InFlight>
  /**
   * Jobs of `inFlight` whose handler has ended, their outcome on its way to Redis. Their slot
   * is free already: the next claim then overlaps the recording instead of waiting for it.
   */
  finishing: number
  buffer: Array<Deliveries.Delivery>
  /**
   * The last blocking read drained the inboxes (it brought less than it asked for): skip the claim
   * before the next one. An idle worker makes no calls but its reads, and one fed a job at a time
   * starts each as soon as it is read.
   */
  quiet: boolean
  /**
   * Which claim target goes first in the next round: when there are more targets (actors ×
   * partitions) than free slots, the slots go round in turn instead of always to the first.
   */
  claimTurn: number
  /** Start results of deliveries `claim` read and started at once, by `keyOf`, until they run. */
  readonly claimed: Map<string, Deliveries.Claimed["started"]>
  /** Offered when a slot frees up, so a reader waiting for room wakes at once. */
  readonly wake: Queue.Queue<void>
  /** Offered when this worker schedules a retry, so the promoter looks again at once. */
  readonly promoteSoon: Queue.Queue<void>
  readonly jobs: FiberSet.FiberSet<void, never>
  /** Starts and completions of all job fibers, batched per inbox. */
  readonly batches: Batches
  stopping: boolean
}

const laneRank: Record<Actor.Lane, number> = { high: 0, normal: 1, low: 2 }

/** Builds the state for a set of handlers over a key space. */
export const make = (options: {
  readonly consumer: string
  readonly concurrency: number
  readonly handlers: ReadonlyArray<Handler.Any>
  readonly keyspace: StreamKeys.Keyspace
  readonly jobs: FiberSet.FiberSet<void, never>
  readonly batches: Batches
}): Effect.Effect<WorkerState> =>
  Effect.map(Effect.all([Queue.sliding<void>(1), Queue.sliding<void>(1)]), ([wake, promoteSoon]) => {
    const inboxes: Array<Inbox> = []
    for (const lane of StreamKeys.lanes)
      for (const partition of options.keyspace.all)
        for (const handler of options.handlers) {
          const actor = handler.contract.name
          inboxes.push({ partition: partition.index, actor, lane, key: partition.inbox(actor, lane) })
        }
    return {
      consumer: options.consumer,
      concurrency: options.concurrency,
      handlers: new Map(options.handlers.map((handler) => [handler.contract.name, handler])),
      inboxes,
      inboxByKey: new Map(inboxes.map((inbox) => [inbox.key, inbox])),
      inFlight: new Map(),
      finishing: 0,
      buffer: [],
      claimed: new Map(),
      quiet: false,
      claimTurn: 0,
      wake,
      promoteSoon,
      jobs: options.jobs,
      batches: options.batches,
      stopping: false,
    }
  })

/**
 * A delivery's identity in this process. Entry ids are unique per stream only: two inboxes
 * (actors, lanes, partitions) routinely hand out the same id in the same millisecond.
 */
export const keyOf = (delivery: Deliveries.Delivery): string =>
  `${delivery.partition}/${delivery.actor}/${delivery.lane}/${delivery.entryId}`

/** The inbox a delivery came from, as a key. */
export const inboxOf = (delivery: Deliveries.Delivery): string =>
  `${delivery.partition}/${delivery.actor}/${delivery.lane}`

/** Jobs running in this worker: in flight, less those only recording their outcome. */
export const running = (state: WorkerState): number => state.inFlight.size - state.finishing

/** Jobs of an actor this worker runs or holds (not counting those recording their outcome). */
export const heldOf = (state: WorkerState, actor: string): number => {
  let held = 0
  for (const job of state.inFlight.values()) if (job.delivery.actor === actor && !job.handlerDone) held++
  for (const delivery of state.buffer) if (delivery.actor === actor) held++
  return held
}

/** Room for more deliveries in the whole process. */
export const room = (state: WorkerState): number => state.concurrency - running(state) - state.buffer.length

/** Room for more deliveries of one actor. */
export const roomFor = (state: WorkerState, actor: string): number =>
  Math.min(room(state), (state.handlers.get(actor)?.concurrency ?? 0) - heldOf(state, actor))

/** Orders deliveries high lane first; within a lane, in the order they came. */
export const byLane = (a: Deliveries.Delivery, b: Deliveries.Delivery): number => laneRank[a.lane] - laneRank[b.lane]
