import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import * as Deliveries from "../../src/Deliveries.js"
import * as JobStore from "../../src/JobStore.js"
import {
  actor,
  handEntry,
  inbox,
  inboxKey,
  keys,
  lastOf,
  listedAt,
  pending,
  read,
  readOne,
  record,
  redis,
  snapshot,
  submit,
  take,
  typesOf,
  withRedis,
  xlen,
} from "./support.js"

const steal = (consumer: string) =>
  Deliveries.reclaim(inbox, consumer, { minIdle: Duration.zero, count: 100, maxDeliveries: 10 })

describe("start", () => {
  it.live("marks the delivery running and hands over its input", () =>
    Effect.gen(function* () {
      yield* submit("j1", { input: '{"x":1}', maxAttempts: 4, correlationId: "corr", causationId: "cause" })
      const delivery = yield* readOne("c1", "j1")
      const started = yield* Deliveries.start(delivery, "c1")
      expect(started).toEqual({
        input: '{"x":1}',
        attempt: 1,
        maxAttempts: 4,
        correlationId: "corr",
        causationId: "cause",
      })
      expect(yield* record("j1")).toMatchObject({ s: "active", w: "c1", x: delivery.entryId })
      const event = yield* lastOf("j1", "started")
      expect(event).toMatchObject({ worker: "c1", attempt: 1, correlationId: "corr", causationId: "cause" })
    }).pipe(withRedis()),
  )

  it.live("is fenced: another consumer gets LeaseLost and nothing changes", () =>
    Effect.gen(function* () {
      yield* submit("j1")
      const delivery = yield* readOne("c1", "j1")
      const before = yield* snapshot("j1")
      const refused = yield* Effect.flip(Deliveries.start(delivery, "c2"))
      expect(refused._tag).toBe("LeaseLost")
      expect(yield* snapshot("j1")).toEqual(before)
      expect((yield* pending()).map((p) => p.consumer)).toEqual(["c1"])
    }).pipe(withRedis()),
  )

  it.live("an entry whose job is gone is refused with JobNotFound and cleaned", () =>
    Effect.gen(function* () {
      yield* handEntry(["j", "ghost", "n", "1"])
      yield* submit("j1")
      const p = yield* keys()
      yield* redis((c) => c.hdel(p.jobs, "j1"))
      const deliveries = yield* read("c1")
      for (const delivery of deliveries) {
        const refused = yield* Effect.flip(Deliveries.start(delivery, "c1"))
        expect(refused._tag).toBe("JobNotFound")
      }
      expect(deliveries.map((d) => d.jobId)).toEqual(["ghost", "j1"])
      expect(yield* xlen(yield* inboxKey())).toBe(0)
      expect(yield* pending()).toEqual([])
    }).pipe(withRedis()),
  )

  it.live("an entry of a finished job is refused with JobAlreadyFinished and cleaned", () =>
    Effect.gen(function* () {
      const first = yield* take("j1", "c1")
      yield* Deliveries.complete(first, "c1", "1")
      // A second entry for the same job, as a replay from an old version might write.
      yield* handEntry(["j", "j1", "n", "1"])
      const delivery = yield* readOne("c1", "j1")
      const before = yield* snapshot("j1")
      const refused = yield* Effect.flip(Deliveries.start(delivery, "c1"))
      expect(refused).toMatchObject({ _tag: "JobAlreadyFinished", state: "succeeded" })
      expect(yield* snapshot("j1")).toEqual(before)
      expect(yield* xlen(yield* inboxKey())).toBe(0)
      expect(yield* pending()).toEqual([])
    }).pipe(withRedis()),
  )

  it.live("a stale second entry of a queued job is cleaned; the job's own entry stays", () =>
    Effect.gen(function* () {
      yield* submit("j1")
      const extra = yield* handEntry(["j", "j1", "n", "1"])
      const deliveries = yield* read("c1")
      const stale = deliveries.find((d) => d.entryId === extra)
      const own = deliveries.find((d) => d.entryId !== extra)
      if (stale === undefined || own === undefined) return expect.unreachable()
      const refused = yield* Effect.flip(Deliveries.start(stale, "c1"))
      expect(refused).toMatchObject({ _tag: "JobNotInState", state: "queued" })
      expect((yield* pending()).map((p) => p.entryId)).toEqual([own.entryId])
      yield* Deliveries.start(own, "c1")
      expect((yield* record("j1"))?.s).toBe("active")
    }).pipe(withRedis()),
  )

  it.live("a job whose cancel was requested is refused with CancelRequested", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      // c1 died; c2 takes the entry over (reclaim), and the cancel arrives before c2 starts it.
      const taken = yield* Deliveries.reclaim(inbox, "c2", { minIdle: Duration.zero, count: 1, maxDeliveries: 5 })
      expect(taken.deliveries.map((d) => d.jobId)).toEqual(["j1"])
      expect(yield* JobStore.cancel("j1")).toBe("cancelRequested")
      const before = yield* snapshot("j1")
      const refused = yield* Effect.flip(Deliveries.start(delivery, "c2"))
      expect(refused._tag).toBe("CancelRequested")
      expect(yield* snapshot("j1")).toEqual(before)
      yield* Deliveries.confirmCancel(delivery, "c2")
      expect((yield* record("j1"))?.s).toBe("cancelled")
    }).pipe(withRedis()),
  )
})

