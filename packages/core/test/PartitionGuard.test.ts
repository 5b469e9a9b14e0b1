import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Schema } from "effect"
import * as Actor from "../src/Actor.js"
import * as EddyClient from "../src/EddyClient.js"
import * as EventTailer from "../src/EventTailer.js"
import * as PartitionGuard from "../src/PartitionGuard.js"
import * as Producer from "../src/Producer.js"
import * as RedisClient from "../src/RedisClient.js"
import * as Settings from "../src/Settings.js"
import * as TestRedis from "./support/TestRedis.js"

const Echo = Actor.define("echo", {
  input: Schema.Struct({ text: Schema.String }),
  output: Schema.Struct({ text: Schema.String }),
})

/** A producer process of its own (own connections) on `prefix` with `partitions`. */
const producer = (prefix: string, partitions: number) =>
  Layer.provideMerge(
    Layer.merge(Producer.layer, EventTailer.layer),
    Layer.merge(TestRedis.layer(), Settings.layer({ prefix, partitions })),
  )

/** Every job record under a prefix, over the first `partitions` partitions. */
const jobsUnder = (prefix: string, partitions: number) =>
  Effect.gen(function* () {
    const redis = yield* RedisClient.RedisClient
    const { keyspace } = Settings.make({ prefix, partitions })
    const counts = yield* Effect.forEach(keyspace.all, (p) => redis.run((c) => c.hlen(p.jobs)))
    return counts.reduce((a, b) => a + b, 0)
  }).pipe(Effect.provide(TestRedis.layer()))

describe("PartitionGuard", () => {
  it.live("the first component records the count; the same count is accepted again", () =>
    Effect.gen(function* () {
      const prefix = TestRedis.uniquePrefix("guard")
      const settings = Settings.layer({ prefix, partitions: 4 })
      yield* PartitionGuard.verify.pipe(Effect.provide(Layer.merge(TestRedis.layer(), settings)))
      yield* PartitionGuard.verify.pipe(Effect.provide(Layer.merge(TestRedis.layer(), settings)))
      const recorded = yield* Effect.flatMap(RedisClient.RedisClient, (redis) =>
        redis.run((c) => c.hget(`${prefix}:meta`, PartitionGuard.partitionsField)),
      ).pipe(Effect.provide(TestRedis.layer()))
      expect(recorded).toBe("4")
    }),
  )

  it.live("a producer with another count is refused, naming both counts and the prefix, and writes nothing", () =>
    Effect.gen(function* () {
      const prefix = TestRedis.uniquePrefix("guard")
      const first = yield* Effect.gen(function* () {
        const p = yield* Producer.Producer
        const one = yield* p.submit(Echo, { text: "one" }, { idempotencyKey: "k1" })
        const many = yield* p.submitMany(
          Echo,
          Array.from({ length: 20 }, (_, i) => ({ input: { text: `m${i}` } })),
        )
        return [one, ...many]
      }).pipe(Effect.provide(producer(prefix, 4)))
      expect(yield* jobsUnder(prefix, 4)).toBe(21)

      const refused = yield* Effect.gen(function* () {
        const p = yield* Producer.Producer
        const single = yield* Effect.flip(p.submit(Echo, { text: "two" }, { idempotencyKey: "k1" }))
        const batch = yield* Effect.flip(p.submitMany(Echo, [{ input: { text: "b" } }]))
        return { single, batch }
      }).pipe(Effect.provide(producer(prefix, 8)))
      expect(refused.single._tag).toBe("PartitionCountMismatch")
      expect(refused.batch._tag).toBe("PartitionCountMismatch")
      if (refused.single._tag !== "PartitionCountMismatch") return
      expect(refused.single).toMatchObject({ prefix, recorded: "4", configured: 8 })
      expect(refused.single.message).toContain("EDDY_PARTITIONS is 8")
      expect(refused.single.message).toContain(`"${prefix}" was started with 4 partition(s)`)
      expect(refused.single.message).toContain("new EDDY_PREFIX")

      // Nothing was written under any of the 8 partitions, and the first jobs are all still found.
      expect(yield* jobsUnder(prefix, 8)).toBe(21)
      const statuses = yield* Effect.gen(function* () {
        const p = yield* Producer.Producer
        return yield* Effect.forEach(first, (job) => p.status(job.jobId))
      }).pipe(Effect.provide(producer(prefix, 4)))
      expect(statuses.map((s) => s.state)).toEqual(first.map(() => "queued"))
      // The recorded count did not change.
      expect(
        yield* Effect.flatMap(RedisClient.RedisClient, (redis) =>
          redis.run((c) => c.hget(`${prefix}:meta`, "partitions")),
        ).pipe(Effect.provide(TestRedis.layer())),
      ).toBe("4")
    }),
  )

  it("the Promise client is refused at connect", async () => {
    const prefix = TestRedis.uniquePrefix("guard")
    const eddy = await EddyClient.connect({ url: TestRedis.url(), prefix, partitions: 2 })
    await eddy.close()
    await expect(EddyClient.connect({ url: TestRedis.url(), prefix, partitions: 3 })).rejects.toMatchObject({
      _tag: "PartitionCountMismatch",
      recorded: "2",
      configured: 3,
    })
  })

  it.live("is asked once per client: a record changed behind its back is seen by a new client only", () =>
    Effect.gen(function* () {
      const prefix = TestRedis.uniquePrefix("guard")
      const client = RedisClient.layer({ url: Redacted.make(TestRedis.url()) })
      yield* Effect.gen(function* () {
        yield* PartitionGuard.ensure
        const redis = yield* RedisClient.RedisClient
        yield* redis.run((c) => c.hset(`${prefix}:meta`, "partitions", "5"))
        // Verified already: no second round trip.
        yield* PartitionGuard.ensure
        const fresh = yield* Effect.flip(PartitionGuard.verify)
        expect(fresh._tag).toBe("PartitionCountMismatch")
      }).pipe(Effect.provide(Layer.merge(client, Settings.layer({ prefix, partitions: 2 }))))
    }),
  )
})
