/**
 * The one owner of a worker's slot bookkeeping: the jobs it runs (in flight), the deliveries it
 * holds but has not started (the buffer), and how much room is left, in the whole process and per
 * actor. The reader, the job runner, the heartbeat, the reclaimer and the shutdown ask it and
 * change it only through these functions; counts are kept as jobs come and go, never recounted.
 */
import type { Actor, Deliveries } from "@eddy/core"
import { Effect, type Fiber } from "effect"
import * as Wake from "./Wake.js"

/** Why a running job must stop before its handler ends. */
export type StopReason = "cancel" | "leaseLost" | "shutdown" | "timeout"

/** The answer of a start made by `claim` together with its read. */
export type Claimed = Deliveries.Claimed["started"]

/** A job this process holds. */
export interface Job {
  readonly key: string
  /** Its inbox (see `inboxOf`), made once: batches are grouped by it. */
  readonly inbox: string
  readonly delivery: Deliveries.Delivery
  /** Started already (by `claim`, with its read): the start's answer. */
  readonly claimed: Claimed | undefined
  /** Set once the job must stop; the first reason wins. */
  stopReason: StopReason | undefined
  /** Set once `start` succeeded: until then (e.g. waiting for a rate-limit permit) a shutdown releases it at once. */
  started: boolean
  /** The fiber a stop interrupts: the handler's (or, before it runs, the one waiting to start it). */
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  /** When the handler's time is up (ms since the epoch); infinite until it runs. */
  deadline: number
}

interface Held {
  readonly key: string
  readonly delivery: Deliveries.Delivery
  readonly claimed: Claimed | undefined
}

export interface Slots {
  readonly concurrency: number
  /** Per actor: most jobs this process runs at once. */
  readonly limits: ReadonlyMap<string, number>
  /** Notified when a slot frees up, so a reader waiting for room wakes at once. */
  readonly wake: Wake.Wake
}

interface State {
  readonly inFlight: Map<string, Job>
  buffer: Array<Held>
  /** Per actor: jobs in flight (until their outcome is recorded), plus deliveries in the buffer. */
  readonly heldByActor: Map<string, number>
  /** Waiting for the last job in flight to end (shutdown). */
  emptied: Array<() => void>
  /** Room promised to calls in flight that start what they read (`claim`), in all and per actor. */
  reserved: number
  readonly reservedByActor: Map<string, number>
}

const states = new WeakMap<Slots, State>()
const stateOf = (slots: Slots): State => states.get(slots) as State

