/** The machine a report was made on: enough to judge whether two reports are comparable. */
import { readFileSync } from "node:fs"
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
