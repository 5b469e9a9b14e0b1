import { Actor, EventTailer, Producer, RedisClient, Settings } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, LogLevel, Schema } from "effect"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import * as Worker from "../src/Worker.js"

const Double = Actor.define("double", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
})

const double = Worker.handle(Double, ({ n }) => Effect.succeed({ n: n * 2 }))

/** A process of its own (own connections) on `prefix` with `partitions`. */
const processOn = (prefix: string, partitions: number) =>
  Layer.provideMerge(
    Layer.merge(Producer.layer, EventTailer.layer),
    Layer.merge(TestRedis.layer(), Settings.layer({ prefix, partitions })),
  )

describe("worker and the deployment's partition count", () => {
  it.live("a worker with another count refuses to start, writes nothing, and the jobs wait for a right one", () =>
    Effect.gen(function* () {
      const prefix = TestRedis.uniquePrefix("parts")
      const jobs = yield* Effect.flatMap(Producer.Producer, (p) =>
        p.submitMany(
          Double,
          Array.from({ length: 12 }, (_, n) => ({ input: { n } })),
        ),
      ).pipe(Effect.provide(processOn(prefix, 4)))
      const keysNow = Effect.flatMap(RedisClient.RedisClient, (redis) =>
        redis.onEachMaster((node) => node.keys(`${prefix}:*`)),
      ).pipe(
        // Every master's keys: on a cluster, KEYS answers for one node only.
        Effect.map((keys) => keys.flat().sort()),
        Effect.provide(TestRedis.layer()),
      )
      const before = yield* keysNow

      const refused = yield* Effect.flip(
        Effect.scoped(Worker.make({ handlers: [double] })).pipe(Effect.provide(processOn(prefix, 8))),
      )
      expect(refused._tag).toBe("PartitionCountMismatch")
      expect(refused.message).toContain("EDDY_PARTITIONS is 8")
      expect(refused.message).toContain("started with 4 partition(s)")
      // No consumer group, presence or inbox of the 8-partition layout was made.
      expect(yield* keysNow).toEqual(before)

      // A worker with the recorded count runs every job.
      const outputs = yield* Effect.gen(function* () {
        const p = yield* Producer.Producer
        yield* Worker.make({ handlers: [double], blockFor: "200 millis" })
        return yield* Effect.forEach(jobs, (job) => p.resultOf(Double, job.jobId, { timeout: "10 seconds" }))
      }).pipe(Effect.scoped, Effect.provide(processOn(prefix, 4)))
      expect(outputs).toEqual(Array.from({ length: 12 }, (_, n) => ({ n: n * 2 })))
    }).pipe(Effect.provide(Logger.minimumLogLevel(LogLevel.Warning))),
  )
})
