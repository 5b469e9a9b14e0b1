/**
 * The reader's wake-up: a notification wakes the waiting reader at once, or is kept (one, however
 * many came) for its next wait; a wait without one ends after its time; an interrupted wait leaves
 * nothing behind. Pure scheduling: nothing here lives in Redis.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as Wake from "../src/internal/Wake.js"

const elapsed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const started = Date.now()
    yield* effect
    return Date.now() - started
  })

describe("Wake", () => {
  it.live("a wait ends after its time when nothing notifies", () =>
    Effect.gen(function* () {
      const ms = yield* elapsed(Wake.make().wait(50))
      expect(ms).toBeGreaterThanOrEqual(45)
      expect(ms).toBeLessThan(1_000)
    }),
  )

  it.live("a notification during a wait ends it at once", () =>
    Effect.gen(function* () {
      const wake = Wake.make()
      setTimeout(() => wake.notify(), 20)
      const ms = yield* elapsed(wake.wait(5_000))
      expect(ms).toBeLessThan(1_000)
    }),
  )

  it.live("notifications with nobody waiting are kept as one: the next wait ends at once, the one after waits", () =>
    Effect.gen(function* () {
      const wake = Wake.make()
      wake.notify()
      wake.notify()
      wake.notify()
      expect(yield* elapsed(wake.wait(5_000))).toBeLessThan(1_000)
      expect(yield* elapsed(wake.wait(50))).toBeGreaterThanOrEqual(45)
    }),
  )

  it.live("an interrupted wait leaves no waiter: a later notification is kept for the next wait", () =>
    Effect.gen(function* () {
      const wake = Wake.make()
      const fiber = yield* Effect.fork(wake.wait(5_000))
      yield* Effect.sleep("10 millis")
      const ms = yield* elapsed(Fiber.interrupt(fiber))
      expect(ms).toBeLessThan(1_000)
      wake.notify()
      expect(yield* elapsed(wake.wait(5_000))).toBeLessThan(1_000)
    }),
  )
})
