import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as Deliveries from "../../src/Deliveries.js"
import * as JobStore from "../../src/JobStore.js"
import {
  actor,
  eventsOf,
  handEntry,
  inbox,
  inboxKey,
  keys,
  lastOf,
  listedAt,
  pending,
  read,
  record,
  redis,
  submit,
  take,
  typesOf,
  withRedis,
  xlen,
} from "./support.js"

const reclaim = (consumer: string, options: Partial<Parameters<typeof Deliveries.reclaim>[2]> = {}) =>
  Deliveries.reclaim(inbox, consumer, { minIdle: Duration.zero, count: 100, maxDeliveries: 5, ...options })

describe("reclaim", () => {
  it.live("takes over idle deliveries and appends stalled", () =>
    Effect.gen(function* () {
      const d1 = yield* take("j1", "c1")
      yield* submit("j2")
      const [d2] = yield* read("c1")
      yield* Effect.sleep("60 millis")
      const result = yield* reclaim("c2", { minIdle: Duration.millis(40) })
      expect(result.deliveries).toEqual([d1, d2])
      expect(result).toMatchObject({ deadLettered: 0, deleted: 0, cancelled: 0 })
      expect((yield* pending()).map((p) => [p.consumer, p.deliveries])).toEqual([
        ["c2", 2],
        ["c2", 2],
      ])
      expect(yield* lastOf("j1", "stalled")).toMatchObject({ deliveries: 2, worker: "c2" })
      expect(yield* lastOf("j2", "stalled")).toMatchObject({ deliveries: 2, worker: "c2" })
      // A stall changes no state: the started job is still running, the unstarted one queued.
      expect((yield* record("j1"))?.s).toBe("active")
      expect((yield* record("j2"))?.s).toBe("queued")
      // The new holder runs them.
      yield* Deliveries.start(d1, "c2")
      yield* Deliveries.complete(d1, "c2", "1")
      expect((yield* record("j1"))?.s).toBe("succeeded")
    }).pipe(withRedis()),
  )

  it.live("leaves deliveries that are not idle long enough", () =>
    Effect.gen(function* () {
      yield* take("j1", "c1")
      const result = yield* reclaim("c2", { minIdle: Duration.seconds(10) })
      expect(result.deliveries).toEqual([])
      expect((yield* pending()).map((p) => p.consumer)).toEqual(["c1"])
      expect(yield* typesOf("j1")).toEqual(["submitted", "started"])
    }).pipe(withRedis()),
  )

  it.live("dead-letters a job delivered more than maxDeliveries times", () =>
    Effect.gen(function* () {
      yield* take("j1", "c1")
      // Second delivery: within the limit of 2.
      expect((yield* reclaim("c2", { maxDeliveries: 2 })).deliveries.map((d) => d.jobId)).toEqual(["j1"])
      // Third delivery: past it.
      const result = yield* reclaim("c3", { maxDeliveries: 2 })
      expect(result).toMatchObject({ deliveries: [], deadLettered: 1 })
      const job = yield* record("j1")
      expect(job).toMatchObject({ s: "deadLettered", r: "stalled" })
      expect(yield* xlen(yield* inboxKey())).toBe(0)
      expect(yield* pending()).toEqual([])
      const p = yield* keys()
      expect(yield* listedAt(p.list(actor, "deadLettered"), "j1")).toBe(job?.ft)
      const letters = yield* redis((c) => c.xrange(p.dead(actor), "-", "+"))
      expect(letters.map(([, fields]) => fields.slice(0, 4))).toEqual([["j", "j1", "reason", "stalled"]])
      expect(yield* typesOf("j1")).toEqual(["submitted", "started", "stalled", "stalled", "deadLettered"])
      expect(yield* lastOf("j1", "deadLettered")).toMatchObject({ reason: "stalled", worker: "c3" })
      expect(yield* lastOf("j1", "stalled")).toMatchObject({ deliveries: 3 })
    }).pipe(withRedis()),
  )

  it.live("cleans entries of finished or missing jobs", () =>
    Effect.gen(function* () {
      const done = yield* take("done", "c1")
      yield* Deliveries.complete(done, "c1", "1")
      yield* handEntry(["j", "done", "n", "1"])
      yield* handEntry(["j", "ghost", "n", "1"])
      yield* submit("gone")
      const p = yield* keys()
      yield* redis((c) => c.hdel(p.jobs, "gone"))
      expect(yield* read("c1")).toHaveLength(3)
      const before = (yield* eventsOf("done")).length
      const result = yield* reclaim("c2")
      expect(result.deliveries).toEqual([])
      expect(yield* xlen(yield* inboxKey())).toBe(0)
      expect(yield* pending()).toEqual([])
      expect(yield* eventsOf("done")).toHaveLength(before)
      expect(yield* eventsOf("ghost")).toEqual([])
    }).pipe(withRedis()),
  )

  it.live("reports an entry deleted while pending and drops it from the pending list", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      yield* take("j2", "c1")
      const key = yield* inboxKey()
      yield* redis((c) => c.xdel(key, delivery.entryId))
      const result = yield* reclaim("c2")
      expect(result.deleted).toBe(1)
      expect(result.deliveries.map((d) => d.jobId)).toEqual(["j2"])
      expect((yield* pending()).map((p) => p.entryId)).not.toContain(delivery.entryId)
      expect(yield* pending()).toHaveLength(1)
    }).pipe(withRedis()),
  )

  it.live("claims no more than count, and goes on from the cursor", () =>
    Effect.gen(function* () {
      for (let i = 0; i < 5; i++) yield* submit(`j${i}`)
      expect(yield* read("c1")).toHaveLength(5)
      const first = yield* reclaim("c2", { count: 2 })
      expect(first.deliveries.map((d) => d.jobId)).toEqual(["j0", "j1"])
      expect((yield* pending()).filter((p) => p.consumer === "c2")).toHaveLength(2)
      const second = yield* reclaim("c2", { count: 2, cursor: first.cursor })
      expect(second.deliveries.map((d) => d.jobId)).toEqual(["j2", "j3"])
      const counts = (yield* pending()).map((p) => p.consumer)
      expect(counts.filter((c) => c === "c2")).toHaveLength(4)
      expect(counts.filter((c) => c === "c1")).toHaveLength(1)
    }).pipe(withRedis()),
  )

  it.live("hands over an entry that names no job with an empty job id", () =>
    Effect.gen(function* () {
      const entry = yield* handEntry(["hello", "world"])
      yield* read("c1")
      const result = yield* reclaim("c2")
      expect(result.deliveries).toEqual([{ ...inbox, entryId: entry, jobId: "" }])
    }).pipe(withRedis()),
  )

  it.live("a reclaimed job whose cancel was requested ends cancelled", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      yield* JobStore.cancel("j1")
      const result = yield* reclaim("c2")
      expect(result).toMatchObject({ deliveries: [], cancelled: 1 })
      const job = yield* record("j1")
      expect(job?.s).toBe("cancelled")
      const p = yield* keys()
      expect(yield* listedAt(p.list(actor, "cancelled"), "j1")).toBe(job?.ft)
      expect(yield* pending()).toEqual([])
      expect(yield* typesOf("j1")).toEqual(["submitted", "started", "cancelRequested", "cancelled"])
      expect((yield* Effect.flip(Deliveries.complete(delivery, "c1", "1")))._tag).toBe("JobAlreadyFinished")
    }).pipe(withRedis()),
  )
})
