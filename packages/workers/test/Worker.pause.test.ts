/**
 * Pause and resume an actor across worker processes: once paused, no worker starts its jobs
 * (they stay queued), a job already running finishes, and a resume runs what waited.
 */
import { readFileSync } from "node:fs"
import { JobStore, Producer } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import { Slow } from "./fixtures/contracts.js"
import * as H from "./fixtures/Harness.js"
import * as RecordFile from "./fixtures/RecordFile.js"
import * as WorkerProcess from "./fixtures/WorkerProcess.js"

/** A process's CPU time so far (user + system), from /proc: clock ticks of 10 ms. */
const cpuMs = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? []
  return (Number(fields[11]) + Number(fields[12])) * 10
}

describe("pause", () => {
  it.scopedLive(
    "a paused actor's jobs stay queued in every worker process, a running one finishes, and a resume runs them",
    () => {
      const prefix = TestRedis.uniquePrefix("wp")
      return Effect.gen(function* () {
        const record = yield* RecordFile.make
        const workers = yield* Effect.all(
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
        // spins on refused starts. Measured as each worker process's own CPU time: the server's
        // script count also counts what other suites run on the same Redis meanwhile (the chaos
        // suite's thousands of calls a second), which made it fail by chance. Idle workers used
        // 10-70 ms here, on one server and on the cluster under the other suites' load.
        const before = workers.map((worker) => cpuMs(worker.pid))
        yield* Effect.sleep("1500 millis")
        const used = workers.map((worker, i) => cpuMs(worker.pid) - (before[i] as number))
        for (const ms of used) expect(ms, `CPU ms of each worker in 1.5 s: ${used.join(", ")}`).toBeLessThan(250)
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
