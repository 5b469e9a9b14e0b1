/**
 * The actors a deployment has, discovered from Redis (their inboxes and dead-letter streams),
 * so operator commands work without the contract modules.
 */
import { RedisClient, Settings } from "@eddy/core"
import { Effect } from "effect"

/** Keys one SCAN step asks each master to look at. */
const scanCount = 1000

/**
 * Every actor with an inbox or dead letters, sorted. SCAN walks one server's keys: on a cluster,
 * each master's (a replica holds copies only). One step per master per call, each call within the
 * client's bound, rather than one call for the whole walk: a Redis shared with other apps may
 * hold millions of keys, whose walk takes longer than any one call may.
 */
export const discover = Effect.gen(function* () {
  const { keyspace } = yield* Settings.Settings
  const redis = yield* RedisClient.RedisClient
  const pattern = new RegExp(`^${keyspace.prefix.replace(/[.]/g, "\\.")}:\\{p\\d+\\}:(?:inbox|dead):([a-z0-9-]+)`)
  const found = new Set<string>()
  // Each master's next cursor; "0" once its walk is done. A master first met later (a failover)
  // starts its own walk.
  const cursors = new Map<string, string>()
  let walking = true
  while (walking) {
    const going = yield* redis.onEachMaster(async (node) => {
      const name = `${node.options.host}:${node.options.port}`
      const cursor = cursors.get(name)
      if (cursor === "0") return false
      const [next, keys] = await node.scan(cursor ?? "0", "MATCH", `${keyspace.prefix}:{p*}:*`, "COUNT", scanCount)
      cursors.set(name, next)
      for (const key of keys) {
        const actor = pattern.exec(key)?.[1]
        if (actor !== undefined) found.add(actor)
      }
      return next !== "0"
    })
    walking = going.some((more) => more)
  }
  return [...found].sort()
})
