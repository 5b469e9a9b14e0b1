/**
 * Latency: one worker process (concurrency 50, no-op handler; eddy's projection inline) and a
 * producer in this process submitting jobs one by one at a fixed rate. Each submission is sent on
 * schedule whether or not earlier ones have finished (an open loop: a slow system cannot slow the
 * load down and hide its own latency). Per job: submit → handler start (the handler's stamp comes
 * back in the result) and submit → result seen by the producer.
 */
import * as Bull from "../bullmq.js"
import * as Eddy from "../eddy.js"
import { percentile } from "../stats.js"
import * as WorkerChild from "../workerChild.js"
import { now, type Output, type Payload, payload, sleep } from "../workload.js"
import { type Context, range, type Scenario, type System } from "./scenario.js"

const queue = "bench-latency"
const warmUp = 20
const warmUpSeconds = 1

/** One job's latencies, or why it has none (the submission or the wait for its result failed). */
type Sample = { readonly start: number; readonly result: number } | { readonly error: string }

/** Submits at `rate` per second for `seconds`, each job followed to its result. */
const paced = async (
  rate: number,
  seconds: number,
  submit: (input: Payload) => Promise<string>,
  result: (jobId: string) => Promise<Output>,
): Promise<{ readonly samples: Array<Sample>; readonly sendSeconds: number }> => {
  const one = async (n: number): Promise<Sample> => {
    const sentAt = now()
    try {
      const output = await result(await submit(payload(n, sentAt)))
      return { start: output.startedAt - sentAt, result: now() - sentAt }
    } catch (error) {
      return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }
    }
  }
  const total = Math.round(rate * seconds)
  const interval = 1000 / rate
  const pending: Array<Promise<Sample>> = []
  const t0 = now()
  while (pending.length < total) {
    // Send everything due by now (a late timer must not thin the load), then yield briefly.
    while (pending.length < total && now() >= t0 + pending.length * interval) pending.push(one(pending.length))
    await sleep(Math.max(0, Math.min(1, t0 + pending.length * interval - now())))
  }
  // How long sending took: the schedule's length, unless the producer could not keep up with it.
  const sendSeconds = (now() - t0) / 1000
  return { samples: await Promise.all(pending), sendSeconds }
}

/**
 * Percentiles over every job sent. A job that failed never started or answered as far as its
 * producer knows: it counts as infinitely late (so 2 % failures make p99 infinite) and is noted.
 */
const measures = (samples: ReadonlyArray<Sample>, sendSeconds: number, plannedSeconds: number) => {
  const errors = samples.flatMap((sample) => ("error" in sample ? [sample.error] : []))
  const start = samples.map((s) => ("error" in s ? Number.POSITIVE_INFINITY : s.start))
  const result = samples.map((s) => ("error" in s ? Number.POSITIVE_INFINITY : s.result))
  const kinds = [...new Set(errors)].slice(0, 3).join("; ")
  return {
    values: {
      startP50: percentile(start, 50),
      startP99: percentile(start, 99),
      resultP50: percentile(result, 50),
      resultP99: percentile(result, 99),
    },
    details: {
      jobs: samples.length,
      failed: errors.length,
      sendSeconds,
      startMax: percentile(start, 100),
      resultMax: percentile(result, 100),
    },
    notes: [
      ...(errors.length === 0
        ? []
        : [`${errors.length} of ${samples.length} jobs failed (counted as infinitely late): ${kinds}`]),
      // An open loop only stays open while the producer keeps up: say so when it did not.
      ...(sendSeconds > plannedSeconds * 1.1
        ? [`the producer took ${sendSeconds.toFixed(1)} s to send what was due over ${plannedSeconds} s`]
        : []),
    ],
  }
}

const withWorker = async <A>(system: System, context: Context, body: () => Promise<A>): Promise<A> => {
  const worker = await WorkerChild.start({
    system,
    url: context.url,
    queue,
    mode: "noop",
    leaseMs: 30_000,
    concurrency: context.sizes.concurrency,
  })
  try {
    return await body()
  } finally {
    await worker.stop()
  }
}

/**
 * Warms up (connections, scripts, JIT) with a few jobs one after the other, then with a second of
 * the measured load itself, unmeasured: jobs one at a time leave the code paths of overlapping
 * jobs cold, and their first second at 500/s (JIT tier-up, the young heap growing) made up most
 * of the p99 of a 10 s run. Both systems get the same warm-up.
 */
const measure = async (
  { sizes }: Context,
  submit: (input: Payload) => Promise<string>,
  result: (jobId: string) => Promise<Output>,
) => {
  for (const n of range(0, warmUp)) await result(await submit(payload(-1 - n)))
  await paced(sizes.latencyRate, Math.min(warmUpSeconds, sizes.latencySeconds), submit, result)
  const { samples, sendSeconds } = await paced(sizes.latencyRate, sizes.latencySeconds, submit, result)
  return measures(samples, sendSeconds, sizes.latencySeconds)
}

export const latency: Scenario = {
  name: "latency",
  rows: (sizes) => {
    const load = `${sizes.latencyRate}/s for ${sizes.latencySeconds} s`
    const row = (key: string, label: string) => ({
      key,
      label: `${label} (${load})`,
      unit: "ms",
      better: "lower" as const,
      ...(key.endsWith("P99") ? { target: { kind: "ratioAtMost" as const, value: 1 } } : {}),
    })
    return [
      row("startP50", "submit → handler start p50"),
      row("startP99", "submit → handler start p99"),
      row("resultP50", "submit → result seen p50"),
      row("resultP99", "submit → result seen p99"),
    ]
  },
  run: {
    eddy: (context) =>
      withWorker("eddy", context, async () => {
        const actor = Eddy.contract(queue)
        const eddy = await Eddy.open(context.url)
        try {
          return await measure(
            context,
            (input) => Eddy.submit(eddy, actor, input),
            (jobId) => Eddy.result(eddy, actor, jobId),
          )
        } finally {
          await eddy.close()
        }
      }),
    bullmq: (context) =>
      withWorker("bullmq", context, async () => {
        const connection = Bull.connect(context.url)
        const target = Bull.queue(queue, connection)
        const results = await Bull.results(queue, connection)
        try {
          return await measure(
            context,
            (input) => Bull.add(target, input),
            (jobId) => results.wait(jobId),
          )
        } finally {
          await results.close()
          await target.close()
          await connection.quit()
        }
      }),
  },
}
