import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Fiber, Layer, Option, Queue, Redacted, Schema, Stream } from "effect"
import { Redis } from "ioredis"
import * as Actor from "../src/Actor.js"
import * as Deliveries from "../src/Deliveries.js"
import * as EventTailer from "../src/EventTailer.js"
import * as JobId from "../src/JobId.js"
import * as Producer from "../src/Producer.js"
import * as RedisClient from "../src/RedisClient.js"
import * as Settings from "../src/Settings.js"
import * as SimulatedWorker from "./support/SimulatedWorker.js"
import * as TestRedis from "./support/TestRedis.js"

const Echo = Actor.define("echo", {
  input: Schema.Struct({ text: Schema.String, count: Schema.Number.pipe(Schema.int(), Schema.positive()) }),
  output: Schema.Struct({ text: Schema.String, count: Schema.Number }),
  policy: { attempts: 2, backoff: Actor.fixed("10 millis") },
})

/** A producer with its own prefix and a named client, so its connections can be counted. */
const producerLayer = (
  name = TestRedis.uniquePrefix("conn"),
  settings: Partial<Omit<Parameters<typeof Settings.layer>[0], "prefix">> = {},
) => {
  const base = Layer.merge(
    RedisClient.layer({ url: Redacted.make(TestRedis.url()), name }),
    Settings.layer({ prefix: TestRedis.uniquePrefix(), ...settings }),
  )
  return Layer.provideMerge(Layer.merge(Producer.layer, EventTailer.layer), base)
}

const connectionsNamed = async (name: string) => {
  const observer = new Redis(TestRedis.url())
  try {
    const list = (await observer.client("LIST")) as string
    return list.split("\n").filter((line) => line.includes(`name=${name}:`)).length
  } finally {
    observer.disconnect()
  }
}

/** As worker `w1`: reads the next `echo` delivery, starts it and fails the attempt with `error`. */
const startAndFail = (error: { readonly tag: string; readonly message: string }, retryable: boolean) =>
  Effect.gen(function* () {
    const [delivery] = yield* SimulatedWorker.read("w1", "echo")
    if (delivery === undefined) throw new Error("no delivery")
    yield* Deliveries.start(delivery, "w1")
    yield* Deliveries.fail(delivery, "w1", { error, retryable, retryDelay: Actor.defaultPolicy.lease })
  })

