import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Deliveries from "../../src/Deliveries.js"
import {
  actor,
  inbox,
  inboxKey,
  keys,
  lane,
  lastOf,
  record,
  redis,
  submit,
  typesOf,
  withRedis,
  xlen,
} from "./support.js"

describe("promote", () => {
  it.live("moves only due jobs and reports when the next one is due", () =>
    Effect.gen(function* () {
      yield* submit("soon", { delayMs: 300 })
      yield* submit("later", { delayMs: 5_000 })
      const p = yield* keys()
      const early = yield* Deliveries.promote(inbox)
      expect(early.moved).toBe(0)
      expect(early.nextDueInMs).toBeGreaterThan(0)
      expect(early.nextDueInMs).toBeLessThanOrEqual(300)
      expect((yield* record("soon"))?.s).toBe("delayed")
      expect(yield* xlen(yield* inboxKey())).toBe(0)

      yield* Effect.sleep("350 millis")
      const due = yield* Deliveries.promote(inbox)
      expect(due.moved).toBe(1)
      expect(due.nextDueInMs).toBeGreaterThan(4_000)
      expect(due.nextDueInMs).toBeLessThanOrEqual(5_000)
      const soon = yield* record("soon")
      expect(soon).toMatchObject({ s: "queued", n: 1 })
      expect(soon?.due).toBeUndefined()
      const entries = yield* redis((c) => c.xrange(p.inbox(actor, lane), "-", "+"))
      expect(entries).toEqual([[soon?.x, ["j", "soon"]]])
      expect(yield* redis((c) => c.zrange(p.delayed(actor, lane), 0, -1))).toEqual(["later"])
      expect((yield* record("later"))?.s).toBe("delayed")
      expect(yield* lastOf("soon", "requeued")).toMatchObject({ from: "delayed", attempt: 1 })
      expect(yield* typesOf("later")).toEqual(["submitted"])
    }).pipe(withRedis()),
  )

  it.live("reports no next job when the delayed set is empty", () =>
    Effect.gen(function* () {
      expect(yield* Deliveries.promote(inbox)).toEqual({ moved: 0, nextDueInMs: undefined })
    }).pipe(withRedis()),
  )

  it.live("moves at most the limit and says more are due", () =>
    Effect.gen(function* () {
      for (let i = 0; i < 5; i++) yield* submit(`j${i}`, { delayMs: 1 })
      yield* Effect.sleep("20 millis")
      expect(yield* Deliveries.promote(inbox, 2)).toEqual({ moved: 2, nextDueInMs: 0 })
      expect(yield* Deliveries.promote(inbox, 10)).toEqual({ moved: 3, nextDueInMs: undefined })
    }).pipe(withRedis()),
  )

  it.live("one call that moves more jobs than one HSET writes saves every record", () =>
    Effect.gen(function* () {
      const count = 4_200
      yield* Effect.forEach(
        Array.from({ length: count }, (_, i) => `bulk-${i}`),
        (id) => submit(id, { delayMs: 1 }),
        {
          concurrency: 50,
          discard: true,
        },
      )
      yield* Effect.sleep("5 millis")
      expect(yield* Deliveries.promote(inbox, count)).toEqual({ moved: count, nextDueInMs: undefined })
      expect(yield* xlen(yield* inboxKey())).toBe(count)
      for (const id of ["bulk-0", "bulk-999", "bulk-1000", "bulk-4199"])
        expect(yield* record(id)).toMatchObject({ s: "queued" })
    }).pipe(withRedis()),
  )

  it.live("two promoters at once move each job once", () =>
    Effect.gen(function* () {
      const ids = Array.from({ length: 30 }, (_, i) => `j${i}`)
      for (const id of ids) yield* submit(id, { delayMs: 30 })
      yield* Effect.sleep("60 millis")
      const results = yield* Effect.all(
        Array.from({ length: 4 }, () => Deliveries.promote(inbox, 7)),
        { concurrency: "unbounded" },
      )
      const rest = yield* Deliveries.promote(inbox)
      expect(results.reduce((sum, r) => sum + r.moved, 0) + rest.moved).toBe(ids.length)
      expect(yield* xlen(yield* inboxKey())).toBe(ids.length)
      for (const id of ids) {
        const types = yield* typesOf(id)
        expect(types).toEqual(["submitted", "requeued"])
      }
    }).pipe(withRedis()),
  )

  it.live("skips due ids whose job is no longer waiting", () =>
    Effect.gen(function* () {
      yield* submit("j1", { delayMs: 1 })
      const p = yield* keys()
      // An id left behind in the delayed set (its job was removed) is dropped, not queued.
      yield* redis((c) => c.hdel(p.jobs, "j1"))
      yield* Effect.sleep("10 millis")
      expect(yield* Deliveries.promote(inbox)).toEqual({ moved: 0, nextDueInMs: undefined })
      expect(yield* redis((c) => c.zcard(p.delayed(actor, lane)))).toBe(0)
      expect(yield* xlen(yield* inboxKey())).toBe(0)
    }).pipe(withRedis()),
  )
})
