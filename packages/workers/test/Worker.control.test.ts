/**
 * Stopping and steering running work: cancel interrupts a running handler (Effect or async), a
 * handler past its timeout is interrupted and retried, high lanes go first, malformed entries are
 * dead-lettered while good jobs flow, and deliveries never stall in the worker's buffer.
 * In-process workers, real Redis.
 */
import { Actor, JobErrors, JobStatus, Producer } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import * as Worker from "../src/Worker.js"
import * as H from "./fixtures/Harness.js"

/** Runs `body` against a fresh prefix with an in-process worker hosting `handlers`. */
const withWorker = <A, E>(
  options: Worker.Options,
  body: (producer: Producer.ProducerService) => Effect.Effect<A, E, H.ClientServices>,
) => {
  const prefix = TestRedis.uniquePrefix("wc")
  return Effect.gen(function* () {
    yield* H.inProcessWorker(TestRedis.url(), prefix, options)
    return yield* body(yield* Producer.Producer)
  }).pipe(Effect.provide(H.client(TestRedis.url(), prefix)), Effect.provide(H.quiet))
}

const terminalTypes = (events: ReadonlyArray<{ readonly type: string }>) =>
  events.filter((event) => ["succeeded", "deadLettered", "cancelled"].includes(event.type)).map((event) => event.type)

describe("cancel", () => {
  const Sleepy = Actor.define("sleepy", {
    input: Schema.Struct({ ms: Schema.Number }),
    output: Schema.Number,
    policy: { lease: "1500 millis" },
  })
  const SleepyAsync = Actor.define("sleepy-async", {
    input: Schema.Struct({ ms: Schema.Number }),
    output: Schema.Number,
    policy: { lease: "1500 millis" },
  })
  const interrupted = new Set<string>()
  const aborted = new Set<string>()
  const sleepy = Worker.handle(Sleepy, ({ ms }, context) =>
    Effect.sleep(ms).pipe(
      Effect.as(ms),
      Effect.onInterrupt(() => Effect.sync(() => interrupted.add(context.jobId))),
    ),
  )
  const sleepyAsync = Worker.handleAsync(
    SleepyAsync,
    ({ ms }, context) =>
      new Promise<number>((resolve) => {
        const timer = setTimeout(() => resolve(ms), ms)
        context.signal.addEventListener("abort", () => {
          clearTimeout(timer)
          aborted.add(context.jobId)
          resolve(-1)
        })
      }),
  )

  it.scopedLive("cancelling a running job interrupts its handler and ends it cancelled", () =>
    withWorker({ handlers: [sleepy, sleepyAsync] }, (producer) =>
      Effect.gen(function* () {
        const effectJob = yield* producer.submit(Sleepy, { ms: 20_000 })
        const asyncJob = yield* producer.submit(SleepyAsync, { ms: 20_000 })
        yield* H.inState(producer, effectJob.jobId, "active")
        yield* H.inState(producer, asyncJob.jobId, "active")
        const cancelledAt = Date.now()
        expect(yield* producer.cancel(effectJob.jobId)).toBe("cancelRequested")
        expect(yield* producer.cancel(asyncJob.jobId)).toBe("cancelRequested")
        for (const job of [effectJob, asyncJob]) {
          const outcome = yield* producer.result(job.jobId, { timeout: "5 seconds" }).pipe(Effect.flip)
          expect(outcome).toBeInstanceOf(JobErrors.JobCancelled)
        }
        // The heartbeat (every lease/3) notices the request: far sooner than the 20 s of work.
        expect(Date.now() - cancelledAt).toBeLessThan(3_000)
        expect(interrupted.has(effectJob.jobId)).toBe(true)
        expect(aborted.has(asyncJob.jobId)).toBe(true)
        const byJob = yield* H.eventsByJob
        for (const job of [effectJob, asyncJob]) {
          const events = byJob.get(job.jobId) ?? []
          expect(events.map((event) => event.type)).toEqual(["submitted", "started", "cancelRequested", "cancelled"])
          expect(terminalTypes(events)).toEqual(["cancelled"])
          expect((yield* producer.status(job.jobId)).state).toBe("cancelled")
        }
      }),
    ),
  )
})

