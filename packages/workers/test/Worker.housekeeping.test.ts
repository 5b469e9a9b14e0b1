/**
 * The maintenance loop's housekeeping, end to end with a worker: a job stranded by a deleted
 * inbox entry runs after all, and the event log is trimmed by age.
 */
import { Actor, EventTailer, JobEvent, JobStore, Producer, RedisClient, Settings } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Schema } from "effect"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import * as Worker from "../src/Worker.js"
import { quiet } from "./fixtures/Harness.js"

const Echo = Actor.define("housekeeping-echo", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
})

const layer = (settings: Partial<Omit<Settings.SettingsService, "keyspace">> = {}) =>
  Layer.provideMerge(
    Layer.merge(Producer.layer, EventTailer.layer),
    Layer.merge(
      RedisClient.layer(TestRedis.target()),
      TestRedis.settings({ prefix: TestRedis.uniquePrefix("hk"), ...settings }),
    ),
  )

const handler = Worker.handle(Echo, (input) => Effect.succeed(input))

describe("worker housekeeping", () => {
  it.live("a job whose inbox entry was deleted by hand still runs: the worker's sweep requeues it", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const { keyspace } = yield* Settings.Settings
      const redis = yield* RedisClient.RedisClient
      const stranded = yield* producer.submit(Echo, { n: 1 })
      const fine = yield* producer.submit(Echo, { n: 2 })
      // Its partition's inbox: its entry is the first there (submitted before the other job).
      const inbox = keyspace.partitionOf(stranded.jobId).inbox(Echo.name, "normal")
      const [first] = yield* redis.run((c) => c.xrange(inbox, "-", "+", "COUNT", 1))
      yield* redis.run((c) => c.xdel(inbox, first?.[0] ?? ""))
      yield* Worker.make({ handlers: [handler], concurrency: 4, blockFor: "100 millis" })
      expect(yield* producer.resultOf(Echo, fine.jobId, { timeout: "3 seconds" })).toEqual({ n: 2 })
      expect(yield* producer.resultOf(Echo, stranded.jobId, { timeout: "5 seconds" })).toEqual({ n: 1 })
      const types = (yield* JobStore.history(stranded.jobId)).map((event) => event.type)
      expect(types).toEqual(["submitted", "requeued", "started", "succeeded"])
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(layer(), quiet))),
  )

  it.live("the worker trims the event log by age", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const { keyspace } = yield* Settings.Settings
      const redis = yield* RedisClient.RedisClient
      yield* producer.submitMany(
        Echo,
        Array.from({ length: 1_000 }, (_, n) => ({ input: { n } })),
      )
      yield* Effect.sleep("300 millis")
      yield* Worker.make({ handlers: [handler], concurrency: 50, blockFor: "100 millis" })
      // The submitted events are past the retention; the worker's own later events are not.
      yield* Effect.sleep("500 millis")
      const submitted = (yield* Effect.forEach(keyspace.all, (p) => redis.run((c) => c.xrange(p.events, "-", "+"))))
        .flat()
        .filter(([, fields]) => JobEvent.eventFieldsOf(fields)?.type === "submitted")
      expect(submitted.length).toBeLessThan(200)
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(layer({ eventsRetention: Duration.millis(200) }), quiet))),
  )
})
