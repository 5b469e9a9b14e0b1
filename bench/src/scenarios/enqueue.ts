/**
 * Enqueue: a producer writes N jobs with ~100-byte payloads in batches (eddy `submitMany`,
 * BullMQ `Queue.addBulk`), one batch after the other. Nothing consumes them meanwhile.
 * Payloads are built before the clock starts; the clock stops when the last batch is answered.
 */
import * as Bull from "../bullmq.js"
import * as Eddy from "../eddy.js"
import { perSecond } from "../stats.js"
import { batches, now, payload } from "../workload.js"
import { type Context, range, type Scenario } from "./scenario.js"

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
  ],
  run: {
    eddy: async (context) => {
      const actor = Eddy.contract("bench-enqueue")
      const eddy = await Eddy.open(context.url)
      try {
        const work = inputs(context)
        const started = now()
        for (const batch of work) await Eddy.submitMany(eddy, actor, batch)
        return { values: { rate: perSecond(context.sizes.enqueueJobs, now() - started) } }
      } finally {
        await eddy.close()
      }
    },
    bullmq: async (context) => {
      const connection = Bull.connect(context.url)
      const queue = Bull.queue("bench-enqueue", connection)
      try {
        await queue.waitUntilReady()
        const work = inputs(context)
        const started = now()
        for (const batch of work) await Bull.addBulk(queue, batch)
        return { values: { rate: perSecond(context.sizes.enqueueJobs, now() - started) } }
      } finally {
        await queue.close()
        await connection.quit()
      }
    },
  },
}
