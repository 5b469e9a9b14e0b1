/**
 * Retention and the projection: core's expire deletes a job's view with its record, and the
 * projector never writes a view for a job whose record is gone, lagging or rebuilding.
 */
import { JobStore, RedisClient, Settings } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import * as Projection from "../src/Projection.js"
import * as Projector from "../src/Projector.js"
import { base, foldLog, logEvents, readModel, waitCaughtUp, workload } from "./support/Projections.js"

/** Finished jobs (dead letters too) expire at once. */
const expiringAtOnce = () => base({ retention: Duration.zero, deadLetterRetention: Duration.zero })

const countsOfTask = Effect.map(Projection.counts, (counts) => counts.get("task"))

describe("Projector and expiry", () => {
  it.scopedLive("expire deletes the views of the jobs it expires and takes them out of the counts", () =>
    Effect.gen(function* () {
      const jobs = yield* workload
      yield* Layer.build(Projector.layer)
      yield* waitCaughtUp
      expect(yield* countsOfTask).toMatchObject({ succeeded: 1, deadLettered: 1, cancelled: 1, queued: 2 })
      const { keyspace } = yield* Settings.Settings
      const redis = yield* RedisClient.RedisClient
      expect(yield* redis.run((c) => c.exists(`${keyspace.prefix}:{p0}:view:expiries`))).toBe(0)

      expect(yield* JobStore.expire()).toBe(3)
      const views = yield* Projection.allViews
      expect([...views.keys()].sort()).toEqual([jobs[2]!.jobId, jobs[3]!.jobId].sort())
      expect(yield* countsOfTask).toMatchObject({ succeeded: 0, deadLettered: 0, cancelled: 0, queued: 2, active: 0 })
    }).pipe(Effect.provide(expiringAtOnce())),
  )

  it.scopedLive("a projector that lags behind expiry, or rebuilds, brings no expired view back", () =>
    Effect.gen(function* () {
      const jobs = yield* workload
      // The three finished jobs expire before any of their events is folded.
      expect(yield* JobStore.expire()).toBe(3)
      yield* Layer.build(Projector.layer)
      yield* waitCaughtUp
      const live = new Set([jobs[2]!.jobId, jobs[3]!.jobId])
      const expected = new Map([...(yield* foldLog)].filter(([jobId]) => live.has(jobId)))
      expect(expected.size).toBe(2)
      const model = yield* readModel
      expect(model.views).toEqual(expected)
      expect(model.counts.get("task")).toMatchObject({ succeeded: 0, deadLettered: 0, cancelled: 0, queued: 2 })
      // Rates count events, whether or not their job is still retained.
      expect(model.rates.get("task")).toEqual({ succeeded: 1, failed: 1, deadLettered: 1 })

      yield* Projector.rebuild
      expect(yield* readModel).toEqual(model)
      // Folding the old events again, as a projector resuming after a crash would, changes nothing
      // but the rates (no view is left to say they were counted).
      yield* Projector.applyBatch(0, yield* logEvents)
      const again = yield* readModel
      expect(again.views).toEqual(model.views)
      expect(again.counts).toEqual(model.counts)
    }).pipe(Effect.provide(expiringAtOnce())),
  )

  it.scopedLive("a purged job's earlier events, folded without its `purged` event, make no view", () =>
    Effect.gen(function* () {
      const jobs = yield* workload
      const dead = jobs[1]!.jobId
      yield* Projector.applyBatch(0, yield* logEvents)
      expect((yield* Projection.allViews).get(dead)?.state).toBe("deadLettered")
      yield* JobStore.purge(dead)
      // A rebuild from a log that lost the `purged` event (trimmed): the projection starts empty.
      const { keyspace } = yield* Settings.Settings
      const redis = yield* RedisClient.RedisClient
      yield* redis.run((c) => c.del(keyspace.partition(0).viewJobs, keyspace.partition(0).viewCounts))
      yield* Projector.applyBatch(
        0,
        (yield* logEvents).filter((event) => event.type !== "purged"),
      )
      const views = yield* Projection.allViews
      expect(views.has(dead)).toBe(false)
      expect(views.size).toBe(4)
      expect(yield* countsOfTask).toMatchObject({ deadLettered: 0, succeeded: 1, cancelled: 1, queued: 2 })
    }).pipe(Effect.provide(base())),
  )
})
