/**
 * The scale scenario (`--only scale`): eddy's enqueue and process workloads, 12 partitions, on
 * one server, on a Redis Cluster whose slots all sit on one master, and on the same cluster with
 * its slots spread over 3 masters. eddy only (BullMQ has no cluster mode that spreads one queue).
 * The clusters come from the tests' own starter (`test/support/TestCluster.ts`), without replicas
 * (they would only take CPU from the masters here). Each workload runs in a fresh runner process
 * (`scaleRunner.ts`); the servers are flushed in between. See docs/benchmarks.md, "Scale".
 */
import { execFile } from "node:child_process"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { promisify } from "node:util"
import { EmbeddedRedis } from "@eddy/core"
import { Effect, Exit, Scope } from "effect"
import { Redis } from "ioredis"
import * as Children from "./children.js"
import type { Sizes } from "./options.js"
import type { RunRequest, RunResult } from "./scaleRunner.js"

const exec = promisify(execFile)

/** The part of `TestCluster` the scenario uses (loaded at run time: it lives outside bench/src). */
interface TestClusterModule {
  readonly startAsync: (options: {
    readonly masters?: number
    readonly replicasPerMaster?: number
    readonly nodeTimeout?: string
  }) => Promise<{
    readonly seeds: string
    readonly nodes: ReadonlyArray<{ readonly port: number; readonly id: string; readonly role: string }>
    readonly waitHealthy: (timeout?: string) => Promise<void>
    readonly stop: () => Promise<void>
  }>
}

const loadTestCluster = async (): Promise<TestClusterModule> =>
  (await import(pathToFileURL(join(Children.root, "test", "support", "TestCluster.ts")).href)) as TestClusterModule

/** One topology's results. */
export interface ScaleRow {
  readonly topology: string
  readonly masters: number
  readonly partitions: number
  readonly enqueue: RunResult
  readonly process: RunResult
}

/** A running topology: how the runner reaches it, and how to flush and stop it. */
interface Target {
  readonly name: string
  readonly masters: number
  readonly request: Omit<RunRequest, "workload" | "sizes">
  readonly stop: () => Promise<void>
}

const partitions = 12

const flushAll = async (ports: ReadonlyArray<number>) => {
  for (const port of ports) {
    const redis = new Redis({ port, host: "127.0.0.1", connectionName: "bench:admin" })
    try {
      await redis.flushall("SYNC")
    } finally {
      redis.disconnect()
    }
  }
}

const oneServer = async (): Promise<Target> => {
  const scope = Effect.runSync(Scope.make())
  const server = await Effect.runPromise(EmbeddedRedis.start({ ephemeral: true }).pipe(Scope.extend(scope)))
  return {
    name: "one server",
    masters: 1,
    request: { url: server.url, partitions, masterPorts: [server.port] },
    stop: () => Effect.runPromise(Scope.close(scope, Exit.void)),
  }
}

/**
 * A 3-master cluster; with `allOnOne`, every slot is moved to its first master (redis-cli
 * refuses to create a cluster of fewer than 3 masters), so the two others hold nothing.
 */
