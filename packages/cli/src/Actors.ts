/**
 * The actors a deployment has, discovered from Redis (their inboxes and dead-letter streams),
 * so operator commands work without the contract modules.
 */
import { RedisClient, Settings } from "@eddy/core"
import { Effect } from "effect"

/** Every actor with an inbox or dead letters, sorted. */
export const discover = Effect.gen(function* () {
  const { keyspace } = yield* Settings.Settings
  const redis = yield* RedisClient.RedisClient
  const pattern = new RegExp(`^${keyspace.prefix.replace(/[.]/g, "\\.")}:\\{p\\d+\\}:(?:inbox|dead):([a-z0-9-]+)`)
  // SCAN walks one server's keys: on a cluster, each master's (a replica holds copies only).
  const perNode = yield* redis.onEachMaster(async (node) => {
    const found: Array<string> = []
    let cursor = "0"
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", `${keyspace.prefix}:{p*}:*`, "COUNT", 1000)
      cursor = next
      for (const key of keys) {
        const actor = pattern.exec(key)?.[1]
        if (actor !== undefined) found.push(actor)
      }
    } while (cursor !== "0")
    return found
  })
  return [...new Set(perNode.flat())].sort()
})
