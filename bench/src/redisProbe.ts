/**
 * What the benchmark asks the Redis server itself: memory in use, the clients connected and
 * which of them belong to this process, its version; and FLUSHALL between runs (the server is
 * the benchmark's own, started for it in a temp directory).
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs"
import { Redis } from "ioredis"

/** A connection of the benchmark's own, named so that it is never counted as a system's. */
export const connect = (url: string, role: string): Redis =>
  new Redis(url, { connectionName: `bench:${role}`, maxRetriesPerRequest: null })

const infoField = async (redis: Redis, section: string, field: string): Promise<string> => {
  const text = await redis.info(section)
  const match = new RegExp(`^${field}:(.*)$`, "m").exec(text)
  if (match?.[1] === undefined) throw new Error(`INFO ${section} has no ${field}`)
  return match[1].trim()
}

/** Bytes the server's allocator holds (`used_memory`). */
export const usedMemory = async (redis: Redis): Promise<number> =>
  Number(await infoField(redis, "memory", "used_memory"))

export const version = (redis: Redis): Promise<string> => infoField(redis, "server", "redis_version")

/** Empties the server before a run; SYNC, so that freed memory is gone before the next reading. */
export const flush = async (redis: Redis): Promise<void> => {
  await redis.flushall("SYNC")
}

/** One line of CLIENT LIST. */
export interface Client {
  readonly id: string
  readonly name: string
  readonly port: number
}

export const clients = async (redis: Redis): Promise<Array<Client>> => {
  const text = (await redis.client("LIST")) as string
  return text
    .trim()
    .split("\n")
    .map((line) => {
      const fields = new Map(
        line.split(" ").map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
      )
      const addr = fields.get("addr") ?? ""
      return {
        id: fields.get("id") ?? "",
        name: fields.get("name") ?? "",
        port: Number(addr.slice(addr.lastIndexOf(":") + 1)),
      }
    })
}

/**
 * Local TCP ports of the sockets this process holds, from /proc (Linux): a client whose address
 * has one of these ports is a connection of this process, whatever it named itself.
 */
export const ownPorts = (): Set<number> => {
  const inodes = new Set<string>()
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))
      if (match?.[1] !== undefined) inodes.add(match[1])
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>()
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    let text = ""
    try {
      text = readFileSync(table, "utf8")
    } catch {
      continue
    }
    for (const line of text.trim().split("\n").slice(1)) {
      const columns = line.trim().split(/\s+/)
      const local = columns[1]
      const inode = columns[9]
      if (local !== undefined && inode !== undefined && inodes.has(inode))
        ports.add(Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16))
    }
  }
  return ports
}

/** This process's connections to the server, less the benchmark's own probes. */
export const connectionsOfThisProcess = async (probe: Redis): Promise<Array<Client>> => {
  const ports = ownPorts()
  return (await clients(probe)).filter((client) => ports.has(client.port) && !client.name.startsWith("bench:"))
}

/**
 * Memory by key pattern (every all-digit segment of a key, such as a BullMQ job id, becomes `*`):
 * where a system keeps its retained jobs. Exact sizes (`MEMORY USAGE … SAMPLES 0`), pipelined.
 */
export const memoryByPattern = async (redis: Redis): Promise<Record<string, number>> => {
  const keys: Array<string> = []
  let cursor = "0"
  do {
    const [next, batch] = await redis.scan(cursor, "COUNT", 1000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== "0")
  const sizes: Record<string, number> = {}
  for (let i = 0; i < keys.length; i += 1000) {
    const slice = keys.slice(i, i + 1000)
    const pipeline = redis.pipeline()
    for (const key of slice) pipeline.memory("USAGE", key, "SAMPLES", 0)
    const replies = (await pipeline.exec()) ?? []
    slice.forEach((key, j) => {
      const pattern = key
        .split(":")
        .map((part) => (/^\d+$/.test(part) ? "*" : part))
        .join(":")
      sizes[pattern] = (sizes[pattern] ?? 0) + Number(replies[j]?.[1] ?? 0)
    })
  }
  return Object.fromEntries(Object.entries(sizes).sort((a, b) => b[1] - a[1]))
}

/** CPU seconds the server has used (user + system), from INFO cpu. */
export const cpuSeconds = async (redis: Redis): Promise<number> =>
  Number(await infoField(redis, "cpu", "used_cpu_user")) + Number(await infoField(redis, "cpu", "used_cpu_sys"))