describe("Producer", () => {
  it.live("submits a valid input and finds the job queued", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const submitted = yield* producer.submit(Echo, { text: "hi", count: 1 })
      expect(submitted.duplicate).toBe(false)
      expect(submitted.state).toBe("queued")
      const status = yield* producer.status(submitted.jobId)
      expect(status).toMatchObject({
        actor: "echo",
        state: "queued",
        attempt: 1,
        maxAttempts: 2,
        input: { text: "hi", count: 1 },
      })
    }).pipe(Effect.provide(producerLayer())),
  )

  it.live("refuses an invalid input with path-level issues and writes nothing", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const error = yield* Effect.flip(producer.submit(Echo, { text: "hi", count: -1 }))
      expect(error._tag).toBe("InvalidInput")
      if (error._tag !== "InvalidInput") return
      expect(error.issues[0]?.path).toEqual(["count"])
      expect(error.message).toContain("count")
      const unknownError = yield* Effect.flip(Producer.prepareUnknown(Echo, { text: 3 }))
      expect(unknownError._tag).toBe("InvalidInput")
      const redis = yield* RedisClient.RedisClient
      const { keyspace } = yield* Settings.Settings
      expect(yield* redis.run((c) => c.exists(keyspace.partition(0).jobs))).toBe(0)
    }).pipe(Effect.provide(producerLayer())),
  )

  it.live("refuses an input over the payload limit, naming the size and the limit", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const error = yield* Effect.flip(producer.submit(Echo, { text: "x".repeat(200), count: 1 }))
      expect(error._tag).toBe("PayloadTooLarge")
      if (error._tag !== "PayloadTooLarge") return
      expect(error.limit).toBe(100)
      expect(error.size).toBeGreaterThan(200)
      expect(error.message).toContain("100 bytes")
    }).pipe(Effect.provide(producerLayer(undefined, { maxPayloadBytes: 100 }))),
  )

  it.live("measures the payload in UTF-8 bytes, not characters", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      // 61 characters of JSON text either way; with "é" that is 101 bytes, over a 70-byte limit.
      const error = yield* Effect.flip(producer.submit(Echo, { text: "é".repeat(40), count: 1 }))
      expect(error._tag).toBe("PayloadTooLarge")
      if (error._tag !== "PayloadTooLarge") return
      expect(error.size).toBe(Buffer.byteLength(JSON.stringify({ text: "é".repeat(40), count: 1 }), "utf8"))
      // The same count of ASCII characters fits.
      expect((yield* producer.submit(Echo, { text: "e".repeat(40), count: 1 })).duplicate).toBe(false)
    }).pipe(Effect.provide(producerLayer(undefined, { maxPayloadBytes: 70 }))),
  )

  it.live("maps an idempotency key to the same job and reports the duplicate", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const first = yield* producer.submit(Echo, { text: "a", count: 1 }, { idempotencyKey: "order-42" })
      const second = yield* producer.submit(Echo, { text: "b", count: 2 }, { idempotencyKey: "order-42" })
      expect(second).toEqual({ jobId: first.jobId, duplicate: true, state: "queued" })
      expect(first.jobId).toBe(JobId.fromIdempotencyKey("echo", "order-42"))
      expect((yield* producer.status(first.jobId)).input).toEqual({ text: "a", count: 1 })
      const refused = yield* Effect.flip(producer.submit(Echo, { text: "c", count: 1 }, { jobId: "bad id!" }))
      expect(refused._tag).toBe("InvalidOptions")
    }).pipe(Effect.provide(producerLayer())),
  )

  it.live("an idempotency key with a partition key: the pair decides, and no id lives in two partitions", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const input = { text: "a", count: 1 }
      const first = yield* producer.submit(Echo, input, { idempotencyKey: "order-7", partitionKey: "tenant-a" })
      const again = yield* producer.submit(Echo, input, { idempotencyKey: "order-7", partitionKey: "tenant-a" })
      expect(again).toEqual({ jobId: first.jobId, duplicate: true, state: "queued" })
      // Another partition key is another job, with its own id, whatever partition it lands in.
      const jobIds = new Set([first.jobId])
      for (const tenant of ["tenant-b", "tenant-c", "tenant-d", "tenant-e"]) {
        const other = yield* producer.submit(Echo, input, { idempotencyKey: "order-7", partitionKey: tenant })
        expect(other.duplicate).toBe(false)
        jobIds.add(other.jobId)
        expect(yield* producer.submit(Echo, input, { idempotencyKey: "order-7", partitionKey: tenant })).toMatchObject({
          jobId: other.jobId,
          duplicate: true,
        })
      }
      expect(jobIds.size).toBe(5)
      // Without a partition key the id is the key's alone, as before.
      const plain = yield* producer.submit(Echo, input, { idempotencyKey: "order-7" })
      expect(plain.jobId).toBe(JobId.fromIdempotencyKey("echo", "order-7"))
      expect(jobIds.has(plain.jobId)).toBe(false)
    }).pipe(Effect.provide(producerLayer(undefined, { partitions: 8 }))),
  )

  it.live("submitMany validates every item before writing any", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const refused = yield* Effect.either(
        producer.submitMany(Echo, [{ input: { text: "ok", count: 1 } }, { input: { text: "bad", count: 0 } }]),
      )
      expect(Either.isLeft(refused)).toBe(true)
      const redis = yield* RedisClient.RedisClient
      const { keyspace } = yield* Settings.Settings
      expect(yield* redis.run((c) => c.exists(keyspace.partition(0).jobs))).toBe(0)
      const items = Array.from({ length: 50 }, (_, i) => ({ input: { text: `t${i}`, count: i + 1 } }))
      const submitted = yield* producer.submitMany(Echo, items)
      expect(submitted).toHaveLength(50)
      expect(new Set(submitted.map((s) => s.jobId)).size).toBe(50)
      expect(yield* redis.run((c) => c.hlen(keyspace.partition(0).jobs))).toBe(50)
    }).pipe(Effect.provide(producerLayer())),
  )

  it.live("result waits for the job to succeed and decodes the output", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const { jobId } = yield* producer.submit(Echo, { text: "hello", count: 3 })
      const waiting = yield* Effect.fork(producer.resultOf(Echo, jobId, { timeout: "10 seconds" }))
      yield* Effect.sleep("100 millis")
      yield* SimulatedWorker.completeAll("w1", "echo")
      expect(yield* Fiber.join(waiting)).toEqual({ text: "hello", count: 3 })
      // Already finished: answered from the status, at once.
      expect(yield* producer.result(jobId, { timeout: "1 second" })).toEqual({ text: "hello", count: 3 })
    }).pipe(Effect.provide(producerLayer())),
  )

  it.live("with failFast, result fails with the first failed attempt; without it, waits for the retry", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const { jobId } = yield* producer.submit(Echo, { text: "flaky", count: 1 })
      const fast = yield* Effect.fork(producer.result(jobId, { timeout: "10 seconds", failFast: true }))
      const patient = yield* Effect.fork(producer.result(jobId, { timeout: "10 seconds" }))
      yield* Effect.sleep("50 millis")
      yield* startAndFail({ tag: "Flaky", message: "try again" }, true)
      expect(yield* Effect.flip(Fiber.join(fast))).toMatchObject({
        _tag: "JobFailed",
        attempt: 1,
        willRetry: true,
        error: { tag: "Flaky" },
      })
      // The other waiter is still waiting: the job will be retried.
      expect(yield* Fiber.poll(patient)).toEqual(Option.none())
      expect(yield* producer.cancel(jobId)).toBe("cancelled")
      expect((yield* Effect.flip(Fiber.join(patient)))._tag).toBe("JobCancelled")
    }).pipe(Effect.provide(producerLayer())),
  )

  it.live("a listener of the tailer gets its job's events only, and none once it stopped", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const tailer = yield* EventTailer.EventTailer
      const mine = yield* producer.submit(Echo, { text: "mine", count: 1 })
      const seen: Array<string> = []
      const stop = yield* tailer.listen(mine.jobId, (event) => seen.push(event.type))
      yield* producer.submit(Echo, { text: "other", count: 1 })
      const [delivery] = yield* SimulatedWorker.read("w1", "echo")
      if (delivery === undefined || delivery.jobId !== mine.jobId) throw new Error("not my delivery")
      yield* Deliveries.start(delivery, "w1")
      yield* Effect.sleep("200 millis")
      expect(seen).toEqual(["started"])
      stop()
      yield* Deliveries.complete(delivery, "w1", JSON.stringify({ text: "mine", count: 1 }))
      expect((yield* producer.status(mine.jobId)).state).toBe("succeeded")
      yield* Effect.sleep("200 millis")
      expect(seen).toEqual(["started"])
    }).pipe(Effect.provide(producerLayer())),
  )

  it.live("result fails with ResultTimeout, JobCancelled and JobDeadLettered as the job ends", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const slow = yield* producer.submit(Echo, { text: "slow", count: 1 })
      const timeout = yield* Effect.flip(producer.result(slow.jobId, { timeout: "200 millis" }))
      expect(timeout._tag).toBe("ResultTimeout")

      const waitingCancel = yield* Effect.fork(producer.result(slow.jobId, { timeout: "10 seconds" }))
      yield* Effect.sleep("50 millis")
      expect(yield* producer.cancel(slow.jobId)).toBe("cancelled")
      expect((yield* Effect.flip(Fiber.join(waitingCancel)))._tag).toBe("JobCancelled")

      const doomed = yield* producer.submit(Echo, { text: "doomed", count: 1 })
      const waitingDead = yield* Effect.fork(producer.result(doomed.jobId, { timeout: "10 seconds" }))
      yield* startAndFail({ tag: "Poison", message: "cannot parse" }, false)
      const dead = yield* Effect.flip(Fiber.join(waitingDead))
      expect(dead).toMatchObject({ _tag: "JobDeadLettered", reason: "nonRetryable", error: { tag: "Poison" } })
      const missing = yield* Effect.flip(producer.result("no-such-job", { timeout: "1 second" }))
      expect(missing._tag).toBe("JobNotFound")
    }).pipe(Effect.provide(producerLayer())),
  )

  it.live("an event appended after subscribing, before the status is read, still arrives", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const tailer = yield* EventTailer.EventTailer
      const { jobId } = yield* producer.submit(Echo, { text: "race", count: 1 })
      const event = yield* Effect.scoped(
        Effect.gen(function* () {
          const queue = yield* tailer.subscribe(jobId)
          yield* SimulatedWorker.completeAll("w1", "echo") // lands between subscribe and a status read
          const types: Array<string> = []
          while (!types.includes("succeeded")) types.push((yield* Queue.take(queue)).type)
          return types
        }),
      )
      expect(event).toEqual(["started", "succeeded"])
    }).pipe(Effect.provide(producerLayer())),
  )

  it.live("many results racing fast completions all arrive", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const jobs = yield* producer.submitMany(
        Echo,
        Array.from({ length: 200 }, (_, i) => ({ input: { text: `r${i}`, count: 1 } })),
      )
      const results = yield* Effect.fork(
        Effect.forEach(jobs, (job) => producer.result(job.jobId, { timeout: "15 seconds" }), {
          concurrency: "unbounded",
        }),
      )
      yield* SimulatedWorker.completeAll("w1", "echo")
      expect((yield* Fiber.join(results)).length).toBe(200)
    }).pipe(Effect.provide(producerLayer())),
  )

  it.live("events streams the history, then live events, and ends after the terminal one", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const { jobId } = yield* producer.submit(Echo, { text: "follow", count: 1 })
      const collecting = yield* Effect.fork(Stream.runCollect(producer.events(jobId)))
      yield* Effect.sleep("100 millis")
      yield* SimulatedWorker.completeAll("w1", "echo")
      const live = Array.from(yield* Fiber.join(collecting))
      expect(live.map((e) => e.type)).toEqual(["submitted", "started", "succeeded"])
      const replayed = Array.from(yield* Stream.runCollect(producer.events(jobId)))
      expect(replayed.map((e) => e.id)).toEqual(live.map((e) => e.id))
    }).pipe(Effect.provide(producerLayer())),
  )

  it.live("a hundred waiters share one tailing connection", () => {
    const name = TestRedis.uniquePrefix("budget")
    return Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const jobs = yield* producer.submitMany(
        Echo,
        Array.from({ length: 100 }, () => ({ input: { text: "w", count: 1 } })),
      )
      const waiting = yield* Effect.fork(
        Effect.forEach(jobs, (job) => producer.result(job.jobId, { timeout: "15 seconds" }), {
          concurrency: "unbounded",
        }),
      )
      yield* Effect.sleep("300 millis")
      const connections = yield* Effect.promise(() => connectionsNamed(name))
      expect(connections).toBeGreaterThanOrEqual(1)
      expect(connections).toBeLessThanOrEqual(2)
      yield* SimulatedWorker.completeAll("w1", "echo")
      expect((yield* Fiber.join(waiting)).length).toBe(100)
    }).pipe(Effect.provide(producerLayer(name)))
  })
})

