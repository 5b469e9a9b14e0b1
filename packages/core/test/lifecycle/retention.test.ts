import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as EventRetention from "../../src/EventRetention.js"
import * as JobEvent from "../../src/JobEvent.js"
import * as JobStore from "../../src/JobStore.js"
import { actor, keys, redis, withRedis, xlen } from "./support.js"

/** `count` jobs' `submitted` events, appended now. */
const appendEvents = (count: number, from = 0) =>
  JobStore.submitMany(
    Array.from({ length: count }, (_, i) => ({
      jobId: `j${from + i}`,
      actor,
      lane: "normal" as const,
      input: "1",
      maxAttempts: 1,
      delayMs: 0,
    })),
  )

describe("event retention", () => {
  it.live("trims events older than the retention, keeping the recent ones", () =>
    Effect.gen(function* () {
      const p = yield* keys()
      yield* appendEvents(1_000)
      yield* Effect.sleep("300 millis")
      yield* appendEvents(50, 1_000)
      const trimmed = yield* EventRetention.trim
      // `~` trims whole stream nodes only: most of the old events go, every recent one stays.
      expect(trimmed).toBeGreaterThan(800)
      const left = yield* redis((c) => c.xrange(p.events, "-", "+"))
      expect(left.length).toBe(1_050 - trimmed)
      const jobs = new Set(left.map(([, fields]) => JobEvent.jobIdOf(fields)))
      for (let i = 1_000; i < 1_050; i++) expect(jobs.has(`j${i}`)).toBe(true)
    }).pipe(withRedis({ eventsRetention: Duration.millis(200) })),
  )

  it.live("keeps what a consumer group has not read yet, and what it holds pending", () =>
    Effect.gen(function* () {
      const p = yield* keys()
      yield* appendEvents(1_000)
      // A reader that has not read anything yet.
      yield* redis((c) => c.xgroup("CREATE", p.events, "slow-reader", "0"))
      yield* Effect.sleep("300 millis")
      expect(yield* EventRetention.trim).toBe(0)
      expect(yield* xlen(p.events)).toBe(1_000)
      // It reads everything but acknowledges nothing: still held.
      yield* redis((c) => c.xreadgroup("GROUP", "slow-reader", "r1", "COUNT", 2_000, "STREAMS", p.events, ">"))
      expect(yield* EventRetention.trim).toBe(0)
      // Acknowledged, the old events may go.
      const ids = (yield* redis((c) => c.xrange(p.events, "-", "+"))).map(([id]) => id)
      yield* redis((c) => c.xack(p.events, "slow-reader", ...ids))
      expect(yield* EventRetention.trim).toBeGreaterThan(800)
    }).pipe(withRedis({ eventsRetention: Duration.millis(200) })),
  )

  it.live("trims nothing within the retention", () =>
    Effect.gen(function* () {
      const p = yield* keys()
      yield* appendEvents(1_000)
      expect(yield* EventRetention.trim).toBe(0)
      expect(yield* xlen(p.events)).toBe(1_000)
    }).pipe(withRedis()),
  )
})

describe("EventRetention.trimPoint", () => {
  it("is the earliest of the cutoff, each group's last-delivered id and its lowest pending id", () => {
    expect(EventRetention.trimPoint(5_000, [])).toBe("5000-0")
    expect(EventRetention.trimPoint(5_000, [{ lastDelivered: "9000-0", lowestPending: undefined }])).toBe("5000-0")
    expect(EventRetention.trimPoint(5_000, [{ lastDelivered: "4000-3", lowestPending: undefined }])).toBe("4000-3")
    expect(
      EventRetention.trimPoint(5_000, [
        { lastDelivered: "9000-0", lowestPending: "3000-1" },
        { lastDelivered: "4500-0", lowestPending: undefined },
      ]),
    ).toBe("3000-1")
    expect(EventRetention.trimPoint(5_000, [{ lastDelivered: "0-0", lowestPending: undefined }])).toBe("0-0")
  })
})
