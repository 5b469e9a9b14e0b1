/**
 * Process: N queued jobs, then one worker (concurrency 50, no-op handler) in this process;
 * throughput from the first pick-up to the last completion. eddy's status projection is kept
 * inline by its scripts, as in production, so it is measured with every job.
 *
 * Over the same window it also reports CPU time per job, of this process and of redis-server:
 * on a shared machine, throughput moves with whatever else runs, CPU per job much less.
 * The window is also reported in monotonic microseconds (`window`), the clock of V8's CPU
 * profiles, so that `--profile` can analyse exactly the processing.
 */
import type { Redis } from "ioredis"
import * as Bull from "../bullmq.js"
import * as Eddy from "../eddy.js"
import type { Sizes } from "../options.js"
import * as RedisProbe from "../redisProbe.js"
import { perSecond } from "../stats.js"
import { batches, now, payload, waitUntil } from "../workload.js"
import { type Measures, range, type Scenario } from "./scenario.js"

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n)
const processCpuUs = () => {
  const usage = process.cpuUsage()
  return usage.user + usage.system
}

/** A point in time on every clock the scenario reads. */
interface Mark {
  readonly at: number
  readonly us: number
  readonly cpuUs: number
  readonly redisCpuS: number
}

/**
 * The window's two ends. The first pick-up is noted synchronously (from the handler); the
 * server's CPU is read right after, which is close enough over a run of seconds.
 */
const measureWindow = (probe: Redis) => {
  let first: Omit<Mark, "redisCpuS"> | undefined
  let redisAtFirst: Promise<number> | undefined
  return {
    onStart: () => {
      if (first !== undefined) return
      first = { at: now(), us: monotonicUs(), cpuUs: processCpuUs() }
      redisAtFirst = RedisProbe.cpuSeconds(probe)
    },
    end: async (
      sizes: Sizes,
      last: Omit<Mark, "redisCpuS">,
      extra: Record<string, unknown> = {},
    ): Promise<Measures> => {
      const redisAtLast = await RedisProbe.cpuSeconds(probe)
      if (first === undefined || redisAtFirst === undefined) throw new Error("no job was picked up")
      const jobs = sizes.processJobs
      return {
        values: {
          rate: perSecond(jobs, last.at - first.at),
          cpuPerJob: (last.cpuUs - first.cpuUs) / jobs,
          redisCpuPerJob: ((redisAtLast - (await redisAtFirst)) * 1e6) / jobs,
        },
        details: { ...extra, window: { fromUs: first.us, toUs: last.us } },
      }
    },
  }
}

const mark = () => ({ at: now(), us: monotonicUs(), cpuUs: processCpuUs() })

const timeoutMs = (jobs: number) => 60_000 + jobs * 5

export const processing: Scenario = {
  name: "process",
  rows: (sizes) => [
    {
      key: "rate",
      label: `${sizes.processJobs.toLocaleString("en")} no-op jobs, concurrency ${sizes.concurrency}`,
      unit: "jobs/s",
      better: "higher",
      target: { kind: "ratioAtLeast", value: 2.5 },
    },
    {
      key: "cpuPerJob",
      label: "worker process CPU per job",
      unit: "µs",
      better: "lower",
      target: { kind: "eddyAtMost", value: 30 },
    },
    { key: "redisCpuPerJob", label: "redis-server CPU per job", unit: "µs", better: "lower" },
  ],
  run: {
    eddy: async ({ url, sizes }) => {
      const actor = Eddy.contract("bench-process")
      const probe = RedisProbe.connect(url, "probe")
      const eddy = await Eddy.open(url)
      try {
        for (const { from, to } of batches(sizes.processJobs, sizes.batch))
          await Eddy.submitMany(
            eddy,
            actor,
            range(from, to).map((n) => payload(n)),
          )
        const before = Eddy.succeeded(actor)
        const window = measureWindow(probe)
        const worker = await eddy.startWorker({
          handlers: [Eddy.noop(actor, window.onStart)],
          concurrency: sizes.concurrency,
        })
        await waitUntil(
          "every job to complete",
          () => Eddy.succeeded(actor) - before >= sizes.processJobs,
          timeoutMs(sizes.processJobs),
        )
        const last = mark()
        const measures = await window.end(sizes, last)
        // The status projection is inline: it is up to date when the last completion is.
        await worker.stop()
        return measures
      } finally {
        await eddy.close()
        await probe.quit()
      }
    },
    bullmq: async ({ url, sizes }) => {
      const name = "bench-process"
      const probe = RedisProbe.connect(url, "probe")
      const connection = Bull.connect(url)
      const queue = Bull.queue(name, connection)
      try {
        for (const { from, to } of batches(sizes.processJobs, sizes.batch))
          await Bull.addBulk(
            queue,
            range(from, to).map((n) => payload(n)),
          )
        const window = measureWindow(probe)
        let completed = 0
        let last: ReturnType<typeof mark> | undefined
        const worker = Bull.worker(name, Bull.noop(window.onStart), connection, { concurrency: sizes.concurrency })
        worker.on("completed", () => {
          completed++
          if (completed === sizes.processJobs) last = mark()
        })
        await waitUntil("every job to complete", () => last !== undefined, timeoutMs(sizes.processJobs))
        const measures = await window.end(sizes, last as ReturnType<typeof mark>)
        await worker.close()
        return measures
      } finally {
        await queue.close()
        await connection.quit()
        await probe.quit()
      }
    },
  },
}
