/**
 * The worker's background duties, each on its own `Schedule`:
 * - heartbeat (every lease/3): renew every held lease in one fenced call per inbox; a lost
 *   lease or a requested cancel stops that job; refresh the presence record;
 * - watchdog: stop handlers past their timeout;
 * - reclaimer (every min(lease/2, 1 s)): take over stalled deliveries, no more than there is room for;
 * - promoter: move due delayed jobs and retries back into their inboxes;
 * - expirer: delete records of jobs past their retention, prune dead workers' consumers, sweep
 *   the inboxes for jobs stranded by a lost entry, trim the event logs by age (Housekeeping).
 */
import { hostname } from "node:os"
import { Deliveries, JobStore, type RedisClient, type Settings, WorkerPresence } from "@eddy/core"
import { Duration, Effect, Queue, Schedule } from "effect"
import * as Dispatch from "./Dispatch.js"
import * as Housekeeping from "./Housekeeping.js"
import * as JobRunner from "./JobRunner.js"
import * as Slots from "./Slots.js"
import type * as WorkerState from "./WorkerState.js"

/** What every duty needs from the process. */
type Needs = RedisClient.RedisClient | Settings.Settings

/** The shortest lease among the hosted actors: it sets the heartbeat and reclaim cadence. */
export const shortestLease = (state: WorkerState.WorkerState) =>
  [...state.handlers.values()].map((handler) => handler.contract.policy.lease).reduce(Duration.min)

const presence = (state: WorkerState.WorkerState, startedAt: number) => ({
  id: state.consumer,
  host: hostname(),
  pid: process.pid,
  actors: [...state.handlers.keys()],
  concurrency: state.concurrency,
  inFlight: Slots.inFlightCount(state.slots),
  startedAt,
})

/** Renews every held lease (running and buffered); stops jobs whose lease is gone or cancelled. */
export const renewAll = (state: WorkerState.WorkerState): Effect.Effect<void, RedisClient.RedisError, Needs> =>
  Effect.gen(function* () {
    const byInbox = new Map<string, Array<Deliveries.Delivery>>()
    for (const delivery of Slots.held(state.slots)) {
      const key = Slots.inboxOf(delivery)
      const group = byInbox.get(key)
      if (group === undefined) byInbox.set(key, [delivery])
      else group.push(delivery)
    }
    yield* Effect.forEach(
      byInbox.values(),
      (deliveries) =>
        Deliveries.renew(deliveries, state.consumer).pipe(
          Effect.flatMap((outcomes) =>
            Effect.forEach(deliveries, (delivery, i) => {
              const outcome = outcomes[i]
              const key = Slots.keyOf(delivery)
              const job = Slots.job(state.slots, key)
              if (outcome === "lost") {
                Slots.drop(state.slots, key)
                return job ? JobRunner.stop(job, "leaseLost") : Effect.void
              }
              return outcome === "cancelRequested" && job ? JobRunner.stop(job, "cancel") : Effect.void
            }),
          ),
        ),
      { concurrency: "unbounded", discard: true },
    )
  })

/** Heartbeat: renew leases and refresh presence, every lease/3. */
export const heartbeat = (state: WorkerState.WorkerState, startedAt: number): Effect.Effect<void, never, Needs> => {
  const every = Duration.divide(shortestLease(state), 3).pipe((d) =>
    d._tag === "Some" ? d.value : Duration.seconds(1),
  )
  const ttl = Duration.max(Duration.times(every, 3), Duration.seconds(5))
  return Effect.all([renewAll(state), WorkerPresence.publish(presence(state, startedAt), ttl)], {
    concurrency: "unbounded",
    discard: true,
  }).pipe(
    Effect.catchAll((error) => Effect.logDebug(`heartbeat skipped: ${error._tag}`)),
    Effect.repeat(Schedule.spaced(every)),
    Effect.asVoid,
  )
}

/**
 * Watchdog: stops handlers past their contract's timeout. One sweep for all jobs instead of a
 * timer per job; it runs every tenth of the shortest timeout (10 ms to 1 s), so a timeout fires
 * at most that much late.
 */
export const watchdog = (state: WorkerState.WorkerState): Effect.Effect<never> => {
  const shortest = [...state.handlers.values()].map((handler) => handler.contract.policy.timeout).reduce(Duration.min)
  const every = Duration.clamp(
    Duration.divide(shortest, 10).pipe((d) => (d._tag === "Some" ? d.value : shortest)),
    {
      minimum: Duration.millis(10),
      maximum: Duration.seconds(1),
    },
  )
  const sweep = Effect.suspend(() => {
    const now = Date.now()
    const overdue = Slots.jobs(state.slots).filter((job) => job.deadline <= now)
    return Effect.forEach(overdue, (job) => JobRunner.stop(job, "timeout"), { discard: true })
  })
  return sweep.pipe(Effect.repeat(Schedule.spaced(every)), Effect.zipRight(Effect.never))
}

