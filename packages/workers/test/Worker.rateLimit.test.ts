/**
 * Rate limits hold across workers: two workers (each with its own connections) share an actor's
 * limit of 10 per second over a backlog of a few seconds, and jobs over the limit wait rather
 * than fail.
 */
import { Actor, Producer } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import * as Worker from "../src/Worker.js"
import * as H from "./fixtures/Harness.js"

const limit = 10
const Limited = Actor.define("limited", {
  input: Schema.Struct({ i: Schema.Number }),
  output: Schema.Number,
  policy: { rateLimit: { limit, per: "1 second" }, lease: "5 seconds", concurrency: 5 },
})
const limited = Worker.handle(Limited, ({ i }) => Effect.sleep("20 millis").pipe(Effect.as(i)))

describe("rate limit", () => {
  it.scopedLive(
    "two workers together keep an actor to its rate; jobs over the limit wait",
    () => {
      const prefix = TestRedis.uniquePrefix("wl")
      return Effect.gen(function* () {
        const first = yield* H.inProcessWorker(TestRedis.url(), prefix, { handlers: [limited], concurrency: 5 })
        const second = yield* H.inProcessWorker(TestRedis.url(), prefix, { handlers: [limited], concurrency: 5 })
        const producer = yield* Producer.Producer
        const jobs = yield* producer.submitMany(
          Limited,
          Array.from({ length: 35 }, (_, i) => ({ input: { i } })),
        )
        const jobIds = jobs.map((job) => job.jobId)
        const finished = yield* H.allFinished(jobIds, "20 seconds")
        expect(finished.every((status) => status.state === "succeeded" && status.attempt === 1)).toBe(true)

        const byJob = yield* H.eventsByJob
        const events = jobIds.flatMap((jobId) => byJob.get(jobId) ?? [])
        // Over the limit means waiting: no attempt failed.
        expect(H.ofType(events, "failed")).toEqual([])
        const started = H.ofType(events, "started")
        expect(started).toHaveLength(jobIds.length)
        expect(new Set(started.map((event) => event.worker))).toEqual(new Set([first.id, second.id]))

        const times = started.map((event) => event.at).sort((a, b) => a - b)
        // Starts lag their permits by a few to some tens of milliseconds (the start script runs
        // after the permit is taken), so windows are anchored half a second before the first start
        // rather than on it: each full second holds the limit, within 10 %.
        const anchor = times[0]! - 500
        const windows = [0, 1, 2].map(
          (k) => times.filter((t) => t >= anchor + k * 1_000 && t < anchor + (k + 1) * 1_000).length,
        )
        for (const count of windows) {
          expect(count).toBeGreaterThanOrEqual(limit * 0.9)
          expect(count).toBeLessThanOrEqual(limit * 1.1)
        }
        // And the backlog runs at the limit: 30 more starts take about 3 s.
        const span = times[30]! - times[0]!
        const rate = (30 / span) * 1_000
        expect(rate).toBeGreaterThanOrEqual(limit * 0.9)
        expect(rate).toBeLessThanOrEqual(limit * 1.1)
        const busiest = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1_000).length))
        console.log(
          `rate limit ${limit}/s, two workers: starts per second ${windows.join(", ")}; ` +
            `${rate.toFixed(2)}/s over ${span} ms; busiest sliding second ${busiest} (permit-to-start jitter)`,
        )
      }).pipe(Effect.provide(H.client(TestRedis.url(), prefix)), Effect.provide(H.quiet))
    },
    60_000,
  )
})
