/**
 * Chaos: three real worker processes work through 2,000 jobs while one of them, chosen at random,
 * is SIGKILLed about every second, ten times, and restarted each time. The lease is 1 s. Nothing
 * is lost, every job ends with exactly one terminal event (succeeded), and only jobs caught by a
 * kill run more than once: no kill catches more than the worker's concurrency.
 */
import { JobEvent, Producer } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import { Work } from "./fixtures/contracts.js"
import * as H from "./fixtures/Harness.js"
import * as RecordFile from "./fixtures/RecordFile.js"
import * as WorkerProcess from "./fixtures/WorkerProcess.js"

const processes = 3
const concurrency = Work.policy.concurrency
const total = 2_000
const kills = 10
/** Jobs are submitted in batches, one per kill, so that work is in flight at every kill. */
const batches = kills
const workMs = 20

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

describe("chaos", () => {
  it.scopedLive(
    "2,000 jobs, a worker SIGKILLed every second ten times: none lost, each succeeded exactly once",
    () => {
      const prefix = TestRedis.uniquePrefix("wx")
      return Effect.gen(function* () {
        const record = yield* RecordFile.make
        const startWorker = WorkerProcess.start({
          module: WorkerProcess.fixture("recording-worker.ts"),
          redisUrl: TestRedis.url(),
          prefix,
          concurrency,
          env: { EDDY_TEST_RECORD: record.path, EDDY_TEST_WORK_MS: String(workMs) },
        })
        const live: Array<WorkerProcess.WorkerProcess> = yield* Effect.all(
          Array.from({ length: processes }, () => startWorker),
          { concurrency: "unbounded" },
        )
        const started = [...live]
        const producer = yield* Producer.Producer
        const jobIds: Array<string> = []
        const submitBatch = Effect.gen(function* () {
          const batch = yield* producer.submitMany(
            Work,
            Array.from({ length: total / batches }, (_, k) => ({ input: { i: jobIds.length + k } })),
          )
          jobIds.push(...batch.map((job) => job.jobId))
        })

        const killed: Array<{ readonly pid: number; readonly at: number }> = []
        const restarts: Array<Fiber.RuntimeFiber<WorkerProcess.WorkerProcess, Error>> = []
        for (let round = 0; round < kills; round++) {
          // Keep one process up to take over the victim's work (restarts take a second or more).
          yield* H.eventually(
            "a restarted worker",
            Effect.sync(() => (live.length >= 2 ? Option.some(undefined) : Option.none())),
            "60 seconds",
            "50 millis",
          )
          // A batch lands shortly before each kill, so that the victim is busy when it dies.
          yield* Effect.sleep(600)
          yield* submitBatch
          yield* Effect.sleep(150 + Math.floor(Math.random() * 200))
          // A random one of the processes that are up; its replacement starts in the background.
          const victim = live.splice(Math.floor(Math.random() * live.length), 1)[0]!
          victim.kill("SIGKILL")
          killed.push({ pid: victim.pid, at: Date.now() })
          expect((yield* victim.exited).signal).toBe("SIGKILL")
          restarts.push(
            yield* Effect.forkScoped(
              startWorker.pipe(
                Effect.tap((worker) =>
                  Effect.sync(() => {
                    live.push(worker)
                    started.push(worker)
                  }),
                ),
              ),
            ),
          )
        }
        expect(jobIds).toHaveLength(total)
        const finished = yield* H.allFinished(jobIds, "120 seconds")
        const doneAt = Date.now()

        // Every job: exactly one terminal event, `succeeded`.
        const byJob = yield* H.eventsByJob
        const terminals = jobIds.map((jobId) => (byJob.get(jobId) ?? []).filter(JobEvent.isTerminal))
        expect(terminals.filter((events) => events.length !== 1)).toEqual([])
        expect(terminals.filter(([event]) => event?.type !== "succeeded")).toEqual([])
        expect(finished.filter((status) => status.state === "succeeded")).toHaveLength(total)

        // Executions: who ran each job, and which of its runs a kill caught.
        const executions = record.executions()
        const runs = new Map<string, Array<number>>()
        for (const { jobId, pid } of executions) runs.set(jobId, [...(runs.get(jobId) ?? []), pid])
        const repeated = jobIds.filter((jobId) => (runs.get(jobId)?.length ?? 0) > 1)
        const stalledOf = (jobId: string) => H.ofType(byJob.get(jobId) ?? [], "stalled")
        const killedPids = new Set(killed.map((kill) => kill.pid))
        const inKilled = repeated.filter((jobId) =>
          runs
            .get(jobId)!
            .slice(0, -1)
            .every((pid) => killedPids.has(pid)),
        )
        const recoveries = jobIds.flatMap((jobId) =>
          stalledOf(jobId).flatMap((stalled) => {
            const kill = killed.filter((k) => k.at <= stalled.at).pop()
            return kill === undefined ? [] : [stalled.at - kill.at]
          }),
        )
        const stalledJobs = jobIds.filter((jobId) => stalledOf(jobId).length > 0).length
        // Repeated jobs taken over before the process that first ran them was killed, if it was
        // (a lease lost while alive, e.g. a heartbeat starved on a loaded machine).
        const killedAt = new Map(killed.map((kill) => [kill.pid, kill.at]))
        const takenFromLive = repeated.filter((jobId) => {
          const diedAt = killedAt.get(runs.get(jobId)![0]!) ?? Number.POSITIVE_INFINITY
          return stalledOf(jobId).some((stalled) => stalled.at < diedAt)
        })
        // Per killed process, the jobs it had run and not recorded when it died: a kill catches at
        // most `concurrency` (a finished job holds its slot until its outcome is recorded).
        const caughtByKill = new Map<number, number>()
        for (const jobId of repeated) {
          const first = runs.get(jobId)![0]!
          if (killedAt.has(first) && !takenFromLive.includes(jobId))
            caughtByKill.set(first, (caughtByKill.get(first) ?? 0) + 1)
        }
        // Reported before the checks, so that a failing run says what happened.
        console.log(
          `chaos: ${total} jobs succeeded, ${started.length} processes started, ${killed.length} SIGKILLs; ` +
            `${executions.length - total} extra executions over ${repeated.length} jobs ` +
            `(${inKilled.length} of them first ran only in killed processes; most from one killed process ` +
            `${Math.max(0, ...caughtByKill.values())}; taken over from a live process ${takenFromLive.length}); ` +
            `${stalledJobs} jobs reclaimed; ` +
            `kill → stalled: median ${median(recoveries)} ms, max ${Math.max(...recoveries)} ms; ` +
            `all done ${doneAt - killed[kills - 1]!.at} ms after the last kill`,
        )

        // Every job ran; any that ran more than once was caught by a kill (it has a `stalled`
        // event: its delivery was taken over after the lease), and there are no more of them than
        // the kills could have caught.
        expect(jobIds.filter((jobId) => !runs.has(jobId))).toEqual([])
        expect(repeated.filter((jobId) => stalledOf(jobId).length === 0)).toEqual([])
        expect(repeated.length).toBeLessThanOrEqual(kills * concurrency)
        expect([...caughtByKill].filter(([, caught]) => caught > concurrency)).toEqual([])

        // Every restart came up, and the survivors stop cleanly.
        yield* Effect.forEach(restarts, Fiber.join)
        expect(started).toHaveLength(processes + kills)
        for (const worker of live) worker.kill("SIGTERM")
        for (const worker of live) expect((yield* worker.exited).code).toBe(0)
      }).pipe(Effect.provide(H.client(TestRedis.url(), prefix)), Effect.provide(H.quiet))
    },
    180_000,
  )
})
