/**
 * `EDDY_SUBMIT_REPLICAS` on the run's Redis Cluster (3 masters, each with a replica): a batch over
 * 12 partitions waits once per master it wrote to, on that master, and is acknowledged.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import * as Actor from "../src/Actor.js"
import * as EventTailer from "../src/EventTailer.js"
import * as Producer from "../src/Producer.js"
import * as RedisClient from "../src/RedisClient.js"
import * as Settings from "../src/Settings.js"
import * as TestRedis from "./support/TestRedis.js"

const Echo = Actor.define("echo", {
  input: Schema.Struct({ text: Schema.String }),
  output: Schema.Struct({ text: Schema.String }),
})

/** WAIT calls per master so far, by "host:port". */
const waitCalls = Effect.flatMap(RedisClient.RedisClient, (redis) =>
  redis.onEachMaster(async (node) => {
    const info = await node.info("commandstats")
    return [
      `${node.options.host}:${node.options.port}`,
      Number(/cmdstat_wait:calls=(\d+)/.exec(info)?.[1] ?? 0),
    ] as const
  }),
).pipe(Effect.map((entries) => new Map(entries)))

describe("DurableSubmit on a Redis Cluster", () => {
  it.live("a batch over 12 partitions waits once on each master it wrote to, and is acknowledged", () =>
    Effect.gen(function* () {
      const p = yield* Producer.Producer
      const redis = yield* RedisClient.RedisClient
      const { keyspace } = yield* Settings.Settings
      const before = yield* waitCalls
      const jobs = yield* p.submitMany(
        Echo,
        Array.from({ length: 120 }, (_, i) => ({ input: { text: `t${i}` } })),
      )
      const after = yield* waitCalls
      const written = new Set(jobs.map((job) => redis.nodeOf(keyspace.partitionOf(job.jobId).jobs)))
      // Jobs over 12 partitions land on every master; each master got exactly one WAIT.
      expect(written.size).toBe(3)
      for (const [node, calls] of after) expect(calls - (before.get(node) ?? 0), node).toBe(1)
      for (const job of jobs.slice(0, 12)) expect((yield* p.status(job.jobId)).state).toBe("queued")
    }).pipe(
      Effect.provide(
        Layer.provideMerge(
          Layer.merge(Producer.layer, EventTailer.layer),
          Layer.merge(
            TestRedis.layer(),
            Settings.layer({ prefix: TestRedis.uniquePrefix("durable"), partitions: 12, submitReplicas: 1 }),
          ),
        ),
      ),
    ),
  )
})
