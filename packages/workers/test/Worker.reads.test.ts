/**
 * How the reader moves jobs in: `claim` (read and start in one script) while there is a backlog,
 * a blocking read otherwise. A read that drains the inboxes must not be followed by a claim,
 * which would find nothing and hold up the starts of what the read brought. Claims never take
 * more than the free slots, and split them between actors with a backlog.
 */
import { Actor, EventTailer, Producer, RedisClient, Scripts, Settings } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Schema } from "effect"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import * as Worker from "../src/Worker.js"

const Echo = Actor.define("reads-echo", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
  policy: { lease: "30 seconds" },
})

/**
 * The run's RedisClient, counting the `claim` scripts sent through it; `refuse` may fail a claim
 * before it is sent (given its keys and arguments).
 */
const counting = (claims: { count: number }, refuse: (args: ReadonlyArray<unknown>) => boolean = () => false) =>
  Layer.effect(
    RedisClient.RedisClient,
    Effect.map(RedisClient.make(TestRedis.target()), (real) => ({
      ...real,
      run: (command) =>
        real.run((redis) =>
          command(
            new Proxy(redis, {
              get: (target, property) => {
                const value: unknown = Reflect.get(target, property)
                if (property !== "fcall" || typeof value !== "function") return value
                return (name: unknown, ...rest: Array<unknown>) => {
                  if (name !== Scripts.library.functionName(Scripts.claim.name))
                    return value.call(target, name, ...rest)
                  claims.count++
                  return refuse(rest)
                    ? Promise.reject(new Error("claim refused by the test"))
                    : value.call(target, name, ...rest)
                }
              },
            }),
          ),
        ),
    })),
  ).pipe(Layer.provide(Layer.scope))

const services = (claims: { count: number }, partitions = 1, refuse?: (args: ReadonlyArray<unknown>) => boolean) =>
  Layer.provideMerge(
    Layer.merge(Producer.layer, EventTailer.layer),
    Layer.merge(counting(claims, refuse), Settings.layer({ prefix: TestRedis.uniquePrefix(), partitions })),
  )

/** An actor whose jobs take no output, with its own concurrency. */
const heldActor = (name: string, concurrency: number) =>
  Actor.define(name, { input: Schema.Struct({ n: Schema.Number }), output: Schema.Void, policy: { concurrency } })

/** Queues `count` jobs of an actor whose input is `{ n }`. */
const backlog = <O, OE>(actor: Actor.Actor<{ readonly n: number }, O, { readonly n: number }, OE>, count: number) =>
  Effect.flatMap(Producer.Producer, (producer) =>
    producer.submitMany(
      actor,
      Array.from({ length: count }, (_, n) => ({ input: { n } })),
    ),
  )

/** Waits for every job's result. */
const allDone = (jobs: ReadonlyArray<{ readonly jobId: string }>) =>
  Effect.flatMap(Producer.Producer, (producer) =>
    Effect.forEach(jobs, ({ jobId }) => producer.result(jobId, { timeout: "20 seconds" }), { discard: true }),
  )

/**
 * Handlers that count their starts per actor and hold until `release`. The gate is released by a
 * finalizer added after the worker starts (finalizers run last first), so that a failed
 * expectation ends the test at once instead of waiting out the worker's shutdown grace.
 */
