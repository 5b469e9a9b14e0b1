/**
 * Graceful stop of real worker processes: SIGTERM lets a short job finish (exit 0); a job longer
 * than the grace is released and finished by another process long before its lease would have
 * expired; a second SIGTERM releases at once. A running worker is listed in the presence
 * records with its actors, and is gone after a clean stop.
 */
import { Producer } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import { Slow } from "./fixtures/contracts.js"
import * as H from "./fixtures/Harness.js"
import * as RecordFile from "./fixtures/RecordFile.js"
import * as WorkerProcess from "./fixtures/WorkerProcess.js"

const slowWorker = (prefix: string, record: string, env: Record<string, string>) =>
  WorkerProcess.start({
    module: WorkerProcess.fixture("slow-worker.ts"),
    redisUrl: TestRedis.url(),
    prefix,
    env: { EDDY_TEST_RECORD: record, ...env },
  })

/**
 * Starts two workers at once and submits a 30 s job: returns the one that runs it and the other
 * (which finishes it fast once it is handed over: see `slow-worker.ts`).
 */
const runningOnOneOfTwo = (prefix: string, record: string, grace: string) =>
  Effect.gen(function* () {
    const workers = yield* Effect.all(
      [0, 1].map(() => slowWorker(prefix, record, { EDDY_SHUTDOWN_GRACE: grace })),
      { concurrency: "unbounded" },
    )
    const producer = yield* Producer.Producer
    const job = yield* producer.submit(Slow, { ms: 30_000 })
    const active = yield* H.inState(producer, job.jobId, "active")
    const first = workers.find((worker) => worker.consumer === active.worker)!
    const second = workers.find((worker) => worker !== first)!
    expect([first, second].map((worker) => worker.consumer).sort()).toEqual(
      workers.map((worker) => worker.consumer).sort(),
    )
    return { job, first, second, producer }
  })

describe("graceful shutdown", () => {
  it.scopedLive(
    "SIGTERM during a job shorter than the grace lets it finish; the worker leaves the presence list",
    () => {
      const prefix = TestRedis.uniquePrefix("ws")
      return Effect.gen(function* () {
        const record = yield* RecordFile.make
        const worker = yield* slowWorker(prefix, record.path, { EDDY_SHUTDOWN_GRACE: "10 seconds" })
        const producer = yield* Producer.Producer

        // Published by the heartbeat, which starts with the worker.
        const listed = yield* H.eventually(
          "the worker's presence",
          Effect.map(H.presence, (all) => (all.length > 0 ? Option.some(all) : Option.none())),
          "5 seconds",
          "50 millis",
        )
        expect(listed.map((entry) => [entry.id, entry.pid, entry.actors])).toEqual([
          [worker.consumer, worker.pid, [Slow.name]],
        ])

        const job = yield* producer.submit(Slow, { ms: 1_500 })
        yield* H.inState(producer, job.jobId, "active")
        const signalledAt = Date.now()
        worker.kill("SIGTERM")
        const exited = yield* worker.exited
        const stopTook = Date.now() - signalledAt
        expect(exited).toEqual({ code: 0, signal: null })
        console.log(`SIGTERM with a 1.5 s job running: exited 0 after ${stopTook} ms`)

        const events = (yield* H.eventsByJob).get(job.jobId) ?? []
        expect(events.map((event) => event.type)).toEqual(["submitted", "started", "succeeded"])
        expect(record.executions()).toEqual([{ jobId: job.jobId, pid: worker.pid }])
        expect(yield* H.presence).toEqual([])
        expect(worker.logs().some((line) => /waiting up to 10s for 1 running job/.test(line.msg))).toBe(true)
      }).pipe(Effect.provide(H.client(TestRedis.url(), prefix)))
    },
    60_000,
  )

  it.scopedLive(
    "SIGTERM with a job longer than the grace releases it, and another worker finishes it long before the lease",
    () => {
      const prefix = TestRedis.uniquePrefix("ws")
      return Effect.gen(function* () {
        const record = yield* RecordFile.make
        const { job, first, second, producer } = yield* runningOnOneOfTwo(prefix, record.path, "1 second")

        const signalledAt = Date.now()
        first.kill("SIGTERM")
        expect(yield* first.exited).toEqual({ code: 0, signal: null })
        const stopTook = Date.now() - signalledAt
        expect(stopTook).toBeGreaterThanOrEqual(1_000)
        expect(yield* producer.resultOf(Slow, job.jobId, { timeout: "10 seconds" })).toEqual({ ms: 30_000 })

        const events = (yield* H.eventsByJob).get(job.jobId) ?? []
        expect(events.map((event) => [event.type, event.worker])).toEqual([
          ["submitted", undefined],
          ["started", first.consumer],
          ["released", first.consumer],
          ["started", second.consumer],
          ["succeeded", second.consumer],
        ])
        // The release is not an attempt.
        expect(H.ofType(events, "started").map((event) => event.attempt)).toEqual([1, 1])
        const released = H.ofType(events, "released")[0]!
        const succeeded = H.ofType(events, "succeeded")[0]!
        const handOver = H.ofType(events, "started")[1]!.at - released.at
        console.log(
          `grace 1 s, 30 s job: exited 0 after ${stopTook} ms; taken over ${handOver} ms after the release, ` +
            `finished ${succeeded.at - released.at} ms after it (lease 20 s)`,
        )
        expect(succeeded.at - released.at).toBeLessThan(5_000)
        expect(record.executions()).toEqual([
          { jobId: job.jobId, pid: first.pid },
          { jobId: job.jobId, pid: second.pid },
        ])
      }).pipe(Effect.provide(H.client(TestRedis.url(), prefix)))
    },
    60_000,
  )

  it.scopedLive(
    "a second SIGTERM releases running jobs at once",
    () => {
      const prefix = TestRedis.uniquePrefix("ws")
      return Effect.gen(function* () {
        const record = yield* RecordFile.make
        const { job, first, second, producer } = yield* runningOnOneOfTwo(prefix, record.path, "30 seconds")

        first.kill("SIGTERM")
        const firstAt = Date.now()
        yield* first.waitForLog((line) => /stopping: waiting up to 30s/.test(line.msg), "10 seconds")
        // Copies of one signal within a second count once (StopSignals): the second comes later.
        yield* Effect.sleep(Math.max(0, firstAt + 1_200 - Date.now()))
        const againAt = Date.now()
        first.kill("SIGTERM")
        expect(yield* first.exited).toEqual({ code: 0, signal: null })
        const stopTook = Date.now() - againAt
        console.log(`second SIGTERM: exited 0 after ${stopTook} ms (grace 30 s)`)
        expect(stopTook).toBeLessThan(5_000)
        expect(yield* producer.resultOf(Slow, job.jobId, { timeout: "10 seconds" })).toEqual({ ms: 30_000 })
        const events = (yield* H.eventsByJob).get(job.jobId) ?? []
        expect(events.map((event) => [event.type, event.worker])).toEqual([
          ["submitted", undefined],
          ["started", first.consumer],
          ["released", first.consumer],
          ["started", second.consumer],
          ["succeeded", second.consumer],
        ])
      }).pipe(Effect.provide(H.client(TestRedis.url(), prefix)))
    },
    60_000,
  )
})
