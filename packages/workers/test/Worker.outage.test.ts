/**
 * Redis outage: a real worker process under load while its redis-server is stopped for 5 s and
 * started again on the same port and data directory (AOF on). The worker resumes by itself, no
 * submitted job is lost, and it still holds at most two connections.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { EmbeddedRedis, Producer } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option, Scope } from "effect"
import { Work } from "./fixtures/contracts.js"
import * as H from "./fixtures/Harness.js"
import * as RecordFile from "./fixtures/RecordFile.js"
import * as WorkerProcess from "./fixtures/WorkerProcess.js"

describe("redis outage", () => {
  it.scopedLive(
    "a worker under load survives a 5 s Redis outage: it resumes by itself and loses nothing",
    () =>
      Effect.gen(function* () {
        const dir = yield* Effect.acquireRelease(
          Effect.sync(() => mkdtempSync(join(tmpdir(), "eddy-outage-"))),
          (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })),
        )
        const port = yield* H.freePort
        // The first server lives in its own scope, so that the test can stop it.
        const firstScope = yield* Scope.make()
        yield* Effect.addFinalizer(() => Scope.close(firstScope, Exit.void))
        const first = yield* EmbeddedRedis.start({ dir, port }).pipe(Scope.extend(firstScope))
        const url = first.url
        const prefix = "outage"

        return yield* Effect.gen(function* () {
          const record = yield* RecordFile.make
          const worker = yield* WorkerProcess.start({
            module: WorkerProcess.fixture("recording-worker.ts"),
            redisUrl: url,
            prefix,
            concurrency: Work.policy.concurrency,
            env: { EDDY_TEST_RECORD: record.path, EDDY_TEST_WORK_MS: "30" },
          })
          const producer = yield* Producer.Producer
          const jobs = yield* producer.submitMany(
            Work,
            Array.from({ length: 300 }, (_, i) => ({ input: { i } })),
          )
          const jobIds = jobs.map((job) => job.jobId)
          const succeeded = Effect.map(H.statuses, (all) => all.filter((s) => s.state === "succeeded").length)
          yield* H.eventually(
            "the worker to be busy",
            Effect.map(succeeded, (n) => (n >= 20 ? Option.some(n) : Option.none())),
            "20 seconds",
          )
          // Most of the work is still to do when Redis goes away: what follows is the worker resuming.
          const before = yield* succeeded
          expect(before).toBeLessThan(jobIds.length / 2)

          // Stop Redis (it writes its AOF on the way out) for 5 s.
          yield* Scope.close(firstScope, Exit.void)
          const downAt = Date.now()
          const refused = yield* producer.submit(Work, { i: -1 }).pipe(Effect.flip)
          expect(refused._tag).toBe("RedisUnavailable")
          expect(Date.now() - downAt).toBeLessThan(4_000)
          yield* Effect.sleep(5_000 - (Date.now() - downAt))
          expect(worker.isRunning()).toBe(true)
          yield* EmbeddedRedis.start({ dir, port })
          const upAt = Date.now()

          yield* worker.waitForLog((line) => /Redis connection back after/.test(line.msg), "15 seconds")
          const finished = yield* H.allFinished(jobIds, "60 seconds")
          const doneAt = Date.now()
          expect(finished.filter((status) => status.state === "succeeded")).toHaveLength(jobIds.length)
          const byJob = yield* H.eventsByJob
          const terminals = jobIds.map((jobId) => (byJob.get(jobId) ?? []).filter((e) => e.type === "succeeded"))
          expect(terminals.filter((events) => events.length !== 1)).toEqual([])

          const connections = yield* H.connectionsOf(worker.pid)
          expect(connections.length).toBeLessThanOrEqual(2)
          expect(connections.length).toBeGreaterThanOrEqual(1)
          const backLines = worker
            .logs()
            .filter((line) => /Redis connection (lost|back)/.test(line.msg))
            .map((line) => line.msg)
          console.log(
            `outage: ${jobIds.length} jobs succeeded (${before} before the outage), ${record.executions().length - jobIds.length} extra executions; ` +
              `all done ${doneAt - upAt} ms after Redis came back; worker connections after: ${connections.length}; ` +
              `worker logged: ${backLines.join(" | ")}`,
          )

          worker.kill("SIGTERM")
          expect((yield* worker.exited).code).toBe(0)
        }).pipe(Effect.provide(H.client(url, prefix)), Effect.provide(H.quiet))
      }),
    90_000,
  )
})