describe("timeout", () => {
  const Stuck = Actor.define("stuck", {
    input: Schema.Struct({ async: Schema.Boolean }),
    output: Schema.Number,
    policy: { timeout: "300 millis", attempts: 2, backoff: Actor.fixed("50 millis"), lease: "3 seconds" },
  })
  const StuckAsync = Actor.define("stuck-async", {
    input: Schema.Struct({ async: Schema.Boolean }),
    output: Schema.Number,
    policy: { timeout: "300 millis", attempts: 2, backoff: Actor.fixed("50 millis"), lease: "3 seconds" },
  })
  const interrupted = new Set<string>()
  const aborted = new Set<string>()
  // The first attempt hangs; the second answers at once.
  const stuck = Worker.handle(Stuck, (_, context) =>
    context.attempt === 1
      ? Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted.add(context.jobId))))
      : Effect.succeed(context.attempt),
  )
  const stuckAsync = Worker.handleAsync(StuckAsync, (_, context) =>
    context.attempt === 1
      ? new Promise<number>((resolve) =>
          context.signal.addEventListener("abort", () => {
            aborted.add(context.jobId)
            resolve(-1)
          }),
        )
      : Promise.resolve(context.attempt),
  )

  it.scopedLive("a handler past the contract's timeout is interrupted and retried", () =>
    withWorker({ handlers: [stuck, stuckAsync] }, (producer) =>
      Effect.gen(function* () {
        const effectJob = yield* producer.submit(Stuck, { async: false })
        const asyncJob = yield* producer.submit(StuckAsync, { async: true })
        expect(yield* producer.resultOf(Stuck, effectJob.jobId, { timeout: "10 seconds" })).toBe(2)
        expect(yield* producer.resultOf(StuckAsync, asyncJob.jobId, { timeout: "10 seconds" })).toBe(2)
        expect(interrupted.has(effectJob.jobId)).toBe(true)
        expect(aborted.has(asyncJob.jobId)).toBe(true)
        const byJob = yield* H.eventsByJob
        for (const job of [effectJob, asyncJob]) {
          const events = byJob.get(job.jobId) ?? []
          const [failed] = H.ofType(events, "failed")
          expect(failed).toMatchObject({ attempt: 1, willRetry: true, error: { tag: "Timeout" } })
          const [started] = H.ofType(events, "started")
          // Interrupted at the timeout, not at the end of some longer wait.
          expect(failed!.at - started!.at).toBeGreaterThanOrEqual(300)
          expect(failed!.at - started!.at).toBeLessThan(1_500)
          expect(terminalTypes(events)).toEqual(["succeeded"])
        }
      }),
    ),
  )
})

describe("lanes", () => {
  const Laned = Actor.define("laned", {
    input: Schema.Struct({ n: Schema.Number }),
    output: Schema.Number,
    policy: { lease: "3 seconds", concurrency: 1 },
  })
  const laned = Worker.handle(Laned, ({ n }) => Effect.sleep("150 millis").pipe(Effect.as(n)))

  it.scopedLive("with a backlog and concurrency 1, a high-lane job submitted last starts before the rest", () =>
    withWorker({ handlers: [laned], concurrency: 1 }, (producer) =>
      Effect.gen(function* () {
        const normal = yield* producer.submitMany(
          Laned,
          Array.from({ length: 6 }, (_, n) => ({ input: { n } })),
        )
        yield* H.inState(producer, normal[0]!.jobId, "active")
        const high = yield* producer.submit(Laned, { n: 99 }, { lane: "high" })
        yield* H.allFinished([...normal.map((job) => job.jobId), high.jobId], "15 seconds")

        const byJob = yield* H.eventsByJob
        const startedAt = (jobId: string) => H.ofType(byJob.get(jobId) ?? [], "started")[0]!.id
        const highStart = startedAt(high.jobId)
        const normalsBefore = normal.filter((job) => startedAt(job.jobId) < highStart)
        // The one running when it came in, and at most one more the worker already held.
        expect(normalsBefore.length).toBeLessThanOrEqual(2)
        expect(normal.length - normalsBefore.length).toBeGreaterThanOrEqual(4)
      }),
    ),
  )
})

