import { Actor, EventTailer, Producer, RedisClient, Settings } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Schema } from "effect"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import * as Worker from "../src/Worker.js"

const Double = Actor.define("double", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
  policy: { attempts: 3, backoff: Actor.fixed("20 millis"), lease: "2 seconds" },
})

const base = () =>
  Layer.merge(
    RedisClient.layer({ url: Redacted.make(TestRedis.url()) }),
    Settings.layer({ prefix: TestRedis.uniquePrefix() }),
  )

describe("worker smoke", () => {
  it.live("runs jobs, retries a failure, and shuts down", () => {
    let calls = 0
    const handler = Worker.handle(Double, ({ n }) =>
      Effect.suspend(() => {
        calls++
        return n === 3 && calls < 5 ? Effect.fail(new Error("flaky")) : Effect.succeed({ n: n * 2 })
      }),
    )
    return Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const jobs = yield* producer.submitMany(
        Double,
        [1, 2, 3, 4].map((n) => ({ input: { n } })),
      )
      const outputs = yield* Effect.scoped(
        Effect.gen(function* () {
          yield* Worker.make({ handlers: [handler], concurrency: 4 })
          return yield* Effect.forEach(jobs, (job) => producer.resultOf(Double, job.jobId, { timeout: "10 seconds" }))
        }),
      )
      expect(outputs).toEqual([{ n: 2 }, { n: 4 }, { n: 6 }, { n: 8 }])
      const status = yield* producer.status(jobs[2]!.jobId)
      expect(status.attempt).toBeGreaterThan(1)
    }).pipe(Effect.provide(Layer.provideMerge(Layer.merge(Producer.layer, EventTailer.layer), base())))
  })
})
