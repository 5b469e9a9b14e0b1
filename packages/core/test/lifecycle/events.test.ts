import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import * as Deliveries from "../../src/Deliveries.js"
import * as JobEvent from "../../src/JobEvent.js"
import * as JobStore from "../../src/JobStore.js"
import { failure, inbox, log, readOne, submit, take, withRedis } from "./support.js"

const entry = (type: string, extra: ReadonlyArray<string> = []) => [
  "v",
  "1",
  "type",
  type,
  "job",
  "j1",
  "actor",
  "echo",
  "n",
  "1",
  "at",
  "1700000000000",
  ...extra,
]

describe("JobEvent.fromEntry", () => {
  it("skips a type it does not know, and entries that do not decode", () => {
    expect(JobEvent.fromEntry("1-0", entry("teleported", ["d", '{"to":"mars"}']))).toEqual(Option.none())
    expect(JobEvent.fromEntry("1-0", entry("succeeded", ["d", "{not json"]))).toEqual(Option.none())
    expect(JobEvent.fromEntry("1-0", entry("failed", ["d", '{"willRetry":"maybe"}']))).toEqual(Option.none())
    expect(JobEvent.fromEntry("1-0", ["job", "j1"])).toEqual(Option.none())
  })

  it("ignores fields it does not know", () => {
    const event = JobEvent.fromEntry("1-0", entry("started", ["w", "c1", "future", "x"]))
    expect(event).toEqual(
      Option.some({
        type: "started",
        id: "1-0",
        jobId: "j1",
        actor: "echo",
        attempt: 1,
        at: 1700000000000,
        worker: "c1",
      }),
    )
  })

  it("reads version 2 entries (a head and data), ignoring places it does not know", () => {
    const head = JSON.stringify(["succeeded", "j1", "echo", 2, "c1", "", "cause", "future"])
    expect(JobEvent.fromEntry("1700000000000-3", ["e", head, "d", '{"output":{"ok":true}}'])).toEqual(
      Option.some({
        type: "succeeded",
        id: "1700000000000-3",
        jobId: "j1",
        actor: "echo",
        attempt: 2,
        at: 1700000000000,
        worker: "c1",
        causationId: "cause",
        output: { ok: true },
      }),
    )
  })

  it("skips a version 2 entry whose head is not a JSON array, or whose data does not decode", () => {
    expect(JobEvent.fromEntry("1-0", ["e", '["started",', "d", ""])).toEqual(Option.none())
    expect(JobEvent.fromEntry("1-0", ["e", '{"type":"started"}', "d", ""])).toEqual(Option.none())
    expect(JobEvent.fromEntry("1-0", ["e", '["started","j1","echo",1]', "d", "{not json"])).toEqual(Option.none())
    expect(JobEvent.fromEntry("1-0", ["e", '["teleported","j1","echo",1]', "d", ""])).toEqual(Option.none())
  })

  it("finds the job id of either version without decoding the rest", () => {
    expect(JobEvent.jobIdOf(["e", '["started","j1","echo",1]', "d", ""])).toBe("j1")
    expect(JobEvent.jobIdOf(["e", JSON.stringify(["started", 'odd"id', "echo", 1]), "d", ""])).toBe('odd"id')
    expect(JobEvent.jobIdOf(entry("started"))).toBe("j1")
    expect(JobEvent.jobIdOf(["e", "[]", "d", ""])).toBe("")
    expect(JobEvent.jobIdOf(["x", "1"])).toBe("")
  })

  it.live("decodes every type the scripts write", () =>
    Effect.gen(function* () {
      // succeeded, with progress
      const a = yield* take("a", "c1")
      yield* Deliveries.progress(a, "c1", 0.5, "half")
      yield* Deliveries.complete(a, "c1", '{"out":1}')
      // delayed → requeued from delayed; failed with a retry → requeued from retry; dead-lettered; requeued from
      // the dead letters; purged
      yield* submit("b", { delayMs: 1, maxAttempts: 2 })
      yield* Effect.sleep("5 millis")
      yield* Deliveries.promote(inbox)
      const b1 = yield* readOne("c1", "b")
      yield* Deliveries.start(b1, "c1")
      yield* Deliveries.fail(b1, "c1", failure("once"))
      yield* Deliveries.promote(inbox)
      const b2 = yield* readOne("c1", "b")
      yield* Deliveries.start(b2, "c1")
      yield* Deliveries.fail(b2, "c1", failure("twice"))
      yield* JobStore.requeue("b")
      const b3 = yield* readOne("c1", "b")
      yield* Deliveries.start(b3, "c1")
      yield* Deliveries.fail(b3, "c1", failure("for good", { retryable: false }))
      yield* JobStore.purge("b")
      // cancel requested, cancelled
      yield* take("c", "c1")
      yield* JobStore.cancel("c")
      yield* Deliveries.reclaim(inbox, "c2", { minIdle: Duration.zero, count: 10, maxDeliveries: 5 })
      // released, stalled
      const d = yield* take("d", "c1")
      yield* Deliveries.release(d, "c1")
      yield* readOne("c1", "d")
      yield* Deliveries.reclaim(inbox, "c2", { minIdle: Duration.zero, count: 10, maxDeliveries: 5 })

      const entries = yield* log()
      const decoded = entries.map((e) => JobEvent.fromEntry(e.id, e.flat))
      expect(decoded.every(Option.isSome)).toBe(true)
      const types = new Set(decoded.flatMap((e) => Option.toArray(e)).map((e) => e.type))
      expect([...types].sort()).toEqual([...JobEvent.types].sort())
      const requeuedFrom = new Set(
        decoded.flatMap((e) => Option.toArray(e)).flatMap((e) => (e.type === "requeued" ? [e.from] : [])),
      )
      expect(requeuedFrom).toEqual(new Set(["delayed", "retry", "deadLetter"]))
    }).pipe(withRedis()),
  )
})

describe("JobStore.history", () => {
  it.live("returns a job's events in order, and only its own", () =>
    Effect.gen(function* () {
      const a = yield* take("a", "c1")
      yield* take("other", "c1")
      yield* Deliveries.progress(a, "c1", 0.1)
      yield* Deliveries.fail(a, "c1", failure("x"))
      yield* Deliveries.promote(inbox)
      const again = yield* readOne("c2", "a")
      yield* Deliveries.start(again, "c2")
      yield* Deliveries.complete(again, "c2", "null")
      const history = yield* JobStore.history("a")
      expect(history.map((e) => e.type)).toEqual([
        "submitted",
        "started",
        "progress",
        "failed",
        "requeued",
        "started",
        "succeeded",
      ])
      expect(history.map((e) => e.attempt)).toEqual([1, 1, 1, 1, 2, 2, 2])
      const ids = history.map((e) => e.id)
      expect([...ids].sort(JobEvent.compareIds)).toEqual(ids)
      expect(new Set(ids).size).toBe(ids.length)
      const fromLog = (yield* log()).filter((e) => e.fields.job === "a").map((e) => e.id)
      expect(ids).toEqual(fromLog)
      expect(history.every((e) => e.jobId === "a")).toBe(true)
    }).pipe(withRedis()),
  )
})