const holding = Effect.map(Deferred.make<void>(), (gate) => {
  const running: Record<string, number> = {}
  const total = () => Object.values(running).reduce((sum, n) => sum + n, 0)
  return {
    running,
    handler: (actor: ReturnType<typeof heldActor>) =>
      Worker.handle(actor, () =>
        Effect.sync(() => {
          running[actor.name] = (running[actor.name] ?? 0) + 1
        }).pipe(Effect.zipRight(Deferred.await(gate))),
      ),
    /** Waits (at most 10 s) until `count` handlers have started. */
    untilRunning: (count: number) =>
      Effect.sleep("20 millis").pipe(
        Effect.repeat({ until: () => total() >= count }),
        Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`${total()} of ${count} started`) }),
      ),
    release: Deferred.succeed(gate, undefined),
  }
})

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
      const jobs = yield* backlog(Echo, 12)
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
      const jobs = yield* backlog(Slow, 60)
      yield* Worker.make({ handlers: [slow], concurrency: 4, blockFor: "200 millis" })
      yield* allDone(jobs)
      expect(most).toBe(4)
      const statuses = yield* Effect.forEach(jobs, ({ jobId }) => producer.status(jobId))
      expect(statuses.every((status) => status.state === "succeeded" && status.attempt === 1)).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(services({ count: 0 })))
  })

  it.live("one actor with a backlog fills all the free slots with two claims on the wire at once", () => {
    const claims = { count: 0 }
    const Held = heldActor("reads-held", 8)
    return Effect.gen(function* () {
      const held = yield* holding
      const jobs = yield* backlog(Held, 12)
      yield* Worker.make({ handlers: [held.handler(Held)], concurrency: 8, blockFor: "200 millis" })
      yield* Effect.addFinalizer(() => held.release)
      yield* held.untilRunning(8)
      // Two claims of four: the second is read and started in Redis while the first's jobs start here.
      expect(claims.count).toBe(2)
      yield* held.release
      yield* allDone(jobs)
    }).pipe(Effect.scoped, Effect.provide(services(claims)))
  })

  it.live("claims split the free slots between actors with a backlog: neither takes them all", () => {
    const First = heldActor("reads-first", 8)
    const Second = heldActor("reads-second", 8)
    return Effect.gen(function* () {
      const held = yield* holding
      const jobs = [...(yield* backlog(First, 12)), ...(yield* backlog(Second, 12))]
      // Each actor could fill all 8 slots of the process on its own.
      yield* Worker.make({
        handlers: [held.handler(First), held.handler(Second)],
        concurrency: 8,
        blockFor: "200 millis",
      })
      yield* Effect.addFinalizer(() => held.release)
      yield* held.untilRunning(8)
      expect(held.running).toEqual({ [First.name]: 4, [Second.name]: 4 })
      yield* held.release
      yield* allDone(jobs)
    }).pipe(Effect.scoped, Effect.provide(services({ count: 0 })))
  })

  it.live("an actor's claims over several partitions start no more than its own concurrency", () => {
    const Held = heldActor("reads-spread", 4)
    return Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const held = yield* holding
      const jobs = yield* backlog(Held, 40)
      // Four partitions with a backlog each and room for 16: a share of 4 per partition, but the
      // actor itself runs at most 4.
      yield* Worker.make({ handlers: [held.handler(Held)], concurrency: 16, blockFor: "200 millis" })
      yield* Effect.addFinalizer(() => held.release)
      yield* held.untilRunning(4)
      yield* Effect.sleep("200 millis")
      const states = yield* Effect.forEach(jobs, ({ jobId }) => producer.status(jobId))
      // A claimed delivery is started in the same call: beyond the actor's room it would show as
      // running while it waits in the buffer.
      expect(states.filter((status) => status.state === "active")).toHaveLength(4)
      expect(held.running).toEqual({ [Held.name]: 4 })
      yield* held.release
      yield* allDone(jobs)
    }).pipe(Effect.scoped, Effect.provide(services({ count: 0 }, 4)))
  })

  it.live("with fewer free slots than actors to claim for, claims start no more than the free slots", () => {
    const actors = ["a", "b", "c", "d"].map((name) => heldActor(`reads-few-${name}`, 2))
    return Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const held = yield* holding
      const jobs = (yield* Effect.forEach(actors, (actor) => backlog(actor, 3))).flat()
      // Four actors with a backlog and two slots: a share of one each would start four.
      yield* Worker.make({ handlers: actors.map(held.handler), concurrency: 2, blockFor: "200 millis" })
      yield* Effect.addFinalizer(() => held.release)
      yield* held.untilRunning(2)
      yield* Effect.sleep("200 millis")
      const states = yield* Effect.forEach(jobs, ({ jobId }) => producer.status(jobId))
      expect(states.filter((status) => status.state === "active")).toHaveLength(2)
      yield* held.release
      // Every actor gets its turn.
      yield* allDone(jobs)
    }).pipe(Effect.scoped, Effect.provide(services({ count: 0 })))
  })

  it.live("when one of a round's claims fails, the others' started deliveries still run at once", () => {
    const claims = { count: 0 }
    let refused = 0
    // The first claim in partition 1 fails; partition 0's claim of the same round went through,
    // and its deliveries are started: they must run now, not after a reclaim (a 30 s lease).
    const refuse = (args: ReadonlyArray<unknown>) => {
      if (refused > 0 || !args.some((arg) => typeof arg === "string" && arg.includes("{p1}"))) return false
      refused++
      return true
    }
    return Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const jobs = yield* backlog(Echo, 12)
      yield* Worker.make({ handlers: [echo], concurrency: 8, blockFor: "200 millis" })
      for (const { jobId } of jobs) yield* producer.resultOf(Echo, jobId, { timeout: "5 seconds" })
      expect(refused).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(services(claims, 2, refuse)))
  })

  it.live("a rate-limited actor is read while another actor of the process keeps a backlog", () => {
    const Busy = Actor.define("reads-busy", {
      input: Schema.Struct({ n: Schema.Number }),
      output: Schema.Void,
      policy: { concurrency: 4 },
    })
    const Limited = Actor.define("reads-limited", {
      input: Schema.Struct({ n: Schema.Number }),
      output: Schema.Void,
      policy: { concurrency: 2, rateLimit: { limit: 100, per: "1 second" } },
    })
    let busyStarted = 0
    let busyStartedWhenLimitedRan: number | undefined
    const busy = Worker.handle(Busy, () =>
      Effect.sync(() => {
        busyStarted++
      }).pipe(Effect.zipRight(Effect.sleep("5 millis"))),
    )
    const limited = Worker.handle(Limited, () =>
      Effect.sync(() => {
        busyStartedWhenLimitedRan ??= busyStarted
      }),
    )
    return Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const queued = yield* backlog(Busy, 300)
      const { jobId } = yield* producer.submit(Limited, { n: 0 })
      yield* Worker.make({ handlers: [busy, limited], concurrency: 4, blockFor: "200 millis" })
      yield* producer.resultOf(Limited, jobId, { timeout: "20 seconds" })
      // Read in the first rounds, not once the backlog is gone (all 300 started).
      expect(busyStartedWhenLimitedRan).toBeLessThan(100)
      yield* allDone(queued)
    }).pipe(Effect.scoped, Effect.provide(services({ count: 0 })))
  })
})
