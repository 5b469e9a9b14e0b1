/**
 * Stall recovery: two worker processes of their own; a job starts on one of them, which holds
 * it and is then killed with SIGKILL. Measured: from the kill until the producer sees the job
 * completed by the other worker. Comparable settings: eddy's lease = BullMQ's lockDuration =
 * stalledInterval (5 s in the full run).
 *
 * The job runs for a quarter of a lease before the kill, so that its lease has been renewed at
 * least once (eddy renews every lease/3, BullMQ every lockDuration/2) as in a real crash mid-job.
 */
import * as Bull from "../bullmq.js"
import * as Eddy from "../eddy.js"
import { median } from "../stats.js"
import * as WorkerChild from "../workerChild.js"
import { now, type Output, type Payload, payload, sleep } from "../workload.js"
import type { Context, Scenario, System } from "./scenario.js"

const queue = "bench-stall"

const isStartOf = (jobId: string) => (message: { readonly type: string; readonly jobId?: unknown }) =>
  message.type === "started" && message.jobId === jobId

/** One trial: milliseconds from the SIGKILL to the result. */
const trial = async (
  system: System,
  { url, sizes }: Context,
  n: number,
  submit: (input: Payload) => Promise<string>,
  result: (jobId: string) => Promise<Output>,
): Promise<number> => {
  const config = {
    system,
    url,
    queue,
    mode: "gated" as const,
    leaseMs: sizes.stallLeaseMs,
    concurrency: sizes.concurrency,
  }
  const workers = await Promise.all([WorkerChild.start(config), WorkerChild.start(config)])
  try {
    const jobId = await submit(payload(n))
    const completed = result(jobId)
    // One wait per worker for its start of the job: the first to start holds it; the other's
    // wait is the one that ends when it takes the job over.
    const starts = workers.map((worker) =>
      worker.next(isStartOf(jobId), sizes.stallLeaseMs * 10 + 30_000).then(() => worker),
    )
    for (const start of starts) start.catch(() => {})
    const holder = await Promise.race(starts)
    const index = workers.indexOf(holder)
    const other = workers[1 - index] as WorkerChild.WorkerChild
    await sleep(sizes.stallLeaseMs / 4)
    holder.process.kill("SIGKILL")
    const killedAt = now()
    await starts[1 - index]
    other.send({ type: "proceed", jobId })
    await completed
    return now() - killedAt
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()))
  }
}

const trials = async (
  system: System,
  context: Context,
  submit: (input: Payload) => Promise<string>,
  result: (jobId: string) => Promise<Output>,
) => {
  const recoveries: Array<number> = []
  for (let n = 0; n < context.sizes.stallTrials; n++) recoveries.push(await trial(system, context, n, submit, result))
  const seconds = recoveries.map((ms) => ms / 1000)
  return { values: { median: median(seconds), max: Math.max(...seconds) }, details: { trials: seconds } }
}

export const stall: Scenario = {
  name: "stall",
  rows: (sizes) => {
    const lease = sizes.stallLeaseMs / 1000
    return [
      {
        key: "median",
        label: `SIGKILL → completed elsewhere, lease ${lease} s, median of ${sizes.stallTrials}`,
        unit: "s",
        better: "lower",
      },
      {
        key: "max",
        label: `SIGKILL → completed elsewhere, lease ${lease} s, worst of ${sizes.stallTrials}`,
        unit: "s",
        better: "lower",
        target: { kind: "eddyAtMost", value: lease + 1 },
      },
    ]
  },
  run: {
    eddy: async (context) => {
      const actor = Eddy.contract(queue, context.sizes.stallLeaseMs)
      const eddy = await Eddy.open(context.url)
      try {
        return await trials(
          "eddy",
          context,
          (input) => Eddy.submit(eddy, actor, input),
          (jobId) => Eddy.result(eddy, actor, jobId, 120_000),
        )
      } finally {
        await eddy.close()
      }
    },
    bullmq: async (context) => {
      const connection = Bull.connect(context.url)
      const target = Bull.queue(queue, connection)
      const results = await Bull.results(queue, connection)
      try {
        return await trials(
          "bullmq",
          context,
          (input) => Bull.add(target, input),
          (jobId) => results.wait(jobId, 120_000),
        )
      } finally {
        await results.close()
        await target.close()
        await connection.quit()
      }
    },
  },
}
