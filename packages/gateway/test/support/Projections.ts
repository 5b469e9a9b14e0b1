/**
 * Shared by the projection tests: a layer over the run's redis-server with a fresh prefix, a
 * workload with every kind of outcome, the read model, and what a pure fold of the log gives.
 */
import { Actor, Deliveries, EventTailer, JobEvent, Producer, RedisClient, Settings } from "@eddy/core"
import { Effect, Layer, Option, Redacted, Schedule, Schema } from "effect"
import * as SimulatedWorker from "../../../core/test/support/SimulatedWorker.js"
import * as TestRedis from "../../../core/test/support/TestRedis.js"
import * as Projection from "../../src/Projection.js"
import * as Projector from "../../src/Projector.js"

export const Task = Actor.define("task", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
  policy: { attempts: 2, backoff: Actor.fixed("1 millis") },
})

export const base = (settings: Partial<Settings.SettingsService> = {}) =>
  Layer.provideMerge(
    Layer.merge(Producer.layer, EventTailer.layer),
    Layer.merge(
      RedisClient.layer({ url: Redacted.make(TestRedis.url()) }),
      Settings.layer({ prefix: TestRedis.uniquePrefix(), ...settings }),
    ),
  )

export const waitCaughtUp = Projector.lag.pipe(
  Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (lag) => lag === 0 }),
  Effect.timeout("20 seconds"),
)

/** The whole read model: views, per-actor counts and recent rates. */
export const readModel = Effect.all({
  views: Projection.allViews,
  counts: Projection.counts,
  rates: Projection.rates(),
})

/** Partition 0's log, decoded as every other reader decodes it. */
export const logEvents = Effect.gen(function* () {
  const { keyspace } = yield* Settings.Settings
  const redis = yield* RedisClient.RedisClient
  const entries = yield* redis.run((c) => c.xrange(keyspace.partition(0).events, "-", "+"))
  return entries.flatMap(([id, fields]) => Option.toArray(JobEvent.fromEntry(id, fields)))
})

/** The views a pure fold of the whole retained log gives: what the projection must equal. */
export const foldLog = Effect.gen(function* () {
  const views = new Map<string, Projection.JobView>()
  for (const event of yield* logEvents) {
    const next = Projection.fold(views.get(event.jobId), event)
    if (Option.isSome(next)) views.set(event.jobId, next.value)
    else views.delete(event.jobId)
  }
  return views
})

/** A mix of outcomes: succeeded, dead-lettered, cancelled, still queued, with progress. */
export const workload: Effect.Effect<
  ReadonlyArray<{ readonly jobId: string }>,
  unknown,
  Producer.Producer | RedisClient.RedisClient | Settings.Settings
> = Effect.gen(function* () {
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
