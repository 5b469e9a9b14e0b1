/**
 * A worker process of its own, started by a runner for the scenarios that need one: latency (the
 * producer in another process, as in production) and stall recovery (a process to SIGKILL).
 *
 * Argument: a JSON `Config`. Messages: it sends `ready` once consuming, and in `gated` mode
 * `started` with the job id when a job starts, then holds the job until told `proceed`; `stop`
 * shuts it down gracefully. It exits when its runner's channel closes.
 */
import { parent } from "./children.js"
import type { System } from "./scenarios/scenario.js"
import { now, type Output } from "./workload.js"

export interface Config {
  readonly system: System
  readonly url: string
  readonly queue: string
  readonly mode: "noop" | "gated"
  /** eddy's lease; BullMQ's lockDuration and stalledInterval. */
  readonly leaseMs: number
  readonly concurrency: number
}

const config = JSON.parse(process.argv[2] ?? "{}") as Config
parent.exitWithParent()

const proceeds = new Map<string, () => void>()
const gate = (jobId: string) =>
  new Promise<void>((resolve) => {
    proceeds.set(jobId, resolve)
    parent.send({ type: "started", jobId, pid: process.pid })
  })

// Each system's module is loaded only by its own workers: a BullMQ worker process does not pay
// for loading Effect and eddy, which matters when the stall scenario starts two of them at once.
const startEddy = async () => {
  const Eddy = await import("./eddy.js")
  const actor = Eddy.contract(config.queue, config.leaseMs)
  // The status projection is kept by the scripts themselves, as in production.
  const eddy = await Eddy.open(config.url)
  const worker = await eddy.startWorker({
    handlers: [config.mode === "gated" ? Eddy.gated(actor, gate) : Eddy.noop(actor)],
    concurrency: config.concurrency,
    shutdownGrace: "1 second",
  })
  return async () => {
    await worker.stop()
    await eddy.close()
  }
}

const startBullmq = async () => {
  const Bull = await import("./bullmq.js")
  const connection = Bull.connect(config.url)
  const processor =
    config.mode === "gated"
      ? async (job: { id?: string | undefined }): Promise<Output> => {
          const startedAt = now()
          await gate(job.id ?? "")
          return { startedAt }
        }
      : Bull.noop()
  const worker = Bull.worker(config.queue, processor, connection, {
    concurrency: config.concurrency,
    lockDuration: config.leaseMs,
    stalledInterval: config.leaseMs,
  })
  await worker.waitUntilReady()
  return async () => {
    await worker.close()
    await connection.quit()
  }
}

const stop = await (config.system === "eddy" ? startEddy() : startBullmq())
parent.onMessage((message) => {
  if (message.type === "proceed") proceeds.get(String(message.jobId))?.()
  if (message.type === "stop")
    void stop().then(
      () => process.exit(0),
      () => process.exit(1),
    )
})
parent.send({ type: "ready" })
