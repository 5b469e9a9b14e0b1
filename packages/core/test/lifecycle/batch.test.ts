/**
 * The batch calls a worker makes: `startMany`, `completeMany` and `claim` (read and start in one
 * script), each answering every item on its own; and the fixed field layout of events on the wire.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Option } from "effect"
import type { Lane } from "../../src/Actor.js"
import * as Deliveries from "../../src/Deliveries.js"
import * as JobEvent from "../../src/JobEvent.js"
import * as JobStore from "../../src/JobStore.js"
import type { Refusal } from "../../src/ScriptOutcome.js"
import { Settings } from "../../src/Settings.js"
import { workerGroup } from "../../src/StreamKeys.js"
import {
  actor,
  failure,
  handEntry,
  type Inbox,
  inbox,
  inboxKey,
  keys,
  lastOf,
  log,
  pending,
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

/** An answer as a test compares it: the value, or the refusal's tag (and state, if any). */
const outcome = <A>(answer: Either.Either<A, Refusal>) =>
  Either.match(answer, {
    onRight: (value) => ({ ok: value }),
    onLeft: (refusal) => ({ refused: refusal._tag, ...("state" in refusal ? { state: refusal.state } : {}) }),
  })

const inboxOf = (lane: Lane): Inbox => ({ partition: 0, actor, lane })

/** The entry ids of an inbox stream. */
const entryIds = (where: Inbox = inbox) =>
  Effect.flatMap(inboxKey(where), (key) =>
    Effect.map(
      redis((c) => c.xrange(key, "-", "+")),
      (entries) => entries.map(([id]) => id),
    ),
  )

/** Who holds which entry of an inbox. */
const holders = (where: Inbox = inbox) =>
  Effect.map(pending(where), (rows) => rows.map((row) => [row.entryId, row.consumer] as const))

/** How many `started` events a job has. */
const startsOf = (jobId: string) => Effect.map(typesOf(jobId), (types) => types.filter((t) => t === "started").length)

