import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import * as RateLimiter from "../src/RateLimiter.js"
import * as Settings from "../src/Settings.js"
import * as TestRedis from "./support/TestRedis.js"

const layer = () => Layer.merge(TestRedis.layer(), Settings.layer({ prefix: TestRedis.uniquePrefix() }))

describe("RateLimiter", () => {
  it.live("hands out `limit` permits per window and says how long until the next", () =>
    Effect.gen(function* () {
      const limit = { limit: 3, per: Duration.millis(400) }
      const waits = yield* Effect.forEach([1, 2, 3, 4], () => RateLimiter.tryAcquire("send-mail", limit))
      expect(waits.slice(0, 3).every(Duration.isZero)).toBe(true)
      const fourth = Duration.toMillis(waits[3] ?? Duration.zero)
      expect(fourth).toBeGreaterThan(0)
      expect(fourth).toBeLessThanOrEqual(400)
      // Another actor has its own window.
      expect(Duration.isZero(yield* RateLimiter.tryAcquire("other", limit))).toBe(true)
    }).pipe(Effect.provide(layer())),
  )

  it.live("acquire waits for a permit instead of failing", () =>
    Effect.gen(function* () {
      const limit = { limit: 2, per: Duration.millis(300) }
      const started = Date.now()
      yield* Effect.forEach([1, 2, 3], () => RateLimiter.acquire("thumbnail", limit), { concurrency: "unbounded" })
      expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    }).pipe(Effect.provide(layer())),
  )
})