/** Reclaimer: take over deliveries idle past their actor's lease, every min(lease/2, 1 s). */
export const reclaimer = (state: WorkerState.WorkerState): Effect.Effect<void, never, Needs> => {
  // A delivery stalls once idle for a lease; a pass every lease/2 would find it up to lease/2
  // late. Every second at most, a stalled job runs again within lease + 1 s.
  const every = Duration.min(
    Duration.divide(shortestLease(state), 2).pipe((d) => (d._tag === "Some" ? d.value : Duration.seconds(1))),
    Duration.seconds(1),
  )
  const cursors = new Map<string, string>()
  const pass = Effect.forEach(
    state.inboxes,
    (inbox) =>
      Effect.gen(function* () {
        const handler = state.handlers.get(inbox.actor)
        const free = Slots.roomFor(state.slots, inbox.actor)
        if (handler === undefined || free <= 0 || state.stopping) return
        const reclaimed = yield* Deliveries.reclaim(inbox, state.consumer, {
          minIdle: handler.contract.policy.lease,
          count: free,
          maxDeliveries: handler.contract.policy.maxDeliveries,
          cursor: cursors.get(inbox.key) ?? "0-0",
        })
        cursors.set(inbox.key, reclaimed.cursor)
        if (reclaimed.deliveries.length > 0 || reclaimed.deadLettered > 0)
          yield* Effect.logInfo(
            `reclaimed ${reclaimed.deliveries.length} stalled deliveries of ${inbox.actor}` +
              (reclaimed.deadLettered > 0 ? `; dead-lettered ${reclaimed.deadLettered} past maxDeliveries` : ""),
          )
        yield* Dispatch.accept(state, reclaimed.deliveries)
      }),
    { discard: true },
  )
  return pass.pipe(
    Effect.catchAll((error) => Effect.logDebug(`reclaim skipped: ${error._tag}`)),
    Effect.repeat(Schedule.spaced(every)),
    Effect.asVoid,
  )
}

/**
 * Promoter: due delayed jobs and retries back to their inboxes. It sleeps until the next is due
 * (at most a second, to see those scheduled elsewhere), or until this worker schedules a retry.
 */
export const promoter = (state: WorkerState.WorkerState): Effect.Effect<never, never, Needs> => {
  const pass = Effect.forEach(state.inboxes, (inbox) => Deliveries.promote(inbox), { concurrency: "unbounded" }).pipe(
    Effect.map((results) => {
      const next = results.flatMap((result) => (result.nextDueInMs === undefined ? [] : [result.nextDueInMs]))
      return Duration.millis(Math.min(1_000, Math.max(10, ...(next.length > 0 ? [Math.min(...next)] : [1_000]))))
    }),
    Effect.catchAll((error) => Effect.logDebug(`promote skipped: ${error._tag}`).pipe(Effect.as(Duration.seconds(1)))),
  )
  return pass.pipe(
    Effect.flatMap((wait) => Effect.raceFirst(Effect.sleep(wait), Queue.take(state.promoteSoon))),
    Effect.forever,
  )
}

/**
 * Which hosted actors are paused (`eddy pause`), read every second: their inboxes are not read,
 * and the deliveries held for them wait unstarted; a resume starts those at once. Redis refuses to
 * start a paused actor's job anyway (`ActorPaused`), so this only spares the reads.
 */
export const refreshPauses = (state: WorkerState.WorkerState): Effect.Effect<void, RedisClient.RedisError, Needs> =>
  Effect.map(JobStore.paused, (paused) => {
    let resumed = false
    for (const actor of state.paused)
      if (!paused.has(actor)) {
        state.paused.delete(actor)
        resumed = true
      }
    for (const actor of paused) if (state.handlers.has(actor)) state.paused.add(actor)
    if (resumed) Dispatch.dispatch(state)
  })

/** `refreshPauses` every second. */
export const pauses = (state: WorkerState.WorkerState): Effect.Effect<void, never, Needs> =>
  refreshPauses(state).pipe(
    Effect.catchAll((error) => Effect.logDebug(`pause check skipped: ${error._tag}`)),
    Effect.repeat(Schedule.spaced("1 second")),
    Effect.asVoid,
  )

/** Expirer: drop records past retention and prune dead workers' consumers, once a minute. */
export const expirer = (state: WorkerState.WorkerState): Effect.Effect<void, never, Needs> =>
  Effect.all(
    [
      JobStore.expire(),
      // Consumers of dead workers (SIGKILLed, never retired) once they hold nothing for an hour.
      Effect.forEach(state.inboxes, (inbox) => Deliveries.pruneConsumers(inbox, { minIdle: deadConsumerIdle })),
      Housekeeping.make(state.inboxes),
    ],
    { concurrency: "unbounded", discard: true },
  ).pipe(
    Effect.catchAll((error) => Effect.logDebug(`expire skipped: ${error._tag}`)),
    Effect.repeat(Schedule.spaced("1 minute")),
    Effect.asVoid,
  )

/** How long a consumer that holds nothing may stay idle before it counts as a dead worker's. */
const deadConsumerIdle = Duration.hours(1)

/** A worker's clean stop: its consumer name leaves every group (it holds nothing by now). */
export const retire = (state: WorkerState.WorkerState): Effect.Effect<void, never, Needs> =>
  Effect.forEach(
    state.inboxes,
    (inbox) => Deliveries.pruneConsumers(inbox, { minIdle: Duration.zero, only: state.consumer }),
    { concurrency: "unbounded", discard: true },
  ).pipe(Effect.ignore)
