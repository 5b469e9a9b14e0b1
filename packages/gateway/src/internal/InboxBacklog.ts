/**
 * The part of an inbox no worker has read yet: the entries after the worker group's
 * `last-delivered-id` (before a group exists, the whole stream). Entries up to it are delivered:
 * running, or held by a worker about to start them.
 */
import { RedisClient, StreamKeys } from "@eddy/core"
import { Effect } from "effect"

/** The XRANGE start of an inbox's undelivered entries (`-` or an exclusive id). */
export const undeliveredStart = (inbox: string) =>
  Effect.gen(function* () {
    const redis = yield* RedisClient.RedisClient
    const groups = (yield* redis
      .run((c) => c.xinfo("GROUPS", inbox))
      // A missing inbox (nothing submitted yet) has no groups.
      .pipe(Effect.catchTag("RedisCommandFailed", () => Effect.succeed([])))) as Array<Array<string | number>>
    const group = groups.find((fields) => fields[fields.indexOf("name") + 1] === StreamKeys.workerGroup)
    const lastDelivered = group === undefined ? "0-0" : String(group[group.indexOf("last-delivered-id") + 1])
    return lastDelivered === "0-0" ? "-" : `(${lastDelivered}`
  })

/** Up to `count` undelivered entries of an inbox, oldest first. */
export const undelivered = (inbox: string, count: number) =>
  Effect.gen(function* () {
    const redis = yield* RedisClient.RedisClient
    const start = yield* undeliveredStart(inbox)
    return yield* redis.run((c) => c.xrange(inbox, start, "+", "COUNT", count))
  })