describe("Producer input edge cases", () => {
  const Anything = Actor.define("anything", { input: Schema.Unknown, output: Schema.Unknown })
  const Order = Actor.define("order", {
    input: Schema.Struct({ id: Schema.String, qty: Schema.Number.pipe(Schema.positive()) }),
    output: Schema.Unknown,
  })

  it.live("lists every issue of an input, not only the first", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Producer.prepareUnknown(Order, { id: 1, qty: -2 }))
      expect(error._tag).toBe("InvalidInput")
      if (error._tag === "InvalidInput") expect(error.issues.map((i) => i.path)).toEqual([["id"], ["qty"]])
    }).pipe(Effect.provide(producerLayer())),
  )

  it.live("refuses an input nested too deeply, or not JSON at all, with InvalidInput", () =>
    Effect.gen(function* () {
      let deep: unknown = 1
      for (let i = 0; i < 100_000; i++) deep = [deep]
      expect((yield* Effect.flip(Producer.prepareUnknown(Anything, deep)))._tag).toBe("InvalidInput")
      expect((yield* Effect.flip(Producer.prepareUnknown(Anything, undefined)))._tag).toBe("InvalidInput")
    }).pipe(Effect.provide(producerLayer())),
  )
})

describe("Producer at volume", () => {
  it.live("submitMany of 20,000 jobs completes within the Redis bound of each call", () =>
    Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const Small = Actor.define("small", { input: Schema.Struct({ n: Schema.Number }), output: Schema.Unknown })
      const submitted = yield* producer.submitMany(
        Small,
        Array.from({ length: 20_000 }, (_, n) => ({ input: { n } })),
      )
      expect(submitted).toHaveLength(20_000)
      const redis = yield* RedisClient.RedisClient
      const { keyspace } = yield* Settings.Settings
      expect(yield* redis.run((c) => c.xlen(keyspace.partition(0).inbox("small", "normal")))).toBe(20_000)
    }).pipe(Effect.provide(producerLayer())),
  )
})
