import { Actor, Deliveries, EventTailer, JobEvent, Producer, RedisClient, Settings } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, Schedule, Schema } from "effect"
import * as SimulatedWorker from "../../core/test/support/SimulatedWorker.js"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import * as Projection from "../src/Projection.js"
import * as Projector from "../src/Projector.js"

const Task = Actor.define("task", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
  policy: { attempts: 2, backoff: Actor.fixed("1 millis") },
})

const base = () =>
  Layer.provideMerge(
    Layer.merge(Producer.layer, EventTailer.layer),
    Layer.merge(
      RedisClient.layer({ url: Redacted.make(TestRedis.url()) }),
      Settings.layer({ prefix: TestRedis.uniquePrefix() }),
    ),
  )

const waitCaughtUp = Projector.lag.pipe(
  Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (lag) => lag === 0 }),
  Effect.timeout("20 seconds"),
)

/** The whole read model: views, per-actor counts and recent rates. */
const readModel = Effect.all({ views: Projection.allViews, counts: Projection.counts, rates: Projection.rates() })

/** The views a pure fold of the whole retained log gives: what the projection must equal. */
const foldLog = Effect.gen(function* () {
  const { keyspace } = yield* Settings.Settings
  const redis = yield* RedisClient.RedisClient
  const entries = yield* redis.run((c) => c.xrange(keyspace.partition(0).events, "-", "+"))
  const views = new Map<string, Projection.JobView>()
  for (const [id, fields] of entries) {
    const event = JobEvent.fromEntry(id, fields)
    if (Option.isNone(event)) continue
    const next = Projection.fold(views.get(event.value.jobId), event.value)
    if (Option.isSome(next)) views.set(event.value.jobId, next.value)
    else views.delete(event.value.jobId)
  }
  return views
})

/** A mix of outcomes: succeeded, dead-lettered, cancelled, still queued, with progress. */
const workload = Effect.gen(function* () {
  const producer = yield* Producer.Producer
  const jobs = yield* producer.submitMany(
    Task,
    [1, 2, 3, 4, 5].map((n) => ({ input: { n } })),
  )
  const deliveries = yield* SimulatedWorker.read("w1", "task", { count: 3 })
  const [first, second] = deliveries
  if (first === undefined || second === undefined) throw new Error("expected deliveries")
  yield* Deliveries.start(first, "w1")
  yield* Deliveries.progress(first, "w1", 0.5, "half")
  yield* Deliveries.complete(first, "w1", JSON.stringify({ n: 1 }))
  yield* Deliveries.start(second, "w1")
  yield* Deliveries.fail(second, "w1", {
    error: { tag: "Bad", message: "no" },
    retryable: false,
    retryDelay: Actor.defaultPolicy.lease,
  })
  yield* producer.cancel(jobs[4]!.jobId)
  return jobs
})

describe("Projector", () => {
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
      const { keyspace } = yield* Settings.Settings
      const redis = yield* RedisClient.RedisClient
      const entries = yield* redis.run((c) => c.xrange(keyspace.partition(0).events, "-", "+"))
      const events = entries.flatMap(([id, fields]) => Option.toArray(JobEvent.fromEntry(id, fields)))
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
      yield* Effect.scoped(Layer.build(Projector.layer).pipe(Effect.zipRight(waitCaughtUp)))
      const views = yield* Projection.allViews
      expect(views.size).toBe(1500)
      expect(views).toEqual(yield* foldLog)
      expect((yield* Projection.counts).get("task")?.succeeded).toBe(1500)
    }).pipe(Effect.provide(base())),
  )
})