/** A worker's slots: `concurrency` in all, each actor within its own limit. */
export const make = (concurrency: number, limits: ReadonlyMap<string, number>): Effect.Effect<Slots> =>
  Effect.sync(() => {
    const slots: Slots = { concurrency, limits, wake: Wake.make() }
    states.set(slots, {
      inFlight: new Map(),
      buffer: [],
      heldByActor: new Map(),
      emptied: [],
      reserved: 0,
      reservedByActor: new Map(),
    })
    return slots
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

const bump = (state: State, actor: string, by: number) =>
  state.heldByActor.set(actor, (state.heldByActor.get(actor) ?? 0) + by)

/** Jobs in flight, including those recording their outcome. */
export const inFlightCount = (slots: Slots): number => stateOf(slots).inFlight.size

/** Deliveries held but not started. */
export const buffered = (slots: Slots): number => stateOf(slots).buffer.length

/**
 * Room for more deliveries in the whole process. A job whose handler ended counts until its
 * outcome is recorded: what a worker has started in Redis and not yet recorded (running, ending,
 * held, being claimed) never passes its concurrency, so a worker that dies re-runs at most that
 * many jobs elsewhere.
 */
export const room = (slots: Slots): number => {
  const state = stateOf(slots)
  return slots.concurrency - state.inFlight.size - state.buffer.length - state.reserved
}

/** Room for more deliveries of one actor. */
export const roomFor = (slots: Slots, actor: string): number => {
  const state = stateOf(slots)
  const heldOfActor = (state.heldByActor.get(actor) ?? 0) + (state.reservedByActor.get(actor) ?? 0)
  return Math.min(room(slots), (slots.limits.get(actor) ?? 0) - heldOfActor)
}

/**
 * Promises room to a call in flight that will start what it reads (`claim`), so that calls made
 * meanwhile do not take the same slots; `unreserve` once it answered (before `hold`).
 */
export const reserve = (slots: Slots, actor: string, count: number): void => {
  const state = stateOf(slots)
  state.reserved += count
  state.reservedByActor.set(actor, (state.reservedByActor.get(actor) ?? 0) + count)
}

export const unreserve = (slots: Slots, actor: string, count: number): void => reserve(slots, actor, -count)

/** The jobs in flight (a snapshot: safe to change the slots while iterating). */
export const jobs = (slots: Slots): ReadonlyArray<Job> => [...stateOf(slots).inFlight.values()]

/** A job in flight by its key. */
export const job = (slots: Slots, key: string): Job | undefined => stateOf(slots).inFlight.get(key)

/** Every delivery held: in flight and buffered. */
export const held = (slots: Slots): ReadonlyArray<Deliveries.Delivery> => {
  const state = stateOf(slots)
  return [...[...state.inFlight.values()].map((job) => job.delivery), ...state.buffer.map((h) => h.delivery)]
}

/** Adds deliveries to the buffer, skipping any already held; `claimed` gives the starts `claim` made. */
export const hold = (
  slots: Slots,
  deliveries: ReadonlyArray<Deliveries.Delivery>,
  claimed?: ReadonlyMap<string, Claimed>,
): void => {
  const add = holder(slots)
  for (const delivery of deliveries) {
    const key = keyOf(delivery)
    add(key, delivery, claimed?.get(key))
  }
}

/** `hold` for what a claim answered: each delivery with its start, its key made once. */
export const holdClaimed = (slots: Slots, claimed: ReadonlyArray<Deliveries.Claimed>): void => {
  const add = holder(slots)
  for (const { delivery, started } of claimed) add(keyOf(delivery), delivery, started)
}

/** Adds one delivery to the buffer unless it is held already (in flight, or buffered). */
const holder = (slots: Slots) => {
  const state = stateOf(slots)
  const known = new Set(state.buffer.map((h) => h.key))
  return (key: string, delivery: Deliveries.Delivery, claimed: Claimed | undefined): void => {
    if (known.has(key) || state.inFlight.has(key)) return
    known.add(key)
    state.buffer.push({ key, delivery, claimed })
    bump(state, delivery.actor, 1)
  }
}

const laneRank: Record<Actor.Lane, number> = { high: 0, normal: 1, low: 2 }

/**
 * Takes what the buffer may start now, high lane first, within the process's and each actor's
 * limits, and puts it in flight. One synchronous step: two callers (the reader and the reclaimer)
 * can neither start one delivery twice nor drop one the other added meanwhile.
 */
export const startable = (slots: Slots, canStart: (actor: string) => boolean): ReadonlyArray<Job> => {
  const state = stateOf(slots)
  if (state.buffer.length === 0) return []
  state.buffer.sort((a, b) => laneRank[a.delivery.lane] - laneRank[b.delivery.lane])
  // A job whose handler ended counts until its outcome is recorded: normally the room kept for
  // it (see `room`) leaves nothing extra in the buffer, but a read that overfilled it (more
  // streams than room, or room taken while the read was on the wire) must not start beyond it.
  const inFlightByActor = new Map<string, number>()
  for (const job of state.inFlight.values())
    inFlightByActor.set(job.delivery.actor, (inFlightByActor.get(job.delivery.actor) ?? 0) + 1)
  let inUse = state.inFlight.size
  const waiting: Array<Held> = []
  const starting: Array<Job> = []
  for (const entry of state.buffer) {
    const actor = entry.delivery.actor
    const ofActor = inFlightByActor.get(actor) ?? 0
    if (inUse >= slots.concurrency || ofActor >= (slots.limits.get(actor) ?? 0) || !canStart(actor)) {
      waiting.push(entry)
      continue
    }
    const job: Job = {
      key: entry.key,
      inbox: inboxOf(entry.delivery),
      delivery: entry.delivery,
      claimed: entry.claimed,
      stopReason: undefined,
      started: false,
      fiber: undefined,
      deadline: Number.POSITIVE_INFINITY,
    }
    state.inFlight.set(job.key, job)
    inUse++
    inFlightByActor.set(actor, ofActor + 1)
    starting.push(job)
  }
  state.buffer = waiting
  return starting
}

/** The job is over (its outcome recorded or given up): it leaves the slots. */
export const remove = (slots: Slots, job: Job): void => {
  const state = stateOf(slots)
  if (state.inFlight.get(job.key) !== job) return
  state.inFlight.delete(job.key)
  bump(state, job.delivery.actor, -1)
  slots.wake.notify()
  if (state.inFlight.size === 0 && state.emptied.length > 0) {
    const waiting = state.emptied
    state.emptied = []
    for (const resume of waiting) resume()
  }
}

/** Puts a job that never started back in the buffer (its actor was paused meanwhile). */
export const requeue = (slots: Slots, job: Job): void => {
  const state = stateOf(slots)
  if (state.inFlight.get(job.key) !== job || job.started) return
  state.inFlight.delete(job.key)
  state.buffer.push({ key: job.key, delivery: job.delivery, claimed: undefined })
  slots.wake.notify()
}

/** Drops a buffered delivery (its lease was lost): it is another worker's now. */
export const drop = (slots: Slots, key: string): void => {
  const state = stateOf(slots)
  const before = state.buffer.length
  state.buffer = state.buffer.filter((h) => {
    if (h.key !== key) return true
    bump(state, h.delivery.actor, -1)
    return false
  })
  if (state.buffer.length !== before) slots.wake.notify()
}

/** Empties the buffer (a stop): answers what it held, for release. */
export const takeBuffer = (slots: Slots): ReadonlyArray<Deliveries.Delivery> => {
  const state = stateOf(slots)
  const taken = state.buffer
  state.buffer = []
  for (const h of taken) bump(state, h.delivery.actor, -1)
  return taken.map((h) => h.delivery)
}

/** Completes once no job is in flight. */
export const awaitEmpty = (slots: Slots): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const state = stateOf(slots)
    if (state.inFlight.size === 0) return resume(Effect.void)
    const done = () => resume(Effect.void)
    state.emptied.push(done)
    return Effect.sync(() => {
      state.emptied = state.emptied.filter((waiting) => waiting !== done)
    })
  })
