import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option, Redacted } from "effect"
import { Redis } from "ioredis"
import * as EmbeddedRedis from "../src/EmbeddedRedis.js"
import * as RedisClient from "../src/RedisClient.js"
import * as StartupWait from "../src/StartupWait.js"
import { freePort } from "./support/FreePort.js"
import * as TestRedis from "./support/TestRedis.js"

/** `untilReachable` with a client on `url`. */
const waitFor = (url: string, timeout: Option.Option<Duration.Duration>) =>
  Effect.flatMap(RedisClient.make({ url: Redacted.make(url), timeout: "500 millis" }), (client) =>
    StartupWait.untilReachable(timeout).pipe(Effect.provideService(RedisClient.RedisClient, client)),
  )

describe("StartupWait", () => {
  it.scopedLive("passes at once when Redis answers", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(waitFor(TestRedis.url(), Option.some(Duration.seconds(5))))
      expect(exit._tag).toBe("Success")
    }),
  )

  it.scopedLive("fails past its timeout when nothing listens, naming EDDY_STARTUP_TIMEOUT", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const error = yield* Effect.flip(waitFor(`redis://127.0.0.1:${port}`, Option.some(Duration.seconds(1))))
      expect(error._tag).toBe("RedisUnavailable")
      expect(error.message).toMatch(/was not reachable within 1s \(EDDY_STARTUP_TIMEOUT\): .*ECONNREFUSED/)
    }),
  )

  it.scopedLive("fails at once on credentials Redis refuses, naming EDDY_REDIS_URL", () =>
    Effect.gen(function* () {
      const server = yield* EmbeddedRedis.start({ ephemeral: true })
      yield* Effect.promise(async () => {
        const admin = new Redis(server.url)
        await admin.config("SET", "requirepass", "right-one")
        admin.disconnect()
      })
      // No timeout: only the refusal can end the wait.
      const error = yield* Effect.flip(waitFor(server.url.replace("redis://", "redis://:wrong-one@"), Option.none()))
      expect(error._tag).toBe("RedisCommandFailed")
      expect(error.message).toMatch(/refused the credentials in EDDY_REDIS_URL: WRONGPASS/)
      expect(error.message).not.toContain("wrong-one")
    }),
  )
})
