/**
 * Retries: a failing attempt is retried after the contract's backoff, spent attempts and
 * non-retryable failures dead-letter the job with the last error. In-process worker, real Redis.
 */
import { Actor, JobErrors, Producer } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import * as Worker from "../src/Worker.js"
import * as H from "./fixtures/Harness.js"

const backoffMs = 300

/** Fails its first `failures` attempts, then succeeds with the attempt number. */
const Flaky = Actor.define("flaky", {
  input: Schema.Struct({ failures: Schema.Number }),
  output: Schema.Number,
  policy: { attempts: 3, backoff: Actor.fixed(`${backoffMs} millis`), lease: "3 seconds" },
})
const flaky = Worker.handle(Flaky, ({ failures }, context) =>
  context.attempt <= failures ? Effect.fail(new Error(`boom ${context.attempt}`)) : Effect.succeed(context.attempt),
)

/** The same, as a plain async function that throws. */
const FlakyAsync = Actor.define("flaky-async", {
  input: Schema.Struct({ failures: Schema.Number }),
  output: Schema.Number,
  policy: { attempts: 3, backoff: Actor.fixed(`${backoffMs} millis`), lease: "3 seconds" },
})
const flakyAsync = Worker.handleAsync(FlakyAsync, async ({ failures }, context) => {
  if (context.attempt <= failures) throw new Error(`async boom ${context.attempt}`)
  return context.attempt
})

/** Refuses every input as one that can never succeed. */
const Picky = Actor.define("picky", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Number,
  policy: { attempts: 5, backoff: Actor.fixed("50 millis"), lease: "3 seconds" },
})
const picky = Worker.handle(Picky, ({ n }) => Effect.fail(new Worker.NonRetryable({ message: `cannot take ${n}` })))

const withWorker = <A, E>(body: (producer: Producer.ProducerService) => Effect.Effect<A, E, H.ClientServices>) => {
  const prefix = TestRedis.uniquePrefix("wr")
  return Effect.gen(function* () {
    yield* H.inProcessWorker(TestRedis.url(), prefix, { handlers: [flaky, flakyAsync, picky], concurrency: 10 })
    return yield* body(yield* Producer.Producer)
  }).pipe(Effect.provide(H.client(TestRedis.url(), prefix)), Effect.provide(H.quiet))
}

describe("retries", () => {
  it.scopedLive("a handler that fails twice succeeds on attempt 3, after the configured gaps", () =>
    withWorker((producer) =>
      Effect.gen(function* () {
        const effectJob = yield* producer.submit(Flaky, { failures: 2 })
        const asyncJob = yield* producer.submit(FlakyAsync, { failures: 2 })
        expect(yield* producer.resultOf(Flaky, effectJob.jobId, { timeout: "15 seconds" })).toBe(3)
        expect(yield* producer.resultOf(FlakyAsync, asyncJob.jobId, { timeout: "15 seconds" })).toBe(3)

        const byJob = yield* H.eventsByJob
        for (const [jobId, prefix] of [
          [effectJob.jobId, "boom"],
          [asyncJob.jobId, "async boom"],
        ] as const) {
          const events = byJob.get(jobId) ?? []
          const started = H.ofType(events, "started")
          const failed = H.ofType(events, "failed")
          expect(started.map((event) => event.attempt)).toEqual([1, 2, 3])
          expect(failed.map((event) => [event.attempt, event.willRetry, event.error.message])).toEqual([
            [1, true, `${prefix} 1`],
            [2, true, `${prefix} 2`],
          ])
          expect(H.ofType(events, "succeeded")).toHaveLength(1)
          for (const [k, failure] of failed.entries()) {
            // The retry is due the backoff after the failure, and the next attempt starts then,
            // not before and not much later.
            expect(failure.retryAt! - failure.at).toBe(backoffMs)
            const next = started[k + 1]!
            expect(next.at).toBeGreaterThanOrEqual(failure.retryAt!)
            expect(next.at - failure.retryAt!).toBeLessThan(500)
          }
          console.log(
            `${prefix}: failed → retry due ${failed.map((f) => f.retryAt! - f.at).join(", ")} ms; ` +
              `next attempt started ${failed.map((f, k) => started[k + 1]!.at - f.retryAt!).join(", ")} ms after due`,
          )
          const status = yield* producer.status(jobId)
          expect([status.state, status.attempt]).toEqual(["succeeded", 3])
        }
      }),
    ),
  )

  it.scopedLive("a handler that always fails is dead-lettered with its last error once attempts are spent", () =>
    withWorker((producer) =>
      Effect.gen(function* () {
        const job = yield* producer.submit(Flaky, { failures: 99 })
        const outcome = yield* producer.result(job.jobId, { timeout: "15 seconds" }).pipe(Effect.flip)
        expect(outcome).toBeInstanceOf(JobErrors.JobDeadLettered)
        const dead = outcome as JobErrors.JobDeadLettered
        expect(dead.reason).toBe("attemptsExhausted")
        expect(dead.error?.message).toBe("boom 3")

        const events = (yield* H.eventsByJob).get(job.jobId) ?? []
        expect(H.ofType(events, "started")).toHaveLength(3)
        expect(H.ofType(events, "failed").map((event) => event.willRetry)).toEqual([true, true, false])
        const terminal = events.filter((event) => ["succeeded", "deadLettered", "cancelled"].includes(event.type))
        expect(terminal.map((event) => event.type)).toEqual(["deadLettered"])
        const status = yield* producer.status(job.jobId)
        expect(status).toMatchObject({
          state: "deadLettered",
          attempt: 3,
          deadLetterReason: "attemptsExhausted",
          error: { message: "boom 3" },
        })
        const p = yield* H.keysOf(job.jobId)
        const letters = yield* H.redis((c) => c.xrange(p.dead(Flaky.name), "-", "+"))
        expect(letters.map(([, fields]) => fields.slice(0, 4))).toEqual([
          ["j", job.jobId, "reason", "attemptsExhausted"],
        ])
      }),
    ),
  )

  it.scopedLive("a NonRetryable failure dead-letters after one try", () =>
    withWorker((producer) =>
      Effect.gen(function* () {
        const job = yield* producer.submit(Picky, { n: 7 })
        const outcome = yield* producer.result(job.jobId, { timeout: "10 seconds" }).pipe(Effect.flip)
        expect(outcome).toMatchObject({
          _tag: "JobDeadLettered",
          reason: "nonRetryable",
          error: { tag: "NonRetryable", message: "cannot take 7" },
        })
        const events = (yield* H.eventsByJob).get(job.jobId) ?? []
        expect(events.map((event) => event.type)).toEqual(["submitted", "started", "failed", "deadLettered"])
        expect(H.ofType(events, "failed")[0]?.willRetry).toBe(false)
        expect((yield* producer.status(job.jobId)).attempt).toBe(1)
      }),
    ),
  )
})
