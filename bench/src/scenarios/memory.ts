/**
 * Memory: N jobs submitted in batches to a running worker (no-op handler) and completed, all
 * kept for inspection — eddy's terminal records, event log and status projection (retention
 * 24 h by default), BullMQ's completed jobs (`removeOnComplete: false`). Reported: Redis
 * `used_memory` after minus before, per 100,000 jobs. eddy's status projection is inline, so it
 * is counted in full. The details break the memory down by key pattern
 * (`MEMORY USAGE`), which says where each system keeps a retained job.
 */
import * as Bull from "../bullmq.js"
import * as Eddy from "../eddy.js"
import * as RedisProbe from "../redisProbe.js"
import { batches, payload, waitUntil } from "../workload.js"
import { range, type Scenario } from "./scenario.js"

const timeoutMs = (jobs: number) => 60_000 + jobs * 5

const perHundredThousand = (before: number, after: number, jobs: number) =>
  (((after - before) / jobs) * 100_000) / (1024 * 1024)

export const memory: Scenario = {
  name: "memory",
  rows: (sizes) => [
    {
      key: "perHundredK",
      label: `used_memory per 100,000 retained jobs (${sizes.memoryJobs.toLocaleString("en")} run)`,
      unit: "MiB",
      better: "lower",
      target: { kind: "ratioAtMost", value: 0.7 },
    },
  ],
  run: {
    eddy: async ({ url, sizes }) => {
      const actor = Eddy.contract("bench-memory")
      const probe = RedisProbe.connect(url, "probe")
      const eddy = await Eddy.open(url)
      try {
        const done = Eddy.succeeded(actor)
        const worker = await eddy.startWorker({ handlers: [Eddy.noop(actor)], concurrency: sizes.concurrency })
        const before = await RedisProbe.usedMemory(probe)
        for (const { from, to } of batches(sizes.memoryJobs, sizes.batch))
          await Eddy.submitMany(
            eddy,
            actor,
            range(from, to).map((n) => payload(n)),
          )
        await waitUntil(
          "every job to complete",
          () => Eddy.succeeded(actor) - done >= sizes.memoryJobs,
          timeoutMs(sizes.memoryJobs),
        )
        const after = await RedisProbe.usedMemory(probe)
        const byKeyPattern = await RedisProbe.memoryByPattern(probe)
        await worker.stop()
        return {
          values: { perHundredK: perHundredThousand(before, after, sizes.memoryJobs) },
          details: { before, after, jobs: sizes.memoryJobs, byKeyPattern },
        }
      } finally {
        await eddy.close()
        await probe.quit()
      }
    },
    bullmq: async ({ url, sizes }) => {
      const name = "bench-memory"
      const probe = RedisProbe.connect(url, "probe")
      const connection = Bull.connect(url)
      const queue = Bull.queue(name, connection)
      let completed = 0
      const worker = Bull.worker(name, Bull.noop(), connection, { concurrency: sizes.concurrency })
      worker.on("completed", () => {
        completed++
      })
      try {
        await worker.waitUntilReady()
        const before = await RedisProbe.usedMemory(probe)
        for (const { from, to } of batches(sizes.memoryJobs, sizes.batch))
          await Bull.addBulk(
            queue,
            range(from, to).map((n) => payload(n)),
          )
        await waitUntil("every job to complete", () => completed >= sizes.memoryJobs, timeoutMs(sizes.memoryJobs))
        const after = await RedisProbe.usedMemory(probe)
        const byKeyPattern = await RedisProbe.memoryByPattern(probe)
        return {
          values: { perHundredK: perHundredThousand(before, after, sizes.memoryJobs) },
          details: { before, after, jobs: sizes.memoryJobs, byKeyPattern },
        }
      } finally {
        await worker.close()
        await queue.close()
        await connection.quit()
        await probe.quit()
      }
    },
  },
}
