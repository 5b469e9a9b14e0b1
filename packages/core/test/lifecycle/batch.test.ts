/** The batch calls a worker makes: `startMany` and `completeMany`, each answering every item on its own. */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as Deliveries from "../../src/Deliveries.js"
import * as JobStore from "../../src/JobStore.js"
import { workerGroup } from "../../src/StreamKeys.js"
import { entryIds, holders, outcome, startsOf } from "./batchSupport.js"
import {
  actor,
  failure,
  handEntry,
  inbox,
  inboxKey,
  keys,
  lastOf,
  listedAt,
  log,
  rawRecord,
  read,
  record,
  redis,
  submit,
  take,
  typesOf,
  withRedis,
  xlen,
} from "./support.js"

describe("startMany", () => {
  it.live("starts several deliveries, answering each like start, in the order given", () =>
    Effect.gen(function* () {
      // j2 is on its second attempt: each answer carries its own job's attempt.
      const j2First = yield* take("j2", "c0", { input: '{"x":2}' })
      yield* Deliveries.fail(j2First, "c0", failure("once"))
      expect((yield* Deliveries.promote(inbox)).moved).toBe(1)
      yield* submit("j1", { input: '{"x":1}', maxAttempts: 4, correlationId: "corr", causationId: "cause" })
      yield* submit("j3", { input: '{"x":3}', correlationId: "only-corr" })
      const deliveries = yield* read("c1")
      expect(deliveries.map((d) => d.jobId)).toEqual(["j2", "j1", "j3"])
      const byJob = (id: string) => deliveries.find((d) => d.jobId === id) as Deliveries.Delivery
      // Given in another order than the inbox's: answers follow the order given.
      const given = [byJob("j1"), byJob("j3"), byJob("j2")]
      const answers = yield* Deliveries.startMany(given, "c1")
      expect(answers.map(outcome)).toEqual([
        { ok: { input: '{"x":1}', attempt: 1, maxAttempts: 4, correlationId: "corr", causationId: "cause" } },
        { ok: { input: '{"x":3}', attempt: 1, maxAttempts: 3, correlationId: "only-corr", causationId: undefined } },
        { ok: { input: '{"x":2}', attempt: 2, maxAttempts: 3, correlationId: undefined, causationId: undefined } },
      ])
      for (const delivery of given) {
        const job = yield* record(delivery.jobId)
        expect(job).toMatchObject({ s: "active", w: "c1", x: delivery.entryId, st: expect.any(Number) })
      }
      expect(yield* startsOf("j1")).toBe(1)
      expect(yield* startsOf("j3")).toBe(1)
      expect(yield* startsOf("j2")).toBe(2) // once by c0, once now
      expect(yield* lastOf("j1", "started")).toMatchObject({
        worker: "c1",
        attempt: 1,
        correlationId: "corr",
        causationId: "cause",
      })
      expect(yield* lastOf("j2", "started")).toMatchObject({ worker: "c1", attempt: 2 })
      // The started events were appended in the order given.
      const started = (yield* log()).filter((e) => e.fields.type === "started" && e.fields.w === "c1")
      expect(started.map((e) => e.fields.job)).toEqual(["j1", "j3", "j2"])
      // Starting acknowledges nothing: c1 still holds all three entries.
      expect((yield* holders()).map(([, consumer]) => consumer)).toEqual(["c1", "c1", "c1"])
      expect(yield* Deliveries.startMany([], "c1")).toEqual([])
    }).pipe(withRedis()),
  )

  it.live("answers a held-elsewhere, a gone and a cancel-requested delivery each on its own", () =>
    Effect.gen(function* () {
      // d was started by c1 and its cancel requested; c1 comes back to its pending entry.
      const d = yield* take("d", "c1")
      expect(yield* JobStore.cancel("d")).toBe("cancelRequested")
      yield* submit("a")
      yield* submit("b")
      yield* submit("c")
      yield* submit("e")
      const read1 = yield* read("c1")
      const [a, b, c, e] = read1
      if (a === undefined || b === undefined || c === undefined || e === undefined) return expect.unreachable()
      expect(read1.map((x) => x.jobId)).toEqual(["a", "b", "c", "e"])
      // b: another consumer took its entry over.
      const key = yield* inboxKey()
      yield* redis((conn) => conn.xclaim(key, workerGroup, "c2", 0, b.entryId, "JUSTID"))
      // c: its job is gone.
      const p = yield* keys()
      yield* redis((conn) => conn.hdel(p.jobs, "c"))
      const bBefore = yield* rawRecord("b")
      const dBefore = yield* rawRecord("d")

      const answers = yield* Deliveries.startMany([a, b, c, d, e], "c1")
      expect(answers.map(outcome)).toEqual([
        { ok: expect.objectContaining({ input: '{"n":1}', attempt: 1 }) },
        { refused: "LeaseLost" },
        { refused: "JobNotFound" },
        { refused: "CancelRequested" },
        { ok: expect.objectContaining({ input: '{"n":1}', attempt: 1 }) },
      ])
      expect(yield* record("a")).toMatchObject({ s: "active", w: "c1" })
      expect(yield* record("e")).toMatchObject({ s: "active", w: "c1" })
      // b: unchanged, still c2's, no start recorded.
      expect(yield* rawRecord("b")).toEqual(bBefore)
      expect(yield* typesOf("b")).toEqual(["submitted"])
      // c: its entry was acknowledged and deleted.
      expect(yield* entryIds()).not.toContain(c.entryId)
      expect((yield* holders()).map(([id]) => id)).not.toContain(c.entryId)
      // d: unchanged, still running with the cancel requested, no second start.
      expect(yield* rawRecord("d")).toEqual(dBefore)
      expect(yield* typesOf("d")).toEqual(["submitted", "started", "cancelRequested"])
      expect(yield* holders()).toEqual([
        [d.entryId, "c1"],
        [a.entryId, "c1"],
        [b.entryId, "c2"],
        [e.entryId, "c1"],
      ])
      // Each is still answered rightly by its holder.
      expect((yield* Deliveries.startMany([b], "c2")).map(outcome)).toEqual([{ ok: expect.anything() }])
      expect(yield* record("b")).toMatchObject({ s: "active", w: "c2" })
      yield* Deliveries.confirmCancel(d, "c1")
      expect((yield* record("d"))?.s).toBe("cancelled")
    }).pipe(withRedis()),
  )

  it.live("refuses a finished job's and a stale entry, cleaning both", () =>
    Effect.gen(function* () {
      const done = yield* take("done", "c1")
      yield* Deliveries.complete(done, "c1", "1")
      yield* submit("q")
      const replay = yield* handEntry(["j", "done", "n", "1"])
      const stale = yield* handEntry(["j", "q", "n", "1"])
      const deliveries = yield* read("c1")
      const own = deliveries.find((x) => x.jobId === "q" && x.entryId !== stale)
      const replayed = deliveries.find((x) => x.entryId === replay)
      const staleOne = deliveries.find((x) => x.entryId === stale)
      if (own === undefined || replayed === undefined || staleOne === undefined) return expect.unreachable()
      const answers = yield* Deliveries.startMany([replayed, staleOne, own], "c1")
      expect(answers.map(outcome)).toEqual([
        { refused: "JobAlreadyFinished", state: "succeeded" },
        { refused: "JobNotInState", state: "queued" },
        { ok: expect.objectContaining({ attempt: 1 }) },
      ])
      expect(yield* entryIds()).toEqual([own.entryId])
      expect((yield* holders()).map(([id]) => id)).toEqual([own.entryId])
      expect(yield* record("q")).toMatchObject({ s: "active", x: own.entryId })
    }).pipe(withRedis()),
  )
})