describe("renew", () => {
  it.live("renews many leases in one call", () =>
    Effect.gen(function* () {
      const deliveries = [yield* take("j1", "c1"), yield* take("j2", "c1"), yield* take("j3", "c1")]
      expect(yield* Deliveries.renew(deliveries, "c1")).toEqual(["renewed", "renewed", "renewed"])
      expect(yield* Deliveries.renew([], "c1")).toEqual([])
    }).pipe(withRedis()),
  )

  it.live("reports lost for an entry another consumer reclaimed", () =>
    Effect.gen(function* () {
      const d1 = yield* take("j1", "c1")
      const d2 = yield* take("j2", "c1")
      const stolen = yield* Deliveries.reclaim(inbox, "c2", { minIdle: Duration.zero, count: 1, maxDeliveries: 10 })
      expect(stolen.deliveries.map((d) => d.jobId)).toEqual(["j1"])
      expect(yield* Deliveries.renew([d1, d2], "c1")).toEqual(["lost", "renewed"])
      expect(yield* Deliveries.renew([d1], "c2")).toEqual(["renewed"])
    }).pipe(withRedis()),
  )

  it.live("reports lost for a job that is gone or finished", () =>
    Effect.gen(function* () {
      const d1 = yield* take("j1", "c1")
      const d2 = yield* take("j2", "c1")
      yield* Deliveries.complete(d1, "c1", "null")
      const p = yield* keys()
      yield* redis((c) => c.hdel(p.jobs, "j2"))
      expect(yield* Deliveries.renew([d1, d2], "c1")).toEqual(["lost", "lost"])
    }).pipe(withRedis()),
  )

  it.live("a renewal after cancel reports the cancel", () =>
    Effect.gen(function* () {
      const d1 = yield* take("j1", "c1")
      const d2 = yield* take("j2", "c1")
      yield* JobStore.cancel("j2")
      expect(yield* Deliveries.renew([d1, d2], "c1")).toEqual(["renewed", "cancelRequested"])
    }).pipe(withRedis()),
  )

  it.live("a renewal resets the idle time and keeps the delivery count", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      yield* Effect.sleep("120 millis")
      const [stale] = yield* pending()
      expect(stale?.idle).toBeGreaterThanOrEqual(100)
      expect(yield* Deliveries.renew([delivery], "c1")).toEqual(["renewed"])
      const [fresh] = yield* pending()
      expect(fresh?.idle).toBeLessThan(stale?.idle ?? 0)
      expect(fresh?.idle).toBeLessThan(50)
      expect(fresh).toMatchObject({ consumer: "c1", deliveries: 1 })
      // A fresh lease is not reclaimed by a reclaimer waiting for 100 ms of idleness.
      const reclaimed = yield* Deliveries.reclaim(inbox, "c2", {
        minIdle: Duration.millis(100),
        count: 10,
        maxDeliveries: 5,
      })
      expect(reclaimed.deliveries).toEqual([])
    }).pipe(withRedis()),
  )
})

describe("progress", () => {
  it.live("records the fraction and appends progress", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      yield* Deliveries.progress(delivery, "c1", 0.25, "a quarter")
      yield* Deliveries.progress(delivery, "c1", 7)
      expect((yield* record("j1"))?.p).toBe(1)
      expect(yield* typesOf("j1")).toEqual(["submitted", "started", "progress", "progress"])
      const events = (yield* JobStore.history("j1")).filter((e) => e.type === "progress")
      expect(events).toMatchObject([
        { fraction: 0.25, note: "a quarter", worker: "c1" },
        { fraction: 1, worker: "c1" },
      ])
    }).pipe(withRedis()),
  )

  it.live("is fenced and reports a requested cancel", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      const before = yield* snapshot("j1")
      expect((yield* Effect.flip(Deliveries.progress(delivery, "c2", 0.5)))._tag).toBe("LeaseLost")
      expect(yield* snapshot("j1")).toEqual(before)
      yield* JobStore.cancel("j1")
      expect((yield* Effect.flip(Deliveries.progress(delivery, "c1", 0.5)))._tag).toBe("CancelRequested")
      expect((yield* record("j1"))?.s).toBe("active")
    }).pipe(withRedis()),
  )
})

