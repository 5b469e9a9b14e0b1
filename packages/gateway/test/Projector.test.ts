import { Producer, RedisClient, Settings, StreamKeys } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Runtime } from "effect"
import * as SimulatedWorker from "../../core/test/support/SimulatedWorker.js"
import * as Projection from "../src/Projection.js"
import * as Projector from "../src/Projector.js"
import { base, foldLog, logEvents, readModel, Task, waitCaughtUp, workload } from "./support/Projections.js"

/**
 * The command connection as the projector sees it, but running `before` ahead of each
 * `project-many` call (as another process could write in between).
 */
const beforeEachWrite = (redis: RedisClient.RedisClientService, before: () => Promise<void>) => ({
  ...redis,
  run: <A>(command: (connection: Parameters<Parameters<typeof redis.run>[0]>[0]) => Promise<A>) =>
    redis.run((connection) =>
      command(
        new Proxy(connection, {
          get: (target, key) => {
            const value = Reflect.get(target, key)
            if (key !== "evalsha") return typeof value === "function" ? value.bind(target) : value
            return async (sha: string, ...rest: Array<string | number>) => {
              if (sha === Projector.projectScript.sha) await before()
              return Reflect.apply(value as typeof target.evalsha, target, [sha, ...rest])
            }
          },
        }),
      ),
    ),
})

