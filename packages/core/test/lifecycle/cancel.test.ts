import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Deliveries from "../../src/Deliveries.js"
import * as JobStore from "../../src/JobStore.js"
import {
  actor,
  failure,
  inbox,
  inboxKey,
  keys,
  lane,
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

describe("cancel", () => {
  it.live("a queued job is cancelled at once and its entry is gone", () =>
    Effect.gen(function* () {
      yield* submit("j1")
      // A worker already read the entry but has not started it.
      const delivery = yield* readOne("c1", "j1")
      expect(yield* JobStore.cancel("j1")).toBe("cancelled")
      const job = yield* record("j1")
      expect(job?.s).toBe("cancelled")
      expect(job?.x).toBeUndefined()
      expect(yield* xlen(yield* inboxKey())).toBe(0)
      expect(yield* pending()).toEqual([])
      const p = yield* keys()
      expect(yield* listedAt(p.list(actor, "cancelled"), "j1")).toBe(job?.ft)
      const refused = yield* Effect.flip(Deliveries.start(delivery, "c1"))
      expect(refused._tag).toBe("LeaseLost")
      expect(yield* typesOf("j1")).toEqual(["submitted", "cancelled"])
    }).pipe(withRedis()),
  )

  it.live("a queued job nobody read yet is cancelled and never delivered", () =>
    Effect.gen(function* () {
      yield* submit("j1")
      yield* submit("j2")
      // j1 before any worker made the consumer group, j2 after.
      expect(yield* JobStore.cancel("j1")).toBe("cancelled")
      yield* Deliveries.ensureGroup(0, actor, lane)
      expect(yield* JobStore.cancel("j2")).toBe("cancelled")
      expect(yield* xlen(yield* inboxKey())).toBe(0)
      expect(yield* read("c1")).toEqual([])
    }).pipe(withRedis()),
  )

  it.live("a delayed job is cancelled and leaves the delayed set", () =>
    Effect.gen(function* () {
      yield* submit("j1", { delayMs: 50 })
      expect(yield* JobStore.cancel("j1")).toBe("cancelled")
      const p = yield* keys()
      expect(yield* redis((c) => c.zscore(p.delayed(actor, lane), "j1"))).toBeNull()
      expect((yield* record("j1"))?.s).toBe("cancelled")
      yield* Effect.sleep("80 millis")
      expect((yield* Deliveries.promote(inbox)).moved).toBe(0)
      expect(yield* typesOf("j1")).toEqual(["submitted", "cancelled"])
    }).pipe(withRedis()),
  )

  it.live("a retrying job is cancelled and leaves the delayed set", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      yield* Deliveries.fail(delivery, "c1", failure("x", { retryDelayMs: 10_000 }))
      expect(yield* JobStore.cancel("j1")).toBe("cancelled")
      const p = yield* keys()
      expect(yield* redis((c) => c.zcard(p.delayed(actor, lane)))).toBe(0)
      expect(yield* typesOf("j1")).toEqual(["submitted", "started", "failed", "cancelled"])
    }).pipe(withRedis()),
  )

  it.live("a running job is flagged, renew reports it and confirmCancel ends it", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      expect(yield* JobStore.cancel("j1")).toBe("cancelRequested")
      expect(yield* record("j1")).toMatchObject({ s: "active", cr: 1 })
      expect((yield* JobStore.status("j1")).cancelRequested).toBe(true)
      // Asking again is idempotent: no second event.
      expect(yield* JobStore.cancel("j1")).toBe("cancelRequested")
      expect(yield* typesOf("j1")).toEqual(["submitted", "started", "cancelRequested"])
      expect(yield* Deliveries.renew([delivery], "c1")).toEqual(["cancelRequested"])
      expect((yield* Effect.flip(Deliveries.confirmCancel(delivery, "c2")))._tag).toBe("LeaseLost")
      yield* Deliveries.confirmCancel(delivery, "c1")
      expect((yield* record("j1"))?.s).toBe("cancelled")
      expect(yield* xlen(yield* inboxKey())).toBe(0)
      expect(yield* pending()).toEqual([])
      expect(yield* typesOf("j1")).toEqual(["submitted", "started", "cancelRequested", "cancelled"])
      expect(yield* Deliveries.renew([delivery], "c1")).toEqual(["lost"])
      const late = yield* Effect.flip(Deliveries.complete(delivery, "c1", "1"))
      expect(late).toMatchObject({ _tag: "JobAlreadyFinished", state: "cancelled" })
    }).pipe(withRedis()),
  )

  it.live("confirmCancel without a request is refused", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      const before = yield* snapshot("j1")
      const refused = yield* Effect.flip(Deliveries.confirmCancel(delivery, "c1"))
      expect(refused).toMatchObject({ _tag: "JobNotInState", state: "active" })
      expect(yield* snapshot("j1")).toEqual(before)
    }).pipe(withRedis()),
  )

  it.live("a completion after a cancel request ends cancelled, never succeeded", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      yield* JobStore.cancel("j1")
      const refused = yield* Effect.flip(Deliveries.complete(delivery, "c1", '"done"'))
      expect(refused._tag).toBe("CancelRequested")
      const job = yield* record("j1")
      expect(job?.s).toBe("cancelled")
      expect(job?.o).toBeUndefined()
      expect(yield* typesOf("j1")).toEqual(["submitted", "started", "cancelRequested", "cancelled"])
      expect(yield* xlen(yield* inboxKey())).toBe(0)
    }).pipe(withRedis()),
  )

  it.live("of a finished job is JobAlreadyFinished; of an unknown one JobNotFound", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      yield* Deliveries.complete(delivery, "c1", "1")
      const before = yield* snapshot("j1")
      expect(yield* Effect.flip(JobStore.cancel("j1"))).toMatchObject({
        _tag: "JobAlreadyFinished",
        state: "succeeded",
      })
      expect(yield* snapshot("j1")).toEqual(before)
      expect((yield* Effect.flip(JobStore.cancel("nope")))._tag).toBe("JobNotFound")
    }).pipe(withRedis()),
  )
})