describe("complete", () => {
  it.live("stores the output, ends the job and deletes its entry", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      yield* Deliveries.complete(delivery, "c1", '{"answer":42}')
      const job = yield* record("j1")
      expect(job).toMatchObject({ s: "succeeded", o: '{"answer":42}' })
      // The stored record leaves out a succeeded job's progress; its status reads it as complete.
      expect(job?.p).toBeUndefined()
      expect(Option.map(yield* JobStore.locate("j1"), (found) => found.status.progress)).toEqual(Option.some(1))
      expect(job?.x).toBeUndefined()
      expect(yield* xlen(yield* inboxKey())).toBe(0)
      expect(yield* pending()).toEqual([])
      const p = yield* keys()
      // Listed as succeeded since it finished: the list is its expiry index too.
      expect(yield* listedAt(p.list(actor, "succeeded"), "j1")).toBe(job?.ft)
      expect(yield* lastOf("j1", "succeeded")).toMatchObject({ output: { answer: 42 }, worker: "c1" })
      const status = yield* JobStore.status("j1")
      expect(status).toMatchObject({ state: "succeeded", output: { answer: 42 }, progress: 1 })
    }).pipe(withRedis()),
  )

  it.live("is fenced: after a reclaim by another consumer it is LeaseLost and changes nothing", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      const reclaimed = yield* steal("c2")
      expect(reclaimed.deliveries).toEqual([delivery])
      const before = yield* snapshot("j1")
      const refused = yield* Effect.flip(Deliveries.complete(delivery, "c1", '"late"'))
      expect(refused._tag).toBe("LeaseLost")
      expect(yield* snapshot("j1")).toEqual(before)
      expect((yield* record("j1"))?.o).toBeUndefined()
      // The new owner's result is the one applied.
      yield* Deliveries.start(delivery, "c2")
      yield* Deliveries.complete(delivery, "c2", '"mine"')
      expect(yield* record("j1")).toMatchObject({ s: "succeeded", o: '"mine"', w: "c2" })
      expect((yield* typesOf("j1")).filter((t) => t === "succeeded")).toHaveLength(1)
    }).pipe(withRedis()),
  )

  it.live("a second completion is refused with JobAlreadyFinished", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      yield* Deliveries.complete(delivery, "c1", "1")
      const before = yield* snapshot("j1")
      const refused = yield* Effect.flip(Deliveries.complete(delivery, "c1", "2"))
      expect(refused).toMatchObject({ _tag: "JobAlreadyFinished", state: "succeeded" })
      expect(yield* snapshot("j1")).toEqual(before)
    }).pipe(withRedis()),
  )

  it.live("of a job that is gone is JobNotFound", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      const p = yield* keys()
      yield* redis((c) => c.hdel(p.jobs, "j1"))
      expect((yield* Effect.flip(Deliveries.complete(delivery, "c1", "1")))._tag).toBe("JobNotFound")
    }).pipe(withRedis()),
  )
})

describe("release", () => {
  it.live("puts the job back as a new entry without counting the attempt", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      yield* Deliveries.release(delivery, "c1")
      const job = yield* record("j1")
      expect(job).toMatchObject({ s: "queued", n: 1 })
      expect(job?.x).not.toBe(delivery.entryId)
      const key = yield* inboxKey()
      expect((yield* redis((c) => c.xrange(key, "-", "+"))).map(([id]) => id)).toEqual([job?.x])
      expect(yield* pending()).toEqual([])
      expect(yield* lastOf("j1", "released")).toMatchObject({ worker: "c1", attempt: 1 })
      // Another worker picks it up at once and it is still the first attempt.
      const again = yield* readOne("c2", "j1")
      expect(again.entryId).toBe(job?.x)
      expect((yield* Deliveries.start(again, "c2")).attempt).toBe(1)
      expect(yield* typesOf("j1")).toEqual(["submitted", "started", "released", "started"])
    }).pipe(withRedis()),
  )

  it.live("is fenced", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      const before = yield* snapshot("j1")
      expect((yield* Effect.flip(Deliveries.release(delivery, "c2")))._tag).toBe("LeaseLost")
      expect(yield* snapshot("j1")).toEqual(before)
    }).pipe(withRedis()),
  )

  it.live("after a requested cancel ends the job cancelled", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      yield* JobStore.cancel("j1")
      expect((yield* Effect.flip(Deliveries.release(delivery, "c1")))._tag).toBe("CancelRequested")
      expect((yield* record("j1"))?.s).toBe("cancelled")
      expect(yield* xlen(yield* inboxKey())).toBe(0)
      expect(yield* typesOf("j1")).toEqual(["submitted", "started", "cancelRequested", "cancelled"])
    }).pipe(withRedis()),
  )
})