/** Creates the groups of all three lanes, as a worker does before it claims. */
const ensureAllGroups = Effect.forEach(["high", "normal", "low"] as const, (lane) =>
  Deliveries.ensureGroup(0, actor, lane),
)

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
      expect(yield* rawRecord("b")).toBe(bBefore)
      expect(yield* typesOf("b")).toEqual(["submitted"])
      // c: its entry was acknowledged and deleted.
      expect(yield* entryIds()).not.toContain(c.entryId)
      expect((yield* holders()).map(([id]) => id)).not.toContain(c.entryId)
      // d: unchanged, still running with the cancel requested, no second start.
      expect(yield* rawRecord("d")).toBe(dBefore)
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
  it.live("completes several jobs, refusing a lost lease and ending a cancel-requested job cancelled", () =>
    Effect.gen(function* () {
      const { retention } = yield* Settings
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
        expect(job).toMatchObject({ s: "succeeded", o: JSON.stringify(output), p: 1, w: "c1" })
        expect(job?.x).toBeUndefined()
        expect(yield* lastOf(delivery.jobId, "succeeded")).toMatchObject({ output, worker: "c1", attempt: 1 })
        const expiry = yield* redis((c) => c.zscore(p.expiries, delivery.jobId))
        expect(Number(expiry)).toBe((job?.ft ?? 0) + Duration.toMillis(retention))
      }
      // stolen: nothing changed, still c2's.
      expect(yield* rawRecord("stolen")).toBe(stolenBefore)
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

describe("claim", () => {
  it.live("claims the high lane first, up to count across lanes, and starts each", () =>
    Effect.gen(function* () {
      yield* ensureAllGroups
      // Submitted low first: the lane, not the submission order, decides.
      yield* submit("lo1", { lane: "low" })
      yield* submit("lo2", { lane: "low" })
      yield* submit("n1", { lane: "normal", input: '{"n":"n1"}', correlationId: "corr" })
      yield* submit("n2", { lane: "normal" })
      yield* submit("h1", { lane: "high", input: '{"n":"h1"}' })

      const first = yield* Deliveries.claim(0, actor, "c1", 3)
      expect(first.map((c) => [c.delivery.lane, c.delivery.jobId])).toEqual([
        ["high", "h1"],
        ["normal", "n1"],
        ["normal", "n2"],
      ])
      expect(first.map((c) => (c.started === undefined ? undefined : outcome(c.started)))).toEqual([
        { ok: { input: '{"n":"h1"}', attempt: 1, maxAttempts: 3, correlationId: undefined, causationId: undefined } },
        { ok: { input: '{"n":"n1"}', attempt: 1, maxAttempts: 3, correlationId: "corr", causationId: undefined } },
        { ok: expect.objectContaining({ input: '{"n":1}', attempt: 1 }) },
      ])
      for (const { delivery } of first) {
        expect(delivery).toMatchObject({ partition: 0, actor })
        expect(yield* record(delivery.jobId)).toMatchObject({ s: "active", w: "c1", x: delivery.entryId })
        expect(yield* startsOf(delivery.jobId)).toBe(1)
        expect(yield* lastOf(delivery.jobId, "started")).toMatchObject({ worker: "c1" })
      }
      const entryOf = (jobId: string) => first.find((c) => c.delivery.jobId === jobId)?.delivery.entryId
      expect(yield* holders(inboxOf("high"))).toEqual([[entryOf("h1"), "c1"]])
      expect(yield* holders(inboxOf("normal"))).toEqual([
        [entryOf("n1"), "c1"],
        [entryOf("n2"), "c1"],
      ])
      // The low lane was not read: nothing of it is pending, its jobs still queued.
      expect(yield* holders(inboxOf("low"))).toEqual([])
      expect(yield* record("lo1")).toMatchObject({ s: "queued" })
      expect(yield* typesOf("lo1")).toEqual(["submitted"])

      const second = yield* Deliveries.claim(0, actor, "c2", 10)
      expect(second.map((c) => [c.delivery.lane, c.delivery.jobId])).toEqual([
        ["low", "lo1"],
        ["low", "lo2"],
      ])
      expect(second.every((c) => c.started !== undefined && Either.isRight(c.started))).toBe(true)
      expect(yield* record("lo2")).toMatchObject({ s: "active", w: "c2" })
      expect((yield* holders(inboxOf("low"))).map(([, consumer]) => consumer)).toEqual(["c2", "c2"])

      // Nothing left.
      expect(yield* Deliveries.claim(0, actor, "c1", 10)).toEqual([])
    }).pipe(withRedis()),
  )

  it.live("on empty inboxes returns nothing, and with count 0 reads nothing", () =>
    Effect.gen(function* () {
      yield* ensureAllGroups
      expect(yield* Deliveries.claim(0, actor, "c1", 5)).toEqual([])
      yield* submit("j1", { lane: "high" })
      expect(yield* Deliveries.claim(0, actor, "c1", 0)).toEqual([])
      expect(yield* holders(inboxOf("high"))).toEqual([])
      expect(yield* record("j1")).toMatchObject({ s: "queued" })
      // Another actor's inboxes are not this actor's.
      yield* Effect.forEach(["high", "normal", "low"] as const, (lane) => Deliveries.ensureGroup(0, "other", lane))
      expect(yield* Deliveries.claim(0, "other", "c1", 5)).toEqual([])
      expect((yield* Deliveries.claim(0, actor, "c1", 5)).map((c) => c.delivery.jobId)).toEqual(["j1"])
    }).pipe(withRedis()),
  )

  it.live("without the consumer groups fails with NOGROUP (a worker creates them and claims again)", () =>
    Effect.gen(function* () {
      yield* submit("j1")
      const error = yield* Effect.flip(Deliveries.claim(0, actor, "c1", 5))
      expect(error.message).toContain("NOGROUP")
      expect(yield* record("j1")).toMatchObject({ s: "queued" })
      yield* ensureAllGroups
      expect((yield* Deliveries.claim(0, actor, "c1", 5)).map((c) => c.delivery.jobId)).toEqual(["j1"])
    }).pipe(withRedis()),
  )

  it.live("never returns more than count, however the entries spread over the lanes", () =>
    Effect.gen(function* () {
      yield* ensureAllGroups
      const lanes: ReadonlyArray<Lane> = ["low", "high", "normal", "low", "normal", "high", "low"]
      yield* Effect.forEach(lanes, (lane, i) => submit(`j${i}`, { lane }))
      const sizes: Array<number> = []
      const order: Array<string> = []
      for (let round = 0; round < 10; round++) {
        const claimed = yield* Deliveries.claim(0, actor, "c1", 2)
        if (claimed.length === 0) break
        sizes.push(claimed.length)
        order.push(...claimed.map((c) => `${c.delivery.lane}:${c.delivery.jobId}`))
      }
      expect(sizes).toEqual([2, 2, 2, 1])
      expect(order).toEqual(["high:j1", "high:j5", "normal:j2", "normal:j4", "low:j0", "low:j3", "low:j6"])
      const all = yield* Effect.forEach(lanes, (_, i) => record(`j${i}`))
      expect(all.every((job) => job?.s === "active" && job.w === "c1")).toBe(true)
    }).pipe(withRedis()),
  )

  it.live("hands back an entry that names no job unstarted, and refuses one whose job is gone", () =>
    Effect.gen(function* () {
      yield* ensureAllGroups
      yield* submit("gone")
      const malformed = yield* handEntry(["x", "1"])
      yield* submit("ok")
      const p = yield* keys()
      yield* redis((c) => c.hdel(p.jobs, "gone"))

      const claimed = yield* Deliveries.claim(0, actor, "c1", 10)
      expect(claimed.map((c) => c.delivery.jobId)).toEqual(["gone", "", "ok"])
      const [gone, bad, ok] = claimed
      expect(gone?.started === undefined ? "none" : outcome(gone.started)).toEqual({ refused: "JobNotFound" })
      expect(bad).toEqual({
        delivery: { partition: 0, actor, lane: "normal", entryId: malformed, jobId: "" },
        started: undefined,
      })
      expect(ok?.started !== undefined && Either.isRight(ok.started)).toBe(true)
      // The gone job's entry was cleaned; the malformed one waits, held, for the worker to dead-letter it.
      expect((yield* holders()).map(([id, consumer]) => [id === malformed ? "malformed" : id, consumer])).toEqual([
        ["malformed", "c1"],
        [ok?.delivery.entryId, "c1"],
      ])
      if (bad === undefined) return expect.unreachable()
      yield* Deliveries.deadLetterEntry(bad.delivery, "c1", "no job id")
      expect(yield* entryIds()).toEqual([ok?.delivery.entryId])
    }).pipe(withRedis()),
  )
})

describe("event wire format", () => {
  const names = ["v", "type", "job", "actor", "n", "at", "w", "c", "k", "d"]
  const namesOf = (flat: ReadonlyArray<string>) => flat.filter((_, i) => i % 2 === 0)

  it.live("every event carries every field, in one order, with empty strings for absent ones", () =>
    Effect.gen(function* () {
      yield* submit("j1")
      const p = yield* keys()
      const [submitted] = yield* redis((c) => c.xrange(p.events, "-", "+"))
      if (submitted === undefined) return expect.unreachable()
      const [id, flat] = submitted
      expect(namesOf(flat)).toEqual(names)
      const fields = JobEvent.fieldsOf(flat)
      expect(fields).toMatchObject({ v: "1", type: "submitted", job: "j1", actor, n: "1", w: "", c: "", k: "" })
      expect(Number(fields.at)).toBeGreaterThan(0)
      expect(JSON.parse(fields.d ?? "")).toEqual({ input: { n: 1 }, lane: "normal", maxAttempts: 3 })

      const decoded = JobEvent.fromEntry(id, flat)
      if (Option.isNone(decoded)) return expect.unreachable()
      const event = decoded.value
      expect(event).toMatchObject({ type: "submitted", id, jobId: "j1", actor, attempt: 1, input: { n: 1 } })
      expect(Object.keys(event)).not.toContain("worker")
      expect(Object.keys(event)).not.toContain("correlationId")
      expect(Object.keys(event)).not.toContain("causationId")
    }).pipe(withRedis()),
  )

  it.live("holds for every type the scripts write, with present fields filled in", () =>
    Effect.gen(function* () {
      yield* ensureAllGroups
      const a = yield* take("a", "c1", { correlationId: "corr" })
      yield* Deliveries.progress(a, "c1", 0.5)
      yield* Deliveries.completeMany([{ delivery: a, output: '{"o":1}' }], "c1")
      yield* submit("q")
      yield* JobStore.cancel("q")
      yield* handEntry(["x", "1"])
      const [bad] = (yield* Deliveries.claim(0, actor, "c1", 10)).filter((c) => c.delivery.jobId === "")
      if (bad === undefined) return expect.unreachable()
      yield* Deliveries.deadLetterEntry(bad.delivery, "c1", "no job id")

      const entries = yield* log()
      expect(entries.map((e) => e.fields.type)).toEqual([
        "submitted",
        "started",
        "progress",
        "succeeded",
        "submitted",
        "cancelled",
        "deadLettered",
      ])
      for (const entry of entries) expect(namesOf(entry.flat)).toEqual(names)
      const started = entries[1]
      expect(started?.fields).toMatchObject({ w: "c1", c: "corr", k: "" })
      const cancelled = entries[5]
      expect(cancelled?.fields).toMatchObject({ job: "q", w: "", c: "", k: "", d: "" })
      if (started === undefined || cancelled === undefined) return expect.unreachable()
      const startedEvent = Option.getOrThrow(JobEvent.fromEntry(started.id, started.flat))
      expect(startedEvent).toMatchObject({ worker: "c1", correlationId: "corr" })
      expect(Object.keys(startedEvent)).not.toContain("causationId")
      expect(Option.getOrThrow(JobEvent.fromEntry(cancelled.id, cancelled.flat))).toEqual({
        type: "cancelled",
        id: cancelled.id,
        jobId: "q",
        actor,
        attempt: 1,
        at: Number(cancelled.fields.at),
      })
      expect(entries.every((e) => Option.isSome(JobEvent.fromEntry(e.id, e.flat)))).toBe(true)
    }).pipe(withRedis()),
  )
})
