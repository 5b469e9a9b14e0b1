/**
 * Pause and resume an actor across worker processes: once paused, no worker starts its jobs
 * (they stay queued), a job already running finishes, and a resume runs what waited.
 */
import { JobStore, Producer } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import { Slow } from "./fixtures/contracts.js"
import * as H from "./fixtures/Harness.js"
import * as RecordFile from "./fixtures/RecordFile.js"
import * as WorkerProcess from "./fixtures/WorkerProcess.js"

describe("pause", () => {
  it.scopedLive(
    "a paused actor's jobs stay queued in every worker process, a running one finishes, and a resume runs them",
    () => {
      const prefix = TestRedis.uniquePrefix("wp")
      return Effect.gen(function* () {
        const record = yield* RecordFile.make
        yield* Effect.all(
          [0, 1].map(() =>
            WorkerProcess.start({
              module: WorkerProcess.fixture("slow-worker.ts"),
              redisUrl: TestRedis.url(),
              prefix,
              env: { EDDY_TEST_RECORD: record.path },
            }),
          ),
          { concurrency: "unbounded" },
        )
        const producer = yield* Producer.Producer
        const running = yield* producer.submit(Slow, { ms: 1_500 })
        yield* H.inState(producer, running.jobId, "active")

        yield* JobStore.pause(Slow.name)
        const waiting = yield* producer.submitMany(
          Slow,
          Array.from({ length: 6 }, () => ({ input: { ms: 0 } })),
        )
        // The job that was running when the pause came finishes.
        expect(yield* producer.resultOf(Slow, running.jobId, { timeout: "10 seconds" })).toEqual({ ms: 1_500 })
        // Both workers go on all the while: nothing of the paused actor starts, and no worker
        // spins on refused starts (what they still call is their housekeeping's few scripts).
        const scriptCalls = H.redis((redis) => redis.info("commandstats")).pipe(
          Effect.map((info) => Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0)),
        )
        const before = yield* scriptCalls
        yield* Effect.sleep("1500 millis")
        expect((yield* scriptCalls) - before).toBeLessThan(300)
        const statuses = yield* Effect.forEach(waiting, ({ jobId }) => producer.status(jobId))
        expect(statuses.map((status) => status.state)).toEqual(waiting.map(() => "queued"))
        expect(record.executions().map((execution) => execution.jobId)).toEqual([running.jobId])

        yield* JobStore.resume(Slow.name)
        const finished = yield* H.allFinished(
          waiting.map(({ jobId }) => jobId),
          "10 seconds",
        )
        expect(finished.map((status) => status.state)).toEqual(waiting.map(() => "succeeded"))
      }).pipe(Effect.provide(H.client(TestRedis.url(), prefix)))
    },
    60_000,
  )
})
