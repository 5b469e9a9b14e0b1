/**
 * How the reader moves jobs in: `claim` (read and start in one script) while there is a backlog,
 * a blocking read otherwise. A read that drains the inboxes must not be followed by a claim,
 * which would find nothing and hold up the starts of what the read brought. Claims never take
 * more than the free slots, and split them between actors with a backlog.
 */
import { Actor, EventTailer, Producer, RedisClient, Scripts, Settings } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Redacted, Schema } from "effect"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import * as Worker from "../src/Worker.js"

const Echo = Actor.define("reads-echo", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
  policy: { lease: "30 seconds" },
})

/** The run's RedisClient, counting the `claim` scripts sent through it. */
const counting = (claims: { count: number }) =>
  Layer.effect(
    RedisClient.RedisClient,
    Effect.map(RedisClient.make({ url: Redacted.make(TestRedis.url()) }), (real) => ({
      ...real,
      run: (command) =>
        real.run((redis) =>
          command(
            new Proxy(redis, {
              get: (target, property) => {
                const value: unknown = Reflect.get(target, property)
                if (property !== "evalsha" || typeof value !== "function") return value
                return (sha: unknown, ...rest: Array<unknown>) => {
                  if (sha === Scripts.claim.sha) claims.count++
                  return value.call(target, sha, ...rest)
                }
              },
            }),
          ),
        ),
    })),
  ).pipe(Layer.provide(Layer.scope))

const services = (claims: { count: number }) =>
  Layer.provideMerge(
    Layer.merge(Producer.layer, EventTailer.layer),
    Layer.merge(counting(claims), Settings.layer({ prefix: TestRedis.uniquePrefix() })),
  )

const echo = Worker.handle(Echo, (input) => Effect.succeed(input))

describe("worker reads", () => {
  it.live("a worker fed one job at a time starts each from its read, without claiming", () => {
    const claims = { count: 0 }
    return Effect.gen(function* () {
      const producer = yield* Producer.Producer
      yield* Worker.make({ handlers: [echo], concurrency: 8, blockFor: "200 millis" })
      // The first round claims (nothing is known yet), then the reader blocks.
      yield* Effect.sleep("300 millis")
      const before = claims.count
      for (const n of [1, 2, 3, 4, 5]) {
        const { jobId } = yield* producer.submit(Echo, { n })
        expect(yield* producer.resultOf(Echo, jobId, { timeout: "5 seconds" })).toEqual({ n })
      }
      expect(claims.count).toBe(before)
    }).pipe(Effect.scoped, Effect.provide(services(claims)))
  })

  it.live("a read that brings all it asked for is followed by a claim (more may wait)", () => {
    const claims = { count: 0 }
    return Effect.gen(function* () {
      const producer = yield* Producer.Producer
      // Concurrency 3 over three lane inboxes: each read asks one entry per inbox.
      yield* Worker.make({ handlers: [echo], concurrency: 3, blockFor: "200 millis" })
      yield* Effect.sleep("300 millis")
      const before = claims.count
      const jobs = yield* producer.submitMany(
        Echo,
        Array.from({ length: 12 }, (_, n) => ({ input: { n } })),
      )
      for (const { jobId } of jobs) yield* producer.resultOf(Echo, jobId, { timeout: "5 seconds" })
      expect(claims.count).toBeGreaterThan(before)
    }).pipe(Effect.scoped, Effect.provide(services(claims)))
  })

  it.live("claims never take more than the free slots: handlers never run above the concurrency", () => {
    const Slow = Actor.define("reads-slow", { input: Schema.Struct({ n: Schema.Number }), output: Schema.Void })
    let running = 0
    let most = 0
    const slow = Worker.handle(Slow, () =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          running++
          most = Math.max(most, running)
        }),
        () => Effect.sleep("5 millis"),
        () => Effect.sync(() => running--),
      ),
    )
    return Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const jobs = yield* producer.submitMany(
        Slow,
        Array.from({ length: 60 }, (_, n) => ({ input: { n } })),
      )
      yield* Worker.make({ handlers: [slow], concurrency: 4, blockFor: "200 millis" })
      for (const { jobId } of jobs) yield* producer.resultOf(Slow, jobId, { timeout: "10 seconds" })
      expect(most).toBe(4)
      const statuses = yield* Effect.forEach(jobs, ({ jobId }) => producer.status(jobId))
      expect(statuses.every((status) => status.state === "succeeded" && status.attempt === 1)).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(services({ count: 0 })))
  })

  it.live("claims split the free slots between actors with a backlog: neither takes them all", () => {
    const define = (name: string) =>
      Actor.define(name, {
        input: Schema.Struct({ n: Schema.Number }),
        output: Schema.Void,
        policy: { concurrency: 8 },
      })
    const First = define("reads-first")
    const Second = define("reads-second")
    return Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const gate = yield* Deferred.make<void>()
      const running = { [First.name]: 0, [Second.name]: 0 }
      const held = (actor: typeof First) =>
        Worker.handle(actor, () =>
          Effect.sync(() => {
            running[actor.name] = (running[actor.name] ?? 0) + 1
          }).pipe(Effect.zipRight(Deferred.await(gate))),
        )
      const backlog = (actor: typeof First) =>
        producer.submitMany(
          actor,
          Array.from({ length: 12 }, (_, n) => ({ input: { n } })),
        )
      const jobs = [...(yield* backlog(First)), ...(yield* backlog(Second))]
      // Each actor could fill all 8 slots of the process on its own.
      yield* Worker.make({ handlers: [held(First), held(Second)], concurrency: 8, blockFor: "200 millis" })
      // Released before the worker stops, should an expectation fail (finalizers run last first).
      yield* Effect.addFinalizer(() => Deferred.succeed(gate, undefined))
      yield* Effect.sleep("500 millis")
      expect(running).toEqual({ [First.name]: 4, [Second.name]: 4 })
      yield* Deferred.succeed(gate, undefined)
      for (const { jobId } of jobs) yield* producer.resultOf(First, jobId, { timeout: "10 seconds" })
    }).pipe(Effect.scoped, Effect.provide(services({ count: 0 })))
  })
})
