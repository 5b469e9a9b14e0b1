/**
 * The dashboard's overview: per actor its counts (status projection), inbox depth, delayed
 * count, workers, the oldest waiting job's age and its outcomes per minute over the last hour;
 * plus the live workers, Redis health and the gateway's version. One snapshot, computed at most
 * once a second however many pages watch it (`shared`), pushed to them over one SSE stream.
 */
import { createRequire } from "node:module"
import { JobEvent, JobStore, ReadModel, RedisClient, Settings, StreamKeys, WorkerPresence } from "@eddy/core"
import { Clock, Duration, Effect } from "effect"
import * as Contracts from "./Contracts.js"
import * as InboxBacklog from "./internal/InboxBacklog.js"
import * as QueueStats from "./QueueStats.js"

/** The gateway package's version, as the overview reports it. */
export const version: string = (createRequire(import.meta.url)("../package.json") as { version: string }).version

/** One actor's line of the overview. */
export interface ActorOverview {
  readonly name: string
  readonly counts: Record<string, number>
  readonly depth: number
  readonly delayed: number
  readonly workers: number
  /** Workers everywhere leave its jobs unclaimed until it is resumed. */
  readonly paused: boolean
  /** Age of the oldest job waiting in an inbox (not yet delivered); absent when none waits. */
  readonly oldestWaitingMs?: number
  /** The last 60 minutes, oldest first, the current minute last. */
  readonly perMinute: ReadonlyArray<ReadModel.MinuteOutcomes>
}

/** The whole overview. */
export interface Snapshot {
  readonly at: number
  readonly version: string
  readonly redis: { readonly up: boolean; readonly ms?: number; readonly error?: string }
  readonly actors: ReadonlyArray<ActorOverview>
  readonly workers: ReadonlyArray<WorkerPresence.Presence>
}

/** An hour without outcomes, for an actor that has had none. */
const quietHour = (now: number): ReadonlyArray<ReadModel.MinuteOutcomes> => {
  const last = Math.floor(now / 60_000)
  return Array.from({ length: 60 }, (_, i) => ({ minute: last - 59 + i, succeeded: 0, failed: 0, deadLettered: 0 }))
}

/** When the oldest entry of an inbox that no worker has read yet entered it; undefined: none. */
const oldestWaiting = (inbox: string) =>
  InboxBacklog.undelivered(inbox, 1).pipe(
    Effect.map((entries) => {
      const first = entries[0]
      return first === undefined ? undefined : JobEvent.timeOf(first[0])
    }),
  )

/** The oldest waiting entry's time over all of an actor's inboxes. */
const oldestOf = (actor: string) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings.Settings
    const times = yield* Effect.forEach(
      keyspace.all.flatMap((p) => StreamKeys.lanes.map((lane) => p.inbox(actor, lane))),
      oldestWaiting,
      { concurrency: "unbounded" },
    )
    const known = times.filter((t): t is number => t !== undefined)
    return known.length === 0 ? undefined : Math.min(...known)
  })

/** One overview, read now. Redis trouble gives a snapshot that says so, not a failure. */
export const snapshot = Effect.gen(function* () {
  const now = yield* Clock.currentTimeMillis
  const redis = yield* RedisClient.RedisClient
  const names = [...(yield* Contracts.Contracts).keys()].sort()
  const read = Effect.gen(function* () {
    const roundTrip = yield* redis.health
    const [counts, stats, workers, rates, paused, oldest] = yield* Effect.all(
      [
        ReadModel.counts(names),
        QueueStats.forActors(names),
        WorkerPresence.list,
        ReadModel.ratesPerMinute(60),
        JobStore.paused,
        Effect.forEach(names, oldestOf, { concurrency: "unbounded" }),
      ],
      { concurrency: "unbounded" },
    )
    const actors = names.map((name, i): ActorOverview => {
      const oldestAt = oldest[i]
      return {
        name,
        counts: { ...(counts.get(name) ?? {}) },
        depth: stats.get(name)?.depth ?? 0,
        delayed: stats.get(name)?.delayed ?? 0,
        workers: workers.filter((worker) => worker.actors.includes(name)).length,
        paused: paused.has(name),
        ...(oldestAt === undefined ? {} : { oldestWaitingMs: Math.max(0, now - oldestAt) }),
        perMinute: rates.get(name) ?? quietHour(now),
      }
    })
    return {
      at: now,
      version,
      redis: { up: true, ms: Math.round(Duration.toMillis(roundTrip) * 10) / 10 },
      actors,
      workers,
    } satisfies Snapshot
  })
  return yield* read.pipe(
    Effect.catchAll(
      (error): Effect.Effect<Snapshot> =>
        Effect.succeed({
          at: now,
          version,
          redis: { up: false, error: error.message === "" ? error._tag : error.message },
          actors: names.map((name) => ({
            name,
            counts: {},
            depth: 0,
            delayed: 0,
            workers: 0,
            paused: false,
            perMinute: [],
          })),
          workers: [],
        }),
    ),
  )
})

/** `snapshot`, read at most once per `every` however many callers ask. */
export const shared = (every: Duration.DurationInput = "1 second") => Effect.cachedWithTTL(snapshot, every)
