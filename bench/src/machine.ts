/** The machine a report was made on: enough to judge whether two reports are comparable. */
import { readdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { availableParallelism, release, totalmem, type } from "node:os"

export interface Machine {
  readonly cpus: number
  readonly cpuModel: string
  readonly memoryGiB: number
  readonly os: string
  readonly node: string
  readonly redis: string
  readonly bullmq: string
}

const cpuModel = (): string => {
  try {
    return /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown"
  } catch {
    return "unknown"
  }
}

const bullmqVersion = (): string => {
  try {
    return (createRequire(import.meta.url)("bullmq/package.json") as { version: string }).version
  } catch {
    return "unknown"
  }
}

export const describe = (redisVersion: string): Machine => ({
  cpus: availableParallelism(),
  cpuModel: cpuModel(),
  memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
  os: `${type()} ${release()}`,
  node: process.version,
  redis: redisVersion,
  bullmq: bullmqVersion(),
})

/**
 * The redis-server processes running on this machine, but for `except` (the bench's own). Each
 * one left over from earlier runs takes a share of the two cores: a latency run with 23 of them
 * up read 2.36× where the runs around it read 1.73× (docs/benchmarks.md, session 10).
 */
export const otherRedisServers = (except: number): ReadonlyArray<number> => {
  let entries: Array<string>
  try {
    entries = readdirSync("/proc")
  } catch {
    return []
  }
  return entries.flatMap((entry) => {
    const pid = Number(entry)
    if (!Number.isInteger(pid) || pid === except) return []
    try {
      return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "redis-server" ? [pid] : []
    } catch {
      return []
    }
  })
}