describe("Projector", () => {
  it.scopedLive("folds a batch of many jobs with one script call, and again a view that changed meanwhile", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const jobs = yield* producer.submitMany(
        Task,
        Array.from({ length: 200 }, (_, n) => ({ input: { n } })),
      )
      yield* SimulatedWorker.completeAll("w1", "task")
      const events = yield* logEvents
      expect(events.length).toBe(600)
      // While ours has read the views and is about to write, another projector folds the first
      // job's first two events: that job must be read and folded again, the others not.
      const redis = yield* RedisClient.RedisClient
      const other = yield* Effect.runtime<RedisClient.RedisClient | Settings.Settings>()
      const firstJob = events.filter((event) => event.jobId === jobs[0]!.jobId)
      let calls = 0
      const watched = beforeEachWrite(redis, async () => {
        calls++
        if (calls === 1) await Runtime.runPromise(other)(Projector.applyBatch(0, firstJob.slice(0, 2)))
      })
      yield* Projector.applyBatch(0, events).pipe(Effect.provideService(RedisClient.RedisClient, watched))
      // One call per minute the outcomes count in (one, unless the run crossed a minute's turn),
      // and one for the job folded again.
      const minutes = new Set(
        jobs.map((job) => Math.floor(events.filter((event) => event.jobId === job.jobId).at(-1)!.at / 60_000)),
      )
      expect(calls).toBe(minutes.size + 1)
      const model = yield* readModel
      expect(model.views).toEqual(yield* foldLog)
      expect(model.counts.get("task")).toMatchObject({ succeeded: 200, queued: 0, active: 0 })
      expect(model.rates.get("task")).toEqual({ succeeded: 200 })
    }).pipe(Effect.provide(base())),
  )

  it.scopedLive(
    "acknowledges a job's entries in the call that writes its view, and leaves a job it could not write pending",
    () =>
      Effect.gen(function* () {
        const producer = yield* Producer.Producer
        const jobs = yield* producer.submitMany(
          Task,
          [1, 2, 3].map((n) => ({ input: { n } })),
        )
        yield* SimulatedWorker.completeAll("w1", "task")
        const { keyspace } = yield* Settings.Settings
        const redis = yield* RedisClient.RedisClient
        const log = keyspace.partition(0).events
        // Read through the group as the projector does: every entry is pending until acknowledged.
        yield* redis.run((c) => c.xgroup("CREATE", log, StreamKeys.projectorGroup, "0"))
        yield* redis.run((c) =>
          c.xreadgroup("GROUP", StreamKeys.projectorGroup, "projector", "COUNT", 100, "STREAMS", log, ">"),
        )
        const pendingCount = Effect.map(
          redis.run((c) => c.xpending(log, StreamKeys.projectorGroup) as Promise<[number, ...Array<unknown>]>),
          ([count]) => Number(count),
        )
        expect(yield* pendingCount).toBe(9)
        // Before every write, another writer changes the first job's view: it stays stale through
        // every round, so its entries must stay pending (to be read again); the others are written
        // and acknowledged by the writes themselves.
        const first = jobs[0]!.jobId
        let changes = 0
        const runtime = yield* Effect.runtime<never>()
        const watched = beforeEachWrite(redis, async () => {
          changes++
          await Runtime.runPromise(runtime)(
            redis.run((c) => c.hset(keyspace.partition(0).viewJobs, first, `["1-${changes}","task","queued",1,0,0,0]`)),
          )
        })
        const complete = yield* Projector.applyBatch(0, yield* logEvents).pipe(
          Effect.provideService(RedisClient.RedisClient, watched),
        )
        expect(complete).toBe(false)
        expect(yield* pendingCount).toBe(3)
        const pending = (yield* redis.run((c) => c.xpending(log, StreamKeys.projectorGroup, "-", "+", 10))) as Array<
          [string, ...Array<unknown>]
        >
        const firstEvents = (yield* logEvents).filter((event) => event.jobId === first).map((event) => event.id)
        expect(pending.map(([id]) => id)).toEqual(firstEvents)
      }).pipe(Effect.provide(base())),
  )

  it.scopedLive("folds events into job views and per-actor counts", () =>
    Effect.gen(function* () {
      const jobs = yield* workload
      yield* Layer.build(Projector.layer)
      yield* waitCaughtUp
      const views = yield* Projection.allViews
      expect(views.get(jobs[0]!.jobId)).toMatchObject({ state: "succeeded", progress: 1, attempt: 1 })
      expect(views.get(jobs[0]!.jobId)?.runMs).toBeGreaterThanOrEqual(0)
      expect(views.get(jobs[1]!.jobId)).toMatchObject({
        state: "deadLettered",
        deadLetterReason: "nonRetryable",
        error: { tag: "Bad" },
      })
      expect(views.get(jobs[4]!.jobId)).toMatchObject({ state: "cancelled" })
      const counts = (yield* Projection.counts).get("task")
      // job 3 was read by the worker but never started: still queued.
      expect(counts).toMatchObject({ succeeded: 1, deadLettered: 1, cancelled: 1, queued: 2, active: 0 })
      const rates = (yield* Projection.rates()).get("task")
      expect(rates).toMatchObject({ succeeded: 1, failed: 1, deadLettered: 1 })
      expect(views).toEqual(yield* foldLog)
    }).pipe(Effect.provide(base())),
  )

  it.scopedLive("applying the same events again changes nothing", () =>
    Effect.gen(function* () {
      yield* workload
      yield* Layer.build(Projector.layer)
      yield* waitCaughtUp
      const before = yield* readModel
      const events = yield* logEvents
      yield* Projector.applyBatch(0, events)
      yield* Projector.applyBatch(0, events.slice(2, 5))
      expect(yield* readModel).toEqual(before)
    }).pipe(Effect.provide(base())),
  )

  it.scopedLive("a rebuild gives the same read model, field by field", () =>
    Effect.gen(function* () {
      yield* workload
      yield* Layer.build(Projector.layer)
      yield* waitCaughtUp
      const before = yield* readModel
      expect(before.views.size).toBe(5)
      yield* Projector.rebuild
      const after = yield* readModel
      for (const [jobId, view] of before.views) expect(after.views.get(jobId)).toEqual(view)
      expect(after).toEqual(before)
    }).pipe(Effect.provide(base())),
  )

  it.live("a projector stopped mid-stream and restarted loses nothing", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      yield* producer.submitMany(
        Task,
        Array.from({ length: 1500 }, (_, n) => ({ input: { n } })),
      )
      yield* SimulatedWorker.completeAll("w1", "task")
      // Stop it while it is folding (one batch is 500 events; the log holds 4,500).
      yield* Effect.scoped(Layer.build(Projector.layer).pipe(Effect.zipRight(Effect.sleep("30 millis"))))
      expect(yield* Projector.lag).toBeGreaterThan(0)
      // It let go of its partition on the way out: the next projector takes over at once, not
      // when the lock's TTL (10 s) runs out.
      const { keyspace } = yield* Settings.Settings
      const redis = yield* RedisClient.RedisClient
      expect(yield* redis.run((c) => c.exists(keyspace.partition(0).projectorLock))).toBe(0)
      yield* Effect.scoped(Layer.build(Projector.layer).pipe(Effect.zipRight(waitCaughtUp)))
      const views = yield* Projection.allViews
      expect(views.size).toBe(1500)
      expect(views).toEqual(yield* foldLog)
      expect((yield* Projection.counts).get("task")?.succeeded).toBe(1500)
    }).pipe(Effect.provide(base())),
  )
})
