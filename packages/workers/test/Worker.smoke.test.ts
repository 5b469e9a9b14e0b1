import { Actor, EventTailer, Producer, RedisClient, Settings } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, HashMap, Layer, Logger, Schema } from "effect"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import * as Worker from "../src/Worker.js"

const Double = Actor.define("double", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
  policy: { attempts: 3, backoff: Actor.fixed("20 millis"), lease: "2 seconds" },
})

const base = () =>
  Layer.merge(RedisClient.layer(TestRedis.target()), TestRedis.settings({ prefix: TestRedis.uniquePrefix() }))

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
      const { keyspace } = yield* Settings.Settings
      const redis = yield* RedisClient.RedisClient
      // An inbox the worker must read: the first job's (its partition, of 12 on the cluster).
      const inbox = keyspace.partitionOf(jobs[0]?.jobId ?? "").inbox("double", "normal")
      const consumers = redis.run(
        (c) => c.xinfo("CONSUMERS", inbox, "workers") as Promise<Array<Array<string | number>>>,
      )
      const { outputs, id, during } = yield* Effect.scoped(
        Effect.gen(function* () {
          const worker = yield* Worker.make({ handlers: [handler], concurrency: 4 })
          const outputs = yield* Effect.forEach(jobs, (job) =>
            producer.resultOf(Double, job.jobId, { timeout: "10 seconds" }),
          )
          return { outputs, id: worker.id, during: (yield* consumers).map((fields) => String(fields[1])) }
        }),
      )
      expect(outputs).toEqual([{ n: 2 }, { n: 4 }, { n: 6 }, { n: 8 }])
      // A clean stop retires the consumer name, so stopped workers leave nothing behind.
      expect(during).toContain(id)
      expect((yield* consumers).map((fields) => String(fields[1]))).not.toContain(id)
      const status = yield* producer.status(jobs[2]!.jobId)
      expect(status.attempt).toBeGreaterThan(1)
    }).pipe(Effect.provide(Layer.provideMerge(Layer.merge(Producer.layer, EventTailer.layer), base())))
  })

  it.live("a void output succeeds with null; an output that is no JSON value dead-letters as InvalidOutput", () => {
    const Fire = Actor.define("fire", { input: Schema.Struct({ n: Schema.Number }), output: Schema.Void })
    const Big = Actor.define("big", {
      input: Schema.Struct({ n: Schema.Number }),
      output: Schema.Unknown,
      policy: { attempts: 3 },
    })
    const fire = Worker.handle(Fire, () => Effect.void)
    const big = Worker.handle(Big, ({ n }) => Effect.succeed({ n: BigInt(n) }))
    return Effect.gen(function* () {
      const producer = yield* Producer.Producer
      yield* Worker.make({ handlers: [fire, big], concurrency: 4 })
      const fired = yield* producer.submit(Fire, { n: 1 })
      yield* producer.resultOf(Fire, fired.jobId, { timeout: "5 seconds" })
      expect(yield* producer.status(fired.jobId)).toMatchObject({ state: "succeeded", output: null })
      const bigJob = yield* producer.submit(Big, { n: 1 })
      const failure = yield* producer.resultOf(Big, bigJob.jobId, { timeout: "5 seconds" }).pipe(Effect.flip)
      expect(failure._tag).toBe("JobDeadLettered")
      // Not retried: the same handler would make the same output.
      expect(yield* producer.status(bigJob.jobId)).toMatchObject({
        state: "deadLettered",
        attempt: 1,
        error: { tag: "InvalidOutput" },
      })
    }).pipe(Effect.scoped, Effect.provide(Layer.provideMerge(Layer.merge(Producer.layer, EventTailer.layer), base())))
  })

  it.live("annotates the logs of a job, its handler's among them, with actor, job id and attempt", () => {
    const lines: Array<{ readonly message: unknown; readonly annotations: Record<string, unknown> }> = []
    const capture = Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ message, annotations }) => {
        lines.push({ message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) })
      }),
    )
    let calls = 0
    const handler = Worker.handle(Double, ({ n }) =>
      Effect.gen(function* () {
        calls++
        yield* Effect.logInfo(`doubling ${n}`)
        if (calls === 1) return yield* Effect.fail(new Error("first attempt fails"))
        return { n: n * 2 }
      }),
    )
    return Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const job = yield* producer.submit(Double, { n: 21 })
      const output = yield* Effect.scoped(
        Worker.make({ handlers: [handler], concurrency: 2 }).pipe(
          Effect.zipRight(producer.resultOf(Double, job.jobId, { timeout: "10 seconds" })),
        ),
      )
      expect(output).toEqual({ n: 42 })
      const handlerLines = lines.filter((line) => String(line.message).includes("doubling 21"))
      expect(handlerLines.map((line) => line.annotations)).toEqual([
        expect.objectContaining({ actor: "double", jobId: job.jobId, attempt: 1 }),
        expect.objectContaining({ actor: "double", jobId: job.jobId, attempt: 2 }),
      ])
      // The worker's own line about the failed attempt carries them too.
      const failed = lines.find((line) => String(line.message).includes("attempt 1 failed"))
      expect(failed?.annotations).toMatchObject({ actor: "double", jobId: job.jobId, attempt: 1 })
    }).pipe(
      Effect.provide(Layer.provideMerge(Layer.merge(Producer.layer, EventTailer.layer), base())),
      Effect.provide(capture),
    )
  })
})
