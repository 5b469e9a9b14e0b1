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
  const actors = new Set<string>()
  const pattern = new RegExp(`^${keyspace.prefix.replace(/[.]/g, "\\.")}:\\{p\\d+\\}:(?:inbox|dead):([a-z0-9-]+)`)
  let cursor = "0"
  do {
    const [next, keys] = yield* redis.run((c) => c.scan(cursor, "MATCH", `${keyspace.prefix}:{p*}:*`, "COUNT", 1000))
    cursor = next
    for (const key of keys) {
      const actor = pattern.exec(key)?.[1]
      if (actor !== undefined) actors.add(actor)
    }
  } while (cursor !== "0")
  return [...actors].sort()
})