describe("completeMany", () => {
  it.live("removes exactly the completed entries, in any order, and never one still pending or unread", () =>
    Effect.gen(function* () {
      const [a, b, c, d, e] = yield* Effect.forEach(["a", "b", "c", "d", "e"], (id) => take(id, "c1"))
      if (a === undefined || b === undefined || c === undefined || d === undefined || e === undefined)
        return expect.unreachable()
      const done = (deliveries: ReadonlyArray<Deliveries.Delivery>) =>
        Effect.map(
          Deliveries.completeMany(
            deliveries.map((delivery) => ({ delivery, output: "1" })),
            "c1",
          ),
          (answers) => answers.map(outcome),
        )
      // Newer than the oldest pending (a): deleted one by one.
      expect(yield* done([d, c])).toEqual([{ ok: undefined }, { ok: undefined }])
      expect(yield* entryIds()).toEqual([a.entryId, b.entryId, e.entryId])
      // The oldest pending: trimmed; b and e, still pending, stay.
      expect(yield* done([a])).toEqual([{ ok: undefined }])
      expect(yield* entryIds()).toEqual([b.entryId, e.entryId])
      expect((yield* holders()).map(([entry]) => entry)).toEqual([b.entryId, e.entryId])
      // With nothing left pending, an entry not read yet stays.
      yield* submit("f")
      expect(yield* done([e, b])).toEqual([{ ok: undefined }, { ok: undefined }])
      const [f] = yield* read("c1")
      expect(f?.jobId).toBe("f")
      expect(yield* entryIds()).toEqual([f?.entryId])
      if (f === undefined) return expect.unreachable()
      yield* Deliveries.start(f, "c1")
      expect(yield* done([f])).toEqual([{ ok: undefined }])
      expect(yield* xlen(yield* inboxKey())).toBe(0)
      for (const id of ["a", "b", "c", "d", "e", "f"]) expect((yield* record(id))?.s).toBe("succeeded")
    }).pipe(withRedis()),
  )

  it.live("completes several jobs, refusing a lost lease and ending a cancel-requested job cancelled", () =>
    Effect.gen(function* () {
      // The oldest pending entry is the one a reclaim of count 1 takes.
      const stolen = yield* take("stolen", "c1")
      const a = yield* take("a", "c1")
      const x = yield* take("x", "c1")
      const b = yield* take("b", "c1")
      const reclaimed = yield* Deliveries.reclaim(inbox, "c2", { minIdle: Duration.zero, count: 1, maxDeliveries: 10 })
      expect(reclaimed.deliveries).toEqual([stolen])
      expect(yield* JobStore.cancel("x")).toBe("cancelRequested")
      const stolenBefore = yield* rawRecord("stolen")
      const stolenTypes = yield* typesOf("stolen")

      const answers = yield* Deliveries.completeMany(
        [
          { delivery: a, output: '{"r":"a"}' },
          { delivery: stolen, output: '"late"' },
          { delivery: x, output: '"x"' },
          { delivery: b, output: '{"r":"b"}' },
        ],
        "c1",
      )
      expect(answers.map(outcome)).toEqual([
        { ok: undefined },
        { refused: "LeaseLost" },
        { refused: "CancelRequested" },
        { ok: undefined },
      ])

      const p = yield* keys()
      for (const [delivery, output] of [
        [a, { r: "a" }],
        [b, { r: "b" }],
      ] as const) {
        const job = yield* record(delivery.jobId)
        expect(job).toMatchObject({ s: "succeeded", o: JSON.stringify(output), w: "c1" })
        expect(job?.x).toBeUndefined()
        expect(yield* lastOf(delivery.jobId, "succeeded")).toMatchObject({ output, worker: "c1", attempt: 1 })
        expect(yield* listedAt(p.list(actor, "succeeded"), delivery.jobId)).toBe(job?.ft)
      }
      // stolen: nothing changed, still c2's.
      expect(yield* rawRecord("stolen")).toEqual(stolenBefore)
      expect(yield* typesOf("stolen")).toEqual(stolenTypes)
      // x: cancelled instead, never succeeded, its entry gone.
      const cancelled = yield* record("x")
      expect(cancelled?.s).toBe("cancelled")
      expect(cancelled?.o).toBeUndefined()
      expect(cancelled?.cr).toBeUndefined()
      expect(yield* typesOf("x")).toEqual(["submitted", "started", "cancelRequested", "cancelled"])
      expect(yield* lastOf("x", "cancelled")).toMatchObject({ worker: "c1" })
      // Only the stolen entry is left, held by c2.
      expect(yield* entryIds()).toEqual([stolen.entryId])
      expect(yield* holders()).toEqual([[stolen.entryId, "c2"]])

      // A second completion is refused; the new holder's completion is applied.
      expect((yield* Deliveries.completeMany([{ delivery: a, output: "2" }], "c1")).map(outcome)).toEqual([
        { refused: "JobAlreadyFinished", state: "succeeded" },
      ])
      expect((yield* record("a"))?.o).toBe('{"r":"a"}')
      yield* Deliveries.start(stolen, "c2")
      expect((yield* Deliveries.completeMany([{ delivery: stolen, output: '"mine"' }], "c2")).map(outcome)).toEqual([
        { ok: undefined },
      ])
      expect(yield* record("stolen")).toMatchObject({ s: "succeeded", o: '"mine"', w: "c2" })
      expect((yield* typesOf("stolen")).filter((t) => t === "succeeded")).toHaveLength(1)
      expect(yield* xlen(yield* inboxKey())).toBe(0)
      expect(yield* Deliveries.completeMany([], "c1")).toEqual([])
    }).pipe(withRedis()),
  )

  it.live("a job completed twice in one call ends once: the second finds the first's record", () =>
    Effect.gen(function* () {
      const a = yield* take("a", "c1")
      const answers = yield* Deliveries.completeMany(
        [
          { delivery: a, output: "1" },
          { delivery: a, output: "2" },
        ],
        "c1",
      )
      expect(answers.map(outcome)).toEqual([{ ok: undefined }, { refused: "JobAlreadyFinished", state: "succeeded" }])
      expect(yield* record("a")).toMatchObject({ s: "succeeded", o: "1" })
      expect(yield* typesOf("a")).toEqual(["submitted", "started", "succeeded"])
    }).pipe(withRedis()),
  )

  it.live("a job that is gone is JobNotFound; the others complete", () =>
    Effect.gen(function* () {
      const a = yield* take("a", "c1")
      const gone = yield* take("gone", "c1")
      const p = yield* keys()
      yield* redis((c) => c.hdel(p.jobs, "gone"))
      const answers = yield* Deliveries.completeMany(
        [
          { delivery: gone, output: "1" },
          { delivery: a, output: "2" },
        ],
        "c1",
      )
      expect(answers.map(outcome)).toEqual([{ refused: "JobNotFound" }, { ok: undefined }])
      expect(yield* record("a")).toMatchObject({ s: "succeeded", o: "2" })
      expect(yield* record("gone")).toBeUndefined()
    }).pipe(withRedis()),
  )
})
