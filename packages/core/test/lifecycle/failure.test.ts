import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as Deliveries from "../../src/Deliveries.js"
import * as JobStore from "../../src/JobStore.js"
import {
  actor,
  failure,
  inbox,
  inboxKey,
  keys,
  lane,
  lastOf,
  listedAt,
  pending,
  readOne,
  record,
  redis,
  serverNow,
  snapshot,
  take,
  typesOf,
  withRedis,
  xlen,
} from "./support.js"

const deadLetters = Effect.flatMap(keys(), (p) => redis((c) => c.xrange(p.dead(actor), "-", "+")))

describe("fail", () => {
  it.live("with attempts left schedules a retry in the delayed set", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      const before = yield* serverNow
      const outcome = yield* Deliveries.fail(delivery, "c1", failure("first", { retryDelayMs: 200 }))
      if (outcome._tag !== "retrying") return expect.unreachable()
      expect(outcome.retryAt).toBeGreaterThanOrEqual(before + 200)
      const p = yield* keys()
      expect(Number(yield* redis((c) => c.zscore(p.delayed(actor, lane), "j1")))).toBe(outcome.retryAt)
      const job = yield* record("j1")
      expect(job).toMatchObject({ s: "retrying", n: 2, due: outcome.retryAt })
      expect(JSON.parse(job?.e ?? "null")).toEqual({ tag: "Boom", message: "first" })
      expect(job?.x).toBeUndefined()
      expect(yield* xlen(yield* inboxKey())).toBe(0)
      expect(yield* pending()).toEqual([])
      // The failed event belongs to the attempt that failed.
      expect(yield* lastOf("j1", "failed")).toMatchObject({
        attempt: 1,
        willRetry: true,
        retryAt: outcome.retryAt,
        error: { tag: "Boom", message: "first" },
        worker: "c1",
      })
      const status = yield* JobStore.status("j1")
      expect(status).toMatchObject({ state: "retrying", attempt: 2, dueAt: outcome.retryAt })
    }).pipe(withRedis()),
  )

  it.live("the retry comes back when due and runs as the next attempt", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      yield* Deliveries.fail(delivery, "c1", failure("first", { retryDelayMs: 100 }))
      expect((yield* Deliveries.promote(inbox)).moved).toBe(0)
      yield* Effect.sleep("150 millis")
      expect((yield* Deliveries.promote(inbox)).moved).toBe(1)
      expect(yield* lastOf("j1", "requeued")).toMatchObject({ from: "retry", attempt: 2 })
      const again = yield* readOne("c2", "j1")
      expect(yield* Deliveries.start(again, "c2")).toMatchObject({ attempt: 2, maxAttempts: 3 })
      expect(yield* typesOf("j1")).toEqual(["submitted", "started", "failed", "requeued", "started"])
    }).pipe(withRedis()),
  )

  it.live("with attempts spent dead-letters with the last error", () =>
    Effect.gen(function* () {
      const first = yield* take("j1", "c1", { maxAttempts: 2 })
      yield* Deliveries.fail(first, "c1", failure("first"))
      yield* Deliveries.promote(inbox)
      const second = yield* readOne("c1", "j1")
      yield* Deliveries.start(second, "c1")
      const outcome = yield* Deliveries.fail(second, "c1", failure("second"))
      expect(outcome).toEqual({ _tag: "deadLettered", reason: "attemptsExhausted" })
      const job = yield* record("j1")
      expect(job).toMatchObject({ s: "deadLettered", n: 2, r: "attemptsExhausted" })
      expect(JSON.parse(job?.e ?? "null")).toEqual({ tag: "Boom", message: "second" })
      const letters = yield* deadLetters
      expect(letters).toHaveLength(1)
      expect(letters[0]?.[0]).toBe(job?.dl)
      expect(letters[0]?.[1]).toEqual(
        expect.arrayContaining([
          "j",
          "j1",
          "reason",
          "attemptsExhausted",
          "error",
          '{"tag":"Boom","message":"second"}',
        ]),
      )
      expect(yield* xlen(yield* inboxKey())).toBe(0)
      expect(yield* pending()).toEqual([])
      const p = yield* keys()
      expect(yield* listedAt(p.list(actor, "deadLettered"), "j1")).toBe(job?.ft)
      expect(yield* redis((c) => c.zscore(p.delayed(actor, lane), "j1"))).toBeNull()
      expect((yield* typesOf("j1")).slice(-2)).toEqual(["failed", "deadLettered"])
      expect(yield* lastOf("j1", "failed")).toMatchObject({ willRetry: false, attempt: 2 })
      expect(yield* lastOf("j1", "deadLettered")).toMatchObject({
        reason: "attemptsExhausted",
        error: { tag: "Boom", message: "second" },
        worker: "c1",
      })
      expect(yield* JobStore.status("j1")).toMatchObject({
        state: "deadLettered",
        deadLetterReason: "attemptsExhausted",
        error: { message: "second" },
      })
    }).pipe(withRedis()),
  )

  it.live("a non-retryable failure dead-letters after one try with its reason", () =>
    Effect.gen(function* () {
      const d1 = yield* take("j1", "c1", { maxAttempts: 5 })
      const d2 = yield* take("j2", "c1", { maxAttempts: 5 })
      expect(yield* Deliveries.fail(d1, "c1", failure("bad", { retryable: false }))).toEqual({
        _tag: "deadLettered",
        reason: "nonRetryable",
      })
      expect(yield* Deliveries.fail(d2, "c1", failure("bad", { retryable: false, reason: "malformed" }))).toEqual({
        _tag: "deadLettered",
        reason: "malformed",
      })
      expect(yield* record("j1")).toMatchObject({ s: "deadLettered", n: 1, r: "nonRetryable" })
      expect(yield* lastOf("j2", "deadLettered")).toMatchObject({ reason: "malformed", attempt: 1 })
      const reasons = (yield* deadLetters).map(([, fields]) => fields[fields.indexOf("reason") + 1])
      expect(reasons).toEqual(["nonRetryable", "malformed"])
    }).pipe(withRedis()),
  )

  it.live("is fenced: after a reclaim by another consumer it is LeaseLost and changes nothing", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      yield* Deliveries.reclaim(inbox, "c2", { minIdle: Duration.zero, count: 10, maxDeliveries: 10 })
      const before = yield* snapshot("j1")
      for (const retryable of [true, false]) {
        const refused = yield* Effect.flip(Deliveries.fail(delivery, "c1", failure("late", { retryable })))
        expect(refused._tag).toBe("LeaseLost")
      }
      expect(yield* snapshot("j1")).toEqual(before)
      expect(yield* deadLetters).toEqual([])
    }).pipe(withRedis()),
  )

  it.live("of a finished job is JobAlreadyFinished", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      yield* Deliveries.complete(delivery, "c1", "1")
      const before = yield* snapshot("j1")
      const refused = yield* Effect.flip(Deliveries.fail(delivery, "c1", failure("late")))
      expect(refused).toMatchObject({ _tag: "JobAlreadyFinished", state: "succeeded" })
      expect(yield* snapshot("j1")).toEqual(before)
    }).pipe(withRedis()),
  )

  it.live("after a requested cancel ends the job cancelled, not retried", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      yield* JobStore.cancel("j1")
      expect((yield* Effect.flip(Deliveries.fail(delivery, "c1", failure("x"))))._tag).toBe("CancelRequested")
      const job = yield* record("j1")
      expect(job?.s).toBe("cancelled")
      const p = yield* keys()
      // Kept as long as any finished job, not as long as a dead letter.
      expect(yield* listedAt(p.list(actor, "cancelled"), "j1")).toBe(job?.ft)
      expect(yield* redis((c) => c.zcard(p.delayed(actor, lane)))).toBe(0)
      expect(yield* typesOf("j1")).toEqual(["submitted", "started", "cancelRequested", "cancelled"])
    }).pipe(withRedis()),
  )
})
