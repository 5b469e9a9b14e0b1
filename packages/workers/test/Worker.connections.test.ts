/**
 * Constant connections: a real worker process hosting eleven actors holds one command and one
 * blocking connection, however many of its actors are busy.
 */
import { Producer } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import { Many } from "./fixtures/contracts.js"
import * as H from "./fixtures/Harness.js"
import * as WorkerProcess from "./fixtures/WorkerProcess.js"

describe("connections", () => {
  it.scopedLive(
    "a worker process hosting 11 actors holds at most 2 Redis connections while it works",
    () => {
      const prefix = TestRedis.uniquePrefix("wn")
      return Effect.gen(function* () {
        const worker = yield* WorkerProcess.start({
          module: WorkerProcess.fixture("many-worker.ts"),
          redisUrl: TestRedis.url(),
          prefix,
        })
        expect(Many).toHaveLength(11)
        const producer = yield* Producer.Producer
        const jobs = (yield* Effect.forEach(Many, (contract) =>
          producer.submitMany(
            contract,
            Array.from({ length: 15 }, (_, i) => ({ input: { i } })),
          ),
        )).flat()

        // Sample while jobs of several actors run at once (four waves of 150 ms at concurrency 50:
        // enough for five samples on a loaded machine).
        const samples: Array<ReadonlyArray<string>> = []
        const busyActors = new Set<string>()
        yield* H.eventually(
          "jobs of several actors to run",
          Effect.gen(function* () {
            const active = (yield* H.statuses).filter((status) => status.state === "active")
            for (const status of active) busyActors.add(status.actor)
            if (active.length > 0) samples.push(yield* H.connectionsOf(worker.pid))
            return samples.length >= 5 && busyActors.size >= 3 ? Option.some(undefined) : Option.none()
          }),
          "20 seconds",
          "50 millis",
        )
        const finished = yield* H.allFinished(
          jobs.map((job) => job.jobId),
          "30 seconds",
        )
        expect(finished.every((status) => status.state === "succeeded")).toBe(true)
        samples.push(yield* H.connectionsOf(worker.pid))

        const most = Math.max(...samples.map((sample) => sample.length))
        console.log(`connections of the 11-actor worker: at most ${most} over ${samples.length} samples`)
        expect(most).toBeLessThanOrEqual(2)
        expect(new Set(samples.flat().map((name) => name.split(":").pop()))).toEqual(new Set(["cmd", "block"]))

        worker.kill("SIGTERM")
        expect((yield* worker.exited).code).toBe(0)
      }).pipe(Effect.provide(H.client(TestRedis.url(), prefix)))
    },
    60_000,
  )
})