const cluster = async (allOnOne: boolean): Promise<Target> => {
  const TestCluster = await loadTestCluster()
  const started = await TestCluster.startAsync({ masters: 3, replicasPerMaster: 0, nodeTimeout: "15 seconds" })
  const [first, ...others] = started.nodes
  if (first === undefined) throw new Error("the cluster has no node")
  if (allOnOne) {
    const ask = async (...args: ReadonlyArray<string>) =>
      (await exec("redis-cli", ["-p", String(first.port), ...args], { timeout: 10_000 })).stdout
    // A master that gives away its last slot would otherwise turn into a replica of the taker.
    for (const node of started.nodes)
      await exec("redis-cli", ["-p", String(node.port), "CONFIG", "SET", "cluster-allow-replica-migration", "no"])
    // One source at a time, each with exactly the slots it holds (CLUSTER NODES: ranges from field 9 on).
    for (const node of others) {
      const line = (await ask("CLUSTER", "NODES")).split("\n").find((entry) => entry.startsWith(node.id)) ?? ""
      const slots = line
        .trim()
        .split(" ")
        .slice(8)
        .reduce((count, range) => {
          const [from = 0, to] = range.split("-").map(Number)
          return count + (to === undefined ? 1 : to - from + 1)
        }, 0)
      if (slots === 0) continue
      await exec(
        "redis-cli",
        [
          "--cluster",
          "reshard",
          `127.0.0.1:${first.port}`,
          "--cluster-from",
          node.id,
          "--cluster-to",
          first.id,
          "--cluster-slots",
          String(slots),
          "--cluster-yes",
        ],
        { timeout: 300_000, maxBuffer: 64 * 1024 * 1024 },
      )
      await started.waitHealthy("60 seconds")
    }
  }
  return {
    name: allOnOne ? "cluster, all slots on 1 master" : "cluster, 3 masters",
    masters: allOnOne ? 1 : 3,
    request: {
      url: "",
      seeds: started.seeds,
      partitions,
      masterPorts: allOnOne ? [first.port] : started.nodes.map((node) => node.port),
    },
    stop: started.stop,
  }
}

/** One workload in a fresh runner. */
const runOnce = async (target: Target, workload: RunRequest["workload"], sizes: Sizes): Promise<RunResult> => {
  const child = Children.start("scaleRunner.ts", [])
  try {
    await child.next((message) => message.type === "ready", 120_000)
    child.send({ type: "run", request: { ...target.request, workload, sizes } satisfies RunRequest })
    const answer = await child.next((message) => message.type === "done" || message.type === "failed", 30 * 60_000)
    if (answer.type === "failed") throw new Error(`scale ${target.name} ${workload}: ${String(answer.error)}`)
    return answer.measures as RunResult
  } finally {
    child.send({ type: "exit" })
    const timer = setTimeout(() => child.process.kill("SIGKILL"), 15_000)
    await child.exited
    clearTimeout(timer)
  }
}

/** Runs every topology, one after the other (only one is up at a time). */
export const run = async (sizes: Sizes, progress: (line: string) => void): Promise<ReadonlyArray<ScaleRow>> => {
  const rows: Array<ScaleRow> = []
  for (const start of [oneServer, () => cluster(true), () => cluster(false)]) {
    const target = await start()
    try {
      progress(`scale: ${target.name} (${partitions} partitions): enqueue …`)
      const enqueue = await runOnce(target, "enqueue", sizes)
      await flushAll(target.request.masterPorts)
      progress(`scale: ${target.name}: enqueue ${enqueue.rate.toFixed(0)} jobs/s; process …`)
      const processing = await runOnce(target, "process", sizes)
      progress(`scale: ${target.name}: process ${processing.rate.toFixed(0)} jobs/s`)
      rows.push({ topology: target.name, masters: target.masters, partitions, enqueue, process: processing })
    } finally {
      await target.stop()
    }
  }
  return rows
}

const cell = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : "—")

/** The scenario's table, in Markdown. */
export const table = (rows: ReadonlyArray<ScaleRow>, sizes: Sizes): string =>
  [
    `Scale: ${sizes.enqueueJobs.toLocaleString("en")} jobs enqueued in batches of ${sizes.batch}; ` +
      `${sizes.processJobs.toLocaleString("en")} no-op jobs processed by one worker (concurrency ${sizes.concurrency}); ` +
      `${partitions} partitions`,
    "",
    "| topology | enqueue jobs/s | producer µs/job | redis µs/job (all masters) | process jobs/s | worker µs/job | redis µs/job (all masters) | busiest master's share |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map(
      (row) =>
        `| ${row.topology} | ${cell(row.enqueue.rate)} | ${cell(row.enqueue.processCpuPerJob, 1)} | ${cell(row.enqueue.redisCpuPerJob, 1)} | ` +
        `${cell(row.process.rate)} | ${cell(row.process.processCpuPerJob, 1)} | ${cell(row.process.redisCpuPerJob, 1)} | ` +
        `${cell(row.process.busiestShare * 100)} % |`,
    ),
  ].join("\n")
