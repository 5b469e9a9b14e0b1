/**
 * The CLI's actor discovery on a Redis shared with other apps: 300,000 keys that are not eddy's,
 * a client whose calls are bounded at 100 ms. The walk over them takes longer than one call may,
 * so it must go in steps, each within the bound. Its own Redis, not the shared one.
 */
import { EmbeddedRedis, RedisClient, Settings } from "@eddy/core"
import { Effect, Layer, Redacted } from "effect"
import { Redis } from "ioredis"
import { describe, expect, it } from "vitest"
import * as Actors from "../src/Actors.js"

const foreignKeys = 300_000

describe("actor discovery", () => {
  it("walks a keyspace larger than one call's bound in bounded steps, and finds inboxes and dead letters", async () => {
    const found = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const server = yield* EmbeddedRedis.start({ ephemeral: true })
          const raw = new Redis(server.url)
          yield* Effect.addFinalizer(() => Effect.promise(() => raw.quit()))
          yield* Effect.promise(async () => {
            await raw.eval(
              "for i = 1, tonumber(ARGV[1]) do redis.call('SET', 'other-app:' .. i, 'x') end",
              0,
              String(foreignKeys),
            )
            await raw.xadd("shop:{p0}:inbox:send-mail:normal", "*", "j", "a")
            await raw.xadd("shop:{p0}:dead:resize-image", "*", "j", "b")
            await raw.xadd("shop:{p0}:events", "*", "v", "1")
            await raw.xadd("elsewhere:{p0}:inbox:not-ours:normal", "*", "j", "c")
          })
          const startedAt = Date.now()
          const actors = yield* Actors.discover.pipe(
            Effect.provide(
              Layer.merge(
                RedisClient.layer({ url: Redacted.make(server.url), timeout: "100 millis" }),
                Settings.layer({ prefix: "shop", partitions: 1 }),
              ),
            ),
          )
          return { actors, ms: Date.now() - startedAt }
        }),
      ),
    )
    expect(found.actors).toEqual(["resize-image", "send-mail"])
    // The walk itself outlasted the bound of a single call (which the old single call failed on).
    expect(found.ms).toBeGreaterThan(100)
  }, 60_000)
})
