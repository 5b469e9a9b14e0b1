/** `claim` (read and start in one script) and the fixed field layout of events on the wire. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import type { Lane } from "../../src/Actor.js"
import * as Deliveries from "../../src/Deliveries.js"
import * as JobEvent from "../../src/JobEvent.js"
import * as JobStore from "../../src/JobStore.js"
import { ensureAllGroups, entryIds, holders, inboxOf, outcome, startsOf } from "./batchSupport.js"
import { actor, handEntry, keys, lastOf, log, record, redis, submit, take, typesOf, withRedis } from "./support.js"

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
  const names = ["e", "d"]
  const namesOf = (flat: ReadonlyArray<string>) => flat.filter((_, i) => i % 2 === 0)
  const headOf = (flat: ReadonlyArray<string>): unknown => JSON.parse(flat[flat.indexOf("e") + 1] ?? "")

  it.live("an event is its head (type, job, actor, attempt) and its data, trailing absent ids left out", () =>
    Effect.gen(function* () {
      yield* submit("j1")
      const p = yield* keys()
      const [submitted] = yield* redis((c) => c.xrange(p.events, "-", "+"))
      if (submitted === undefined) return expect.unreachable()
      const [id, flat] = submitted
      expect(namesOf(flat)).toEqual(names)
      expect(headOf(flat)).toEqual(["submitted", "j1", actor, 1])
      expect(JobEvent.eventFieldsOf(flat)).toMatchObject({ type: "submitted", job: "j1", actor, n: "1" })
      // The event's time is its id's: the record's submission time.
      expect(JobEvent.timeOf(id)).toBe((yield* record("j1"))?.t)
      // The usual lane goes without saying; the decoded event has it.
      expect(JSON.parse(JobEvent.eventFieldsOf(flat)?.d ?? "")).toEqual({ input: { n: 1 }, maxAttempts: 3 })

      const decoded = JobEvent.fromEntry(id, flat)
      if (Option.isNone(decoded)) return expect.unreachable()
      const event = decoded.value
      expect(event).toMatchObject({
        type: "submitted",
        id,
        jobId: "j1",
        actor,
        attempt: 1,
        input: { n: 1 },
        lane: "normal",
      })
      expect(Object.keys(event)).not.toContain("worker")
      expect(Object.keys(event)).not.toContain("correlationId")
      expect(Object.keys(event)).not.toContain("causationId")
    }).pipe(withRedis()),
  )

  it.live("ids that need escaping travel as JSON strings, and readers get them back as they were", () =>
    Effect.gen(function* () {
      const correlationId = 'say "hi"\\n|x'
      const causationId = "tab\there"
      yield* submit("j1", { correlationId, causationId })
      const [entry] = yield* log()
      if (entry === undefined) return expect.unreachable()
      expect(headOf(entry.flat)).toEqual(["submitted", "j1", actor, 1, "", correlationId, causationId])
      expect(JobEvent.jobIdOf(entry.flat)).toBe("j1")
      expect(Option.getOrThrow(JobEvent.fromEntry(entry.id, entry.flat))).toMatchObject({
        correlationId,
        causationId,
      })
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
      const cancelled = entries[5]
      if (started === undefined || cancelled === undefined) return expect.unreachable()
      // A causation id absent at the end is left out; the worker and the correlation id are not.
      expect(headOf(started.flat)).toEqual(["started", "a", actor, 1, "c1", "corr"])
      expect(headOf(cancelled.flat)).toEqual(["cancelled", "q", actor, 1])
      expect(cancelled.fields.d).toBe("")
      const startedEvent = Option.getOrThrow(JobEvent.fromEntry(started.id, started.flat))
      expect(startedEvent).toMatchObject({ worker: "c1", correlationId: "corr" })
      expect(Object.keys(startedEvent)).not.toContain("causationId")
      expect(Option.getOrThrow(JobEvent.fromEntry(cancelled.id, cancelled.flat))).toEqual({
        type: "cancelled",
        id: cancelled.id,
        jobId: "q",
        actor,
        attempt: 1,
        at: JobEvent.timeOf(cancelled.id),
      })
      expect(entries.every((e) => Option.isSome(JobEvent.fromEntry(e.id, e.flat)))).toBe(true)
    }).pipe(withRedis()),
  )

  it.live("an append still lands when the log's newest entry is later than the server clock", () =>
    Effect.gen(function* () {
      const p = yield* keys()
      // An entry from "the future": as if the server clock had stepped back since it was written.
      const future = yield* redis((c) => c.xadd(p.events, "99999999999999-0", "v", "1", "type", "noise"))
      yield* submit("j1")
      const entries = yield* log()
      expect(entries.map((e) => e.fields.type)).toEqual(["noise", "submitted"])
      const submitted = entries[1]
      if (submitted === undefined || future === null) return expect.unreachable()
      // Redis picked the id after the newest one; the event's time is that id's.
      expect(JobEvent.compareIds(submitted.id, future)).toBeGreaterThan(0)
      expect(Option.map(JobEvent.fromEntry(submitted.id, submitted.flat), (event) => event.at)).toEqual(
        Option.some(JobEvent.timeOf(submitted.id)),
      )
      expect(Option.map(yield* JobStore.locate("j1"), (found) => found.status.eventIds)).toEqual(
        Option.some([submitted.id]),
      )
    }).pipe(withRedis()),
  )
})