describe("malformed input", () => {
  const Strict = Actor.define("strict", {
    input: Schema.Struct({ n: Schema.Number }),
    output: Schema.Number,
    policy: { lease: "3 seconds" },
  })
  /** An older contract of the same actor: what it stored no longer decodes. */
  const StrictV0 = Actor.define("strict", {
    input: Schema.Struct({ n: Schema.String }),
    output: Schema.Number,
  })
  const strict = Worker.handle(Strict, ({ n }) => Effect.succeed(n * 2))

  it.scopedLive("an entry without a job and a job whose input no longer decodes are dead-lettered as malformed", () =>
    withWorker({ handlers: [strict] }, (producer) =>
      Effect.gen(function* () {
        const before = yield* producer.submitMany(
          Strict,
          [1, 2, 3].map((n) => ({ input: { n } })),
        )
        const p = yield* H.keys
        const inbox = p.inbox(Strict.name, "normal")
        const handWritten = yield* H.redis((c) => c.xadd(inbox, "*", "x", "1", "note", "written by hand"))
        const stale = yield* producer.submit(StrictV0, { n: "seven" })
        const after = yield* producer.submitMany(
          Strict,
          [4, 5, 6].map((n) => ({ input: { n } })),
        )

        const good = [...before, ...after]
        const outputs = yield* Effect.forEach(good, (job) =>
          producer.resultOf(Strict, job.jobId, { timeout: "10 seconds" }),
        )
        expect(outputs).toEqual([2, 4, 6, 8, 10, 12])

        const staleOutcome = yield* producer.result(stale.jobId, { timeout: "10 seconds" }).pipe(Effect.flip)
        expect(staleOutcome).toMatchObject({
          _tag: "JobDeadLettered",
          reason: "malformed",
          error: { tag: "MalformedInput" },
        })
        expect(yield* producer.status(stale.jobId)).toMatchObject({
          state: "deadLettered",
          deadLetterReason: "malformed",
        })

        const pseudo = `entry-${handWritten}`
        const entryEvents = yield* H.eventually(
          "the hand-written entry to be dead-lettered",
          Effect.map(H.eventsByJob, (byJob) =>
            byJob.has(pseudo) ? Effect.succeed(byJob.get(pseudo)!) : Effect.fail("missing"),
          ).pipe(Effect.flatten, Effect.option),
          "10 seconds",
        )
        expect(entryEvents).toMatchObject([{ type: "deadLettered", reason: "malformed", error: { tag: "Malformed" } }])

        const letters = yield* H.redis((c) => c.xrange(p.dead(Strict.name), "-", "+"))
        const reasons = letters.map(([, fields]) => [fields[1], fields[3]])
        expect(reasons).toEqual(
          expect.arrayContaining([
            [pseudo, "malformed"],
            [stale.jobId, "malformed"],
          ]),
        )
        expect(reasons).toHaveLength(2)
        // Nothing is left behind: the inbox is empty and nothing is pending.
        expect(yield* H.redis((c) => c.xlen(inbox))).toBe(0)
        const pending = (yield* H.redis((c) => c.xpending(inbox, "workers"))) as [number, ...Array<unknown>]
        expect(pending[0]).toBe(0)
      }),
    ),
  )
})

