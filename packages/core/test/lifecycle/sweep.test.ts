import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as Deliveries from "../../src/Deliveries.js"
import * as InboxSweep from "../../src/InboxSweep.js"
import * as ReadModel from "../../src/ReadModel.js"
import {
  actor,
  inbox,
  inboxKey,
  lastOf,
  pending,
  read,
  record,
  redis,
  submit,
  take,
  typesOf,
  withRedis,
} from "./support.js"

const sweepAll = (count = 100) =>
  Effect.gen(function* () {
    let cursor = "0"
    let requeued = 0
    do {
      const step = yield* InboxSweep.step({ partition: 0, actor, cursor, count })
      cursor = step.cursor
      requeued += step.requeued
    } while (cursor !== "0")
    return requeued
  })

describe("inbox sweep", () => {
  it.live("requeues a queued job whose inbox entry was deleted by hand, with its event", () =>
    Effect.gen(function* () {
      yield* submit("j1")
      yield* submit("j2")
      const key = yield* inboxKey()
      const lost = (yield* record("j1"))?.x ?? ""
      yield* redis((c) => c.xdel(key, lost))
      expect(yield* sweepAll()).toBe(1)
      const after = yield* record("j1")
      expect(after?.s).toBe("queued")
      expect(after?.x).not.toBe(lost)
      expect(yield* lastOf("j1", "requeued")).toMatchObject({ from: "lost" })
      expect(yield* typesOf("j2")).toEqual(["submitted"])
      // A worker reads it again and runs it to its end.
      const delivery = (yield* read("c1")).find((d) => d.jobId === "j1")
      expect(delivery?.entryId).toBe(after?.x)
      if (delivery === undefined) return
      yield* Deliveries.start(delivery, "c1")
      yield* Deliveries.complete(delivery, "c1", "1")
      expect((yield* record("j1"))?.s).toBe("succeeded")
      // Nothing is stranded now: a second sweep changes nothing.
      expect(yield* sweepAll()).toBe(0)
    }).pipe(withRedis()),
  )

  it.live("requeues a running job once its deleted entry has left the pending list, not before", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      const key = yield* inboxKey()
      yield* redis((c) => c.xdel(key, delivery.entryId))
      // Still pending: its worker may finish it, so the sweep leaves it alone.
      expect(yield* sweepAll()).toBe(0)
      expect((yield* record("j1"))?.s).toBe("active")
      // The worker dies; the reclaimer drops the deleted id from the pending list.
      const reclaimed = yield* Deliveries.reclaim(inbox, "c2", {
        minIdle: Duration.zero,
        count: 10,
        maxDeliveries: 5,
        cursor: "0-0",
      })
      expect(reclaimed.deleted).toBe(1)
      expect(yield* pending()).toEqual([])
      expect((yield* record("j1"))?.s).toBe("active")
      // Stranded now: the sweep requeues it, attempt not counted.
      expect(yield* sweepAll()).toBe(1)
      expect(yield* record("j1")).toMatchObject({ s: "queued", n: 1 })
      // The read model moved it from active to queued in the same call.
      const counts = (yield* ReadModel.counts([actor])).get(actor)
      expect([counts?.active, counts?.queued]).toEqual([0, 1])
      expect((yield* read("c2")).map((d) => d.jobId)).toEqual(["j1"])
    }).pipe(withRedis()),
  )

  it.live("leaves other actors' jobs, delayed jobs and finished jobs alone", () =>
    Effect.gen(function* () {
      yield* submit("other", { actor: "someone-else" })
      yield* submit("later", { delayMs: 60_000 })
      const done = yield* take("done", "c1")
      yield* Deliveries.complete(done, "c1", "1")
      const otherKey = yield* inboxKey({ ...inbox, actor: "someone-else" })
      const otherEntry = (yield* record("other"))?.x ?? ""
      yield* redis((c) => c.xdel(otherKey, otherEntry))
      expect(yield* sweepAll()).toBe(0)
      expect(yield* typesOf("other")).toEqual(["submitted"])
      expect((yield* record("later"))?.s).toBe("delayed")
    }).pipe(withRedis()),
  )

  it.live("is bounded per step: a scan of many records takes several steps and finds every stranded job", () =>
    Effect.gen(function* () {
      const key = yield* inboxKey()
      for (let i = 0; i < 300; i++) yield* submit(`j${i}`)
      const stranded = ["j7", "j150", "j299"]
      for (const jobId of stranded) {
        const entry = (yield* record(jobId))?.x ?? ""
        yield* redis((c) => c.xdel(key, entry))
      }
      let cursor = "0"
      let steps = 0
      let requeued = 0
      do {
        const step = yield* InboxSweep.step({ partition: 0, actor, cursor, count: 20 })
        cursor = step.cursor
        requeued += step.requeued
        steps++
      } while (cursor !== "0")
      expect(steps).toBeGreaterThan(5)
      expect(requeued).toBe(3)
      for (const jobId of stranded) expect(yield* lastOf(jobId, "requeued")).toMatchObject({ from: "lost" })
    }).pipe(withRedis()),
  )

  it.live("the sweeper goes on from where its last pass stopped", () =>
    Effect.gen(function* () {
      const key = yield* inboxKey()
      for (let i = 0; i < 200; i++) yield* submit(`j${i}`)
      for (const jobId of ["j3", "j100", "j197"]) {
        const entry = (yield* record(jobId))?.x ?? ""
        yield* redis((c) => c.xdel(key, entry))
      }
      const sweeper = InboxSweep.sweeper([{ partition: 0, actor }], { count: 10, steps: 2 })
      let requeued = 0
      for (let pass = 0; pass < 30 && requeued < 3; pass++) requeued += yield* sweeper
      expect(requeued).toBe(3)
    }).pipe(withRedis()),
  )
})
