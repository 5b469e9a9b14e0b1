/**
 * Enqueue: a producer writes N jobs with ~100-byte payloads in batches (eddy `submitMany`,
 * BullMQ `Queue.addBulk`), one batch after the other. Nothing consumes them meanwhile.
 * Payloads are built before the clock starts; the clock stops when the last batch is answered.
 * Over the same window it reports CPU per job of the producer and of redis-server: the batches
 * are sent one after the other, so the two add up to the time per job.
 */
import type { Redis } from "ioredis"
import * as Bull from "../bullmq.js"
import * as Eddy from "../eddy.js"
import * as RedisProbe from "../redisProbe.js"
import { perSecond } from "../stats.js"
import { batches, now, payload } from "../workload.js"
import { type Context, range, type Scenario } from "./scenario.js"

const processCpuUs = () => {
  const usage = process.cpuUsage()
  return usage.user + usage.system
}

/** Times `send` (every batch) and charges the CPU it took, here and in Redis, to each job. */
const measure = async (probe: Redis, jobs: number, send: () => Promise<void>) => {
  const redisBefore = await RedisProbe.cpuSeconds(probe)
  const cpuBefore = processCpuUs()
  const started = now()
  await send()
  const elapsed = now() - started
  const cpuUs = processCpuUs() - cpuBefore
  const redisSeconds = (await RedisProbe.cpuSeconds(probe)) - redisBefore
  return {
    values: {
      rate: perSecond(jobs, elapsed),
      producerCpuPerJob: cpuUs / jobs,
      redisCpuPerJob: (redisSeconds * 1e6) / jobs,
    },
  }
}

const inputs = ({ sizes }: Context) =>
  batches(sizes.enqueueJobs, sizes.batch).map(({ from, to }) => range(from, to).map((n) => payload(n)))

export const enqueue: Scenario = {
  name: "enqueue",
  rows: (sizes) => [
    {
      key: "rate",
      label: `${sizes.enqueueJobs.toLocaleString("en")} jobs in batches of ${sizes.batch.toLocaleString("en")}`,
      unit: "jobs/s",
      better: "higher",
      target: { kind: "ratioAtLeast", value: 3 },
    },
    { key: "producerCpuPerJob", label: "producer process CPU per job", unit: "µs", better: "lower" },
    { key: "redisCpuPerJob", label: "redis-server CPU per job", unit: "µs", better: "lower" },
  ],
  run: {
    eddy: async (context) => {
      const actor = Eddy.contract("bench-enqueue")
      const probe = RedisProbe.connect(context.url, "probe")
      const eddy = await Eddy.open(context.url)
      try {
        const work = inputs(context)
        return await measure(probe, context.sizes.enqueueJobs, async () => {
          for (const batch of work) await Eddy.submitMany(eddy, actor, batch)
        })
      } finally {
        await eddy.close()
        await probe.quit()
      }
    },
    bullmq: async (context) => {
      const probe = RedisProbe.connect(context.url, "probe")
      const connection = Bull.connect(context.url)
      const queue = Bull.queue("bench-enqueue", connection)
      try {
        await queue.waitUntilReady()
        const work = inputs(context)
        return await measure(probe, context.sizes.enqueueJobs, async () => {
          for (const batch of work) await Bull.addBulk(queue, batch)
        })
      } finally {
        await queue.close()
        await connection.quit()
        await probe.quit()
      }
    },
  },
}