describe("scheduling", () => {
  const Narrow = Actor.define("narrow", {
    input: Schema.Struct({ n: Schema.Number }),
    output: Schema.Number,
    policy: { lease: "30 seconds", concurrency: 2 },
  })
  let running = 0
  let most = 0
  const narrow = Worker.handle(Narrow, ({ n }) =>
    Effect.sync(() => {
      running++
      most = Math.max(most, running)
    }).pipe(Effect.zipRight(Effect.sleep("100 millis")), Effect.ensuring(Effect.sync(() => running--)), Effect.as(n)),
  )

  it.scopedLive("an actor whose concurrency is below the process's runs its whole backlog, never above it", () =>
    withWorker({ handlers: [narrow], concurrency: 20 }, (producer) =>
      Effect.gen(function* () {
        const jobs = yield* producer.submitMany(
          Narrow,
          Array.from({ length: 12 }, (_, n) => ({ input: { n } })),
        )
        // A stalled delivery would come back only after the 30 s lease.
        const finished = yield* H.allFinished(
          jobs.map((job) => job.jobId),
          "10 seconds",
        )
        expect(finished.every((status) => status.state === "succeeded")).toBe(true)
        expect(most).toBe(2)
      }),
    ),
  )

  const Left = Actor.define("left", {
    input: Schema.Struct({ n: Schema.Number }),
    output: Schema.Number,
    policy: { lease: "30 seconds" },
  })
  const Right = Actor.define("right", {
    input: Schema.Struct({ n: Schema.Number }),
    output: Schema.Number,
    policy: { lease: "30 seconds" },
  })
  const left = Worker.handle(Left, ({ n }) => Effect.sleep("2 seconds").pipe(Effect.as(n)))
  const right = Worker.handle(Right, ({ n }) => Effect.succeed(n))

  it.scopedLive("a delivery whose entry id equals one the worker holds from another inbox still runs", () =>
    withWorker({ handlers: [left, right] }, (producer) =>
      Effect.gen(function* () {
        // Entry ids are unique per stream only. Both inboxes are set to the same last id, so
        // each hands out the same next id.
        const p = yield* H.keys
        const next = `${Date.now() + 3_600_000}-5`
        for (const actor of [Left.name, Right.name])
          yield* H.redis((c) => c.call("XSETID", p.inbox(actor, "normal"), next))
        const held = yield* producer.submit(Left, { n: 1 })
        yield* H.inState(producer, held.jobId, "active")
        const twin = yield* producer.submit(Right, { n: 2 })
        const records = yield* H.redis((c) => c.hmgetBuffer(p.jobs, held.jobId, twin.jobId))
        const [heldEntry, twinEntry] = records.map((raw) =>
          raw === null ? undefined : JobStatus.fieldsOfRecord(raw)?.x,
        )
        expect(twinEntry).toBe(heldEntry)

        // Dropped as "already held", it would come back only after the 30 s lease.
        expect(yield* producer.resultOf(Right, twin.jobId, { timeout: "5 seconds" })).toBe(2)
        expect((yield* producer.status(held.jobId)).state).toBe("active")
        expect(yield* producer.resultOf(Left, held.jobId, { timeout: "5 seconds" })).toBe(1)
      }),
    ),
  )

  const Scarce = Actor.define("scarce", {
    input: Schema.Struct({ n: Schema.Number }),
    output: Schema.Number,
    policy: { rateLimit: { limit: 1, per: "1 minute" }, lease: "30 seconds" },
  })
  const scarce = Worker.handle(Scarce, ({ n }) => Effect.sleep("300 millis").pipe(Effect.as(n)))

  it.scopedLive("at shutdown, jobs still waiting for a rate-limit permit go back to their inbox at once", () => {
    const prefix = TestRedis.uniquePrefix("wc")
    return Effect.gen(function* () {
      const producer = yield* Producer.Producer
      const jobs = yield* producer.submitMany(
        Scarce,
        [1, 2, 3].map((n) => ({ input: { n } })),
      )
      const stopTook = yield* Effect.scoped(
        Effect.gen(function* () {
          yield* H.inProcessWorker(TestRedis.url(), prefix, { handlers: [scarce], shutdownGrace: "20 seconds" })
          yield* H.eventually(
            "one job to have its permit and finish",
            Effect.map(H.statuses, (all) =>
              all.some((status) => status.state === "succeeded") ? Option.some(undefined) : Option.none(),
            ),
            "10 seconds",
          )
          return Date.now()
        }),
      ).pipe(Effect.map((closingAt) => Date.now() - closingAt))
      // Not the 20 s grace, nor the minute until the next permit.
      expect(stopTook).toBeLessThan(5_000)
      const byJob = yield* H.eventsByJob
      const histories = jobs.map((job) => (byJob.get(job.jobId) ?? []).map((event) => event.type))
      expect(histories.filter((types) => types.includes("succeeded"))).toEqual([["submitted", "started", "succeeded"]])
      expect(histories.filter((types) => !types.includes("succeeded"))).toEqual([
        ["submitted", "released"],
        ["submitted", "released"],
      ])
      // Back in the inbox, not left pending with the stopped worker.
      const p = yield* H.keys
      const inbox = p.inbox(Scarce.name, "normal")
      expect(yield* H.redis((c) => c.xlen(inbox))).toBe(2)
      const pending = (yield* H.redis((c) => c.xpending(inbox, "workers"))) as [number, ...Array<unknown>]
      expect(pending[0]).toBe(0)
    }).pipe(Effect.provide(H.client(TestRedis.url(), prefix)), Effect.provide(H.quiet))
  })
})
