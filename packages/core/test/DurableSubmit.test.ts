import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted, Schedule, Schema } from "effect"
import { Redis } from "ioredis"
import * as Actor from "../src/Actor.js"
import * as EmbeddedRedis from "../src/EmbeddedRedis.js"
import * as EventTailer from "../src/EventTailer.js"
import * as Producer from "../src/Producer.js"
import * as RedisClient from "../src/RedisClient.js"
import * as Settings from "../src/Settings.js"
import * as TestRedis from "./support/TestRedis.js"

const Echo = Actor.define("echo", {
  input: Schema.Struct({ text: Schema.String }),
  output: Schema.Struct({ text: Schema.String }),
})

/** A producer on `url` that waits for `submitReplicas` replicas, over 4 partitions. */
const producer = (url: string, prefix: string, submitReplicas: number, timeout = Duration.seconds(1)) =>
  Layer.provideMerge(
    Layer.merge(Producer.layer, EventTailer.layer),
    Layer.merge(
      RedisClient.layer({ url: Redacted.make(url), timeout: "2 seconds" }),
      Settings.layer({ prefix, partitions: 4, submitReplicas, submitReplicasTimeout: timeout }),
    ),
  )

/** A plain connection for looking at a server from outside, closed with the scope. */
const observer = (url: string) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis(url)),
    (redis) => Effect.sync(() => redis.disconnect()),
  )

/** A master and a replica of it, in sync; both stop with the scope. */
const replicated = Effect.gen(function* () {
  const master = yield* EmbeddedRedis.start({ ephemeral: true })
  const replica = yield* EmbeddedRedis.start({ ephemeral: true })
  const replicaLink = yield* observer(replica.url)
  const masterLink = yield* observer(master.url)
  // The first sync at once, not after the default 5 s wait for more replicas.
  yield* Effect.promise(() => masterLink.config("SET", "repl-diskless-sync-delay", "0"))
  yield* Effect.promise(() => replicaLink.replicaof("127.0.0.1", master.port))
  yield* Effect.promise(() => replicaLink.info("replication")).pipe(
    Effect.filterOrFail((info) => info.includes("master_link_status:up")),
    Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("10 seconds"))),
  )
  return { master, replica, replicaLink, masterLink }
})

/** How many WAIT commands a server has run. */
const waitCalls = (redis: Redis) =>
  Effect.promise(() => redis.info("commandstats")).pipe(
    Effect.map((info) => Number(/cmdstat_wait:calls=(\d+)/.exec(info)?.[1] ?? 0)),
  )

/** Every job record under a prefix (4 partitions), as one server has them. */
const jobsOn = (redis: Redis, prefix: string) =>
  Effect.promise(async () => {
    let total = 0
    for (const p of Settings.make({ prefix, partitions: 4 }).keyspace.all) total += await redis.hlen(p.jobs)
    return total
  })

describe("DurableSubmit (EDDY_SUBMIT_REPLICAS)", () => {
  it.scopedLive("with a replica: answers once the replica has the jobs, with one WAIT per batch", () =>
    Effect.gen(function* () {
      const { master, replicaLink, masterLink } = yield* replicated
      const prefix = TestRedis.uniquePrefix("durable")
      yield* Effect.gen(function* () {
        const p = yield* Producer.Producer
        const before = yield* waitCalls(masterLink)
        const one = yield* p.submit(Echo, { text: "one" })
        expect(one.duplicate).toBe(false)
        expect(yield* waitCalls(masterLink)).toBe(before + 1)
        // 300 jobs over 4 partitions: several script calls, one WAIT.
        const many = yield* p.submitMany(
          Echo,
          Array.from({ length: 300 }, (_, i) => ({ input: { text: `m${i}` } })),
        )
        expect(many).toHaveLength(300)
        expect(yield* waitCalls(masterLink)).toBe(before + 2)
        // Acknowledged means on the replica too, at once.
        expect(yield* jobsOn(replicaLink, prefix)).toBe(301)
      }).pipe(Effect.provide(producer(master.url, prefix, 1)))
    }),
  )

  it.scopedLive("with no replica: fails typed within the bound, says the job may exist, and a retry is safe", () =>
    Effect.gen(function* () {
      const { master, replicaLink, masterLink } = yield* replicated
      // The replica leaves: the master has none now.
      yield* Effect.promise(() => replicaLink.replicaof("NO", "ONE"))
      yield* Effect.promise(() => masterLink.info("replication")).pipe(
        Effect.filterOrFail((info) => info.includes("connected_slaves:0")),
        Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("10 seconds"))),
      )
      const prefix = TestRedis.uniquePrefix("durable")
      yield* Effect.gen(function* () {
        const p = yield* Producer.Producer
        const started = Date.now()
        const error = yield* Effect.flip(p.submit(Echo, { text: "x" }, { idempotencyKey: "order-1" }))
        const took = Date.now() - started
        expect(error._tag).toBe("SubmitNotReplicated")
        if (error._tag !== "SubmitNotReplicated") return
        expect(error).toMatchObject({ replicas: 1, confirmed: 0, timeoutMs: 300 })
        expect(error.message).toContain("may exist")
        expect(error.message).toContain("same idempotency key")
        // The bound holds (the WAIT's own timeout, well below the client's 2 s).
        expect(took).toBeGreaterThanOrEqual(290)
        expect(took).toBeLessThan(2_000)
        // Written on the master: the job exists, and the retry finds it rather than making a second one.
        const [jobId] = error.jobIds
        expect((yield* p.status(jobId as string)).state).toBe("queued")
        const batch = yield* Effect.flip(p.submitMany(Echo, [{ input: { text: "a" } }, { input: { text: "b" } }]))
        expect(batch._tag).toBe("SubmitNotReplicated")
        if (batch._tag === "SubmitNotReplicated") expect(batch.jobIds).toHaveLength(2)
        // The replica comes back: the same key is a duplicate, now acknowledged.
        yield* Effect.promise(() => replicaLink.replicaof("127.0.0.1", master.port))
        yield* Effect.promise(() => replicaLink.info("replication")).pipe(
          Effect.filterOrFail((info) => info.includes("master_link_status:up")),
          Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("10 seconds"))),
        )
        const again = yield* p.submit(Echo, { text: "x" }, { idempotencyKey: "order-1" })
        expect(again).toMatchObject({ jobId, duplicate: true })
        expect(yield* jobsOn(masterLink, prefix)).toBe(3)
      }).pipe(Effect.provide(producer(master.url, prefix, 1, Duration.millis(300))))
    }),
  )

  it.live("with EDDY_SUBMIT_REPLICAS=0 (the default) nothing waits", () =>
    Effect.gen(function* () {
      const prefix = TestRedis.uniquePrefix("durable")
      const link = yield* observer(TestRedis.url())
      const before = yield* waitCalls(link)
      yield* Effect.flatMap(Producer.Producer, (p) => p.submit(Echo, { text: "x" })).pipe(
        Effect.provide(producer(TestRedis.url(), prefix, 0)),
      )
      expect(yield* waitCalls(link)).toBe(before)
    }).pipe(Effect.scoped),
  )
})
