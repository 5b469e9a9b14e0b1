/**
 * The scale scenario's runner: a process of its own per topology (see `scale.ts`), so that no
 * run starts in the heap or JIT state of another. Asked over IPC to `run` one workload on one
 * topology, it answers `done` with the rate and the CPU per job of this process and of every
 * master together (and of the busiest one), or `failed`.
 *
 * - enqueue: N jobs in batches (`submitMany`), one batch after the other, nothing consuming;
 * - process: N queued jobs, then one worker (concurrency from the sizes, no-op handler), from the
 *   first pick-up to the last completion.
 */
import { EddyConfig } from "@eddy/core"
import { Either } from "effect"
import { Redis } from "ioredis"
import { parent } from "./children.js"
import * as Eddy from "./eddy.js"
import type { Sizes } from "./options.js"
import { perSecond } from "./stats.js"
import { batches, now, payload, waitUntil } from "./workload.js"

/** What the parent sends: the topology (`url`, or a cluster's `seeds` and its masters' ports) and the workload. */
export interface RunRequest {
  readonly workload: "enqueue" | "process"
  readonly url: string
  /** Set on a cluster: its seed list, `host:port,…`. */
  readonly seeds?: string
  readonly partitions: number
  /** Every master's port (one server: its port), to read their CPU. */
  readonly masterPorts: ReadonlyArray<number>
  readonly sizes: Sizes
}

/** What a run answers. */
export interface RunResult {
  readonly rate: number
  readonly processCpuPerJob: number
  /** Every master's CPU together, per job. */
  readonly redisCpuPerJob: number
  /** The busiest master's share of that CPU (1 on one server). */
  readonly busiestShare: number
}

const processCpuUs = () => {
  const usage = process.cpuUsage()
  return usage.user + usage.system
}

/** CPU seconds (user + sys) of every master, in `masterPorts`' order. */
const mastersCpu = (probes: ReadonlyArray<Redis>) =>
  Promise.all(
    probes.map(async (probe) => {
      const info = await probe.info("cpu")
      const field = (name: string) => Number(new RegExp(`^${name}:(.*)$`, "m").exec(info)?.[1] ?? 0)
      return field("used_cpu_sys") + field("used_cpu_user")
    }),
  )

const result = (
  jobs: number,
  elapsedMs: number,
  cpuUs: number,
  before: ReadonlyArray<number>,
  after: ReadonlyArray<number>,
): RunResult => {
  const perMaster = after.map((value, i) => value - (before[i] ?? 0))
  const total = perMaster.reduce((a, b) => a + b, 0)
  return {
    rate: perSecond(jobs, elapsedMs),
    processCpuPerJob: cpuUs / jobs,
    redisCpuPerJob: (total * 1e6) / jobs,
    busiestShare: total > 0 ? Math.max(...perMaster) / total : 1,
  }
}

const run = async (request: RunRequest): Promise<RunResult> => {
  const { sizes } = request
  const probes = request.masterPorts.map(
    (port) => new Redis({ port, host: "127.0.0.1", connectionName: "bench:probe" }),
  )
  const topology =
    request.seeds === undefined
      ? undefined
      : {
          cluster: Either.getOrThrow(EddyConfig.parseCluster(request.seeds.split(","))),
          partitions: request.partitions,
        }
  const eddy = await Eddy.open(request.url, topology)
  try {
    if (request.workload === "enqueue") {
      const actor = Eddy.contract("scale-enqueue")
      const work = batches(sizes.enqueueJobs, sizes.batch).map(({ from, to }) =>
        Array.from({ length: to - from }, (_, i) => payload(from + i)),
      )
      const before = await mastersCpu(probes)
      const cpuBefore = processCpuUs()
      const started = now()
      for (const batch of work) await Eddy.submitMany(eddy, actor, batch)
      const elapsed = now() - started
      const cpuUs = processCpuUs() - cpuBefore
      return result(sizes.enqueueJobs, elapsed, cpuUs, before, await mastersCpu(probes))
    }
    const actor = Eddy.contract("scale-process")
    for (const { from, to } of batches(sizes.processJobs, sizes.batch))
      await Eddy.submitMany(
        eddy,
        actor,
        Array.from({ length: to - from }, (_, i) => payload(from + i)),
      )
    let first: { at: number; cpuUs: number; redis: Promise<ReadonlyArray<number>> } | undefined
    const base = Eddy.succeeded(actor)
    const worker = await eddy.startWorker({
      handlers: [
        Eddy.noop(actor, () => {
          first ??= { at: now(), cpuUs: processCpuUs(), redis: mastersCpu(probes) }
        }),
      ],
      concurrency: sizes.concurrency,
    })
    await waitUntil(
      "every job to complete",
      () => Eddy.succeeded(actor) - base >= sizes.processJobs,
      60_000 + sizes.processJobs * 5,
    )
    const at = now()
    const cpuUs = processCpuUs()
    const after = await mastersCpu(probes)
    await worker.stop()
    if (first === undefined) throw new Error("no job was picked up")
    return result(sizes.processJobs, at - first.at, cpuUs - first.cpuUs, await first.redis, after)
  } finally {
    await eddy.close()
    for (const probe of probes) probe.disconnect()
  }
}

parent.exitWithParent()
parent.onMessage((message) => {
  if (message.type === "exit") process.exit(0)
  if (message.type !== "run") return
  run(message.request as RunRequest).then(
    (measures) => parent.send({ type: "done", measures }),
    (error: unknown) =>
      parent.send({ type: "failed", error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  )
})
parent.send({ type: "ready", pid: process.pid })
