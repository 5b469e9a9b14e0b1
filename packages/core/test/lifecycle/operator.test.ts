import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as Deliveries from "../../src/Deliveries.js"
import * as JobStore from "../../src/JobStore.js"
import * as ReadModel from "../../src/ReadModel.js"
import { Settings } from "../../src/Settings.js"
import {
  actor,
  failure,
  handEntry,
  inbox,
  inboxKey,
  keys,
  lastOf,
  listedAt,
  listedIds,
  log,
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

const deadLetters = Effect.flatMap(keys(), (p) => redis((c) => c.xrange(p.dead(actor), "-", "+")))

/** Runs a job into the dead letters: one non-retryable failure. */
const deadLetter = (jobId: string, overrides: Parameters<typeof take>[2] = {}) =>
  Effect.gen(function* () {
    const delivery = yield* take(jobId, "c1", overrides)
    yield* Deliveries.fail(delivery, "c1", failure("broken", { retryable: false }))
  })

describe("requeue", () => {
  it.live("sends a dead letter back to its inbox with a fresh attempt budget", () =>
    Effect.gen(function* () {
      const first = yield* take("j1", "c1", { maxAttempts: 2 })
      yield* Deliveries.fail(first, "c1", failure("one"))
      yield* Deliveries.promote(inbox)
      const second = yield* readOne("c1", "j1")
      yield* Deliveries.start(second, "c1")
      yield* Deliveries.fail(second, "c1", failure("two"))
      expect((yield* record("j1"))?.n).toBe(2)

      yield* JobStore.requeue("j1")
      const job = yield* record("j1")
      expect(job).toMatchObject({ s: "queued", n: 1 })
      for (const field of ["dl", "e", "r", "ft"] as const) expect(job?.[field]).toBeUndefined()
      expect(yield* deadLetters).toEqual([])
      const p = yield* keys()
      expect(yield* listedAt(p.list(actor, "deadLettered"), "j1")).toBeUndefined()
      expect(yield* lastOf("j1", "requeued")).toMatchObject({ from: "deadLetter", attempt: 1 })

      const again = yield* readOne("c2", "j1")
      expect(again.entryId).toBe(job?.x)
      expect(yield* Deliveries.start(again, "c2")).toMatchObject({ attempt: 1, maxAttempts: 2 })
      yield* Deliveries.complete(again, "c2", '"ok"')
      const history = yield* JobStore.history("j1")
      expect(history.map((e) => e.type).slice(-4)).toEqual(["deadLettered", "requeued", "started", "succeeded"])
    }).pipe(withRedis()),
  )

  it.live("refuses a job that is not dead-lettered, or unknown", () =>
    Effect.gen(function* () {
      yield* submit("j1")
      const before = yield* snapshot("j1")
      expect(yield* Effect.flip(JobStore.requeue("j1"))).toMatchObject({
        _tag: "JobNotInState",
        state: "queued",
        expected: "deadLettered",
      })
      expect(yield* snapshot("j1")).toEqual(before)
      expect((yield* Effect.flip(JobStore.requeue("nope")))._tag).toBe("JobNotFound")
    }).pipe(withRedis()),
  )
})

describe("purge", () => {
  it.live("deletes a dead-lettered job and its dead letter, appending purged", () =>
    Effect.gen(function* () {
      yield* deadLetter("j1")
      yield* deadLetter("j2")
      expect(yield* deadLetters).toHaveLength(2)
      yield* JobStore.purge("j1")
      expect(yield* record("j1")).toBeUndefined()
      expect((yield* deadLetters).map(([, fields]) => fields[1])).toEqual(["j2"])
      const p = yield* keys()
      expect(yield* listedAt(p.list(actor, "deadLettered"), "j1")).toBeUndefined()
      const last = (yield* log()).at(-1)
      expect(last?.fields).toMatchObject({ type: "purged", job: "j1", actor })
      expect((yield* Effect.flip(JobStore.status("j1")))._tag).toBe("JobNotFound")
      expect((yield* Effect.flip(JobStore.purge("j1")))._tag).toBe("JobNotFound")
    }).pipe(withRedis()),
  )

  it.live("refuses a job that is not dead-lettered", () =>
    Effect.gen(function* () {
      yield* submit("j1")
      expect(yield* Effect.flip(JobStore.purge("j1"))).toMatchObject({ _tag: "JobNotInState", state: "queued" })
      expect((yield* record("j1"))?.s).toBe("queued")
    }).pipe(withRedis()),
  )
})

describe("expire", () => {
  it.live("deletes the records of jobs past their retention, and only those", () =>
    Effect.gen(function* () {
      const { keyspace } = yield* Settings
      // Placed in partition 0, where `take` reads.
      const home = Array.from({ length: 50 }, (_, i) => `k${i}`).find((k) => keyspace.partitionOf("x", k).index === 0)
      const done = yield* take("done", "c1", { partitionKey: home })
      yield* Deliveries.complete(done, "c1", "1")
      yield* deadLetter("dead", { partitionKey: home })
      yield* submit("live", { partitionKey: home })
      // Cancelled jobs spread over both partitions.
      const cancelled = Array.from({ length: 6 }, (_, i) => `c${i}`)
      for (const id of cancelled) {
        yield* submit(id)
        yield* JobStore.cancel(id)
      }
      expect(new Set(cancelled.map((id) => keyspace.partitionOf(id).index))).toEqual(new Set([0, 1]))
      yield* Effect.sleep("30 millis")
      expect(yield* JobStore.expire(1)).toBe(2)
      expect(yield* JobStore.expire()).toBe(cancelled.length + 1 - 2)
      expect(yield* JobStore.expire()).toBe(0)
      for (const id of [...cancelled, "done"]) {
        const p = keyspace.partitionOf(id, id === "done" ? home : undefined)
        expect(yield* redis((c) => c.hget(p.jobs, id))).toBeNull()
      }
      // A dead letter keeps its record for the dead-letter retention; a live job has no expiry.
      expect((yield* JobStore.status("dead")).state).toBe("deadLettered")
      expect((yield* JobStore.status("live")).state).toBe("queued")
      const zero = keyspace.partition(0)
      expect(yield* listedIds(zero.list(actor, "deadLettered"))).toEqual(["dead"])
      for (const p of keyspace.all) expect(yield* listedIds(p.list(actor, "cancelled"))).toEqual([])
      // An expired id is free again: a new submission is a new job.
      expect(yield* submit("done", { partitionKey: home })).toMatchObject({ duplicate: false, state: "queued" })
    }).pipe(withRedis({ retention: Duration.millis(5), partitions: 2 })),
  )

  it.live("takes the jobs it expires out of the read model's lists, and only those", () =>
    Effect.gen(function* () {
      for (const id of ["gone", "kept", "live"]) yield* submit(id)
      yield* JobStore.cancel("gone")
      const p = yield* keys()
      expect((yield* listedIds(p.list(actor, "cancelled"))).sort()).toEqual(["gone"])
      yield* Effect.sleep("30 millis")
      yield* JobStore.cancel("kept")
      // "kept" ended after the sleep: its retention has not run out yet.
      expect(yield* JobStore.expire()).toBe(1)
      expect(yield* listedIds(p.list(actor, "cancelled"))).toEqual(["kept"])
      expect(yield* listedIds(p.list(actor, "queued"))).toEqual(["live"])
      const counts = (yield* ReadModel.counts([actor])).get(actor)
      expect(counts).toMatchObject({ cancelled: 1, queued: 1 })
    }).pipe(withRedis({ retention: Duration.millis(20) })),
  )
})

describe("dead-letter-entry", () => {
  it.live("moves an entry without a job to the dead letters as malformed", () =>
    Effect.gen(function* () {
      const entry = yield* handEntry(["hello", "world", "n", "1"])
      const [delivery] = yield* read("c1")
      if (delivery === undefined) return expect.unreachable()
      expect(delivery).toEqual({ ...inbox, entryId: entry, jobId: "" })

      expect((yield* Effect.flip(Deliveries.deadLetterEntry(delivery, "c2", "no job id")))._tag).toBe("LeaseLost")
      expect(yield* deadLetters).toEqual([])

      yield* Deliveries.deadLetterEntry(delivery, "c1", "no job id")
      expect(yield* xlen(yield* inboxKey())).toBe(0)
      expect(yield* pending()).toEqual([])
      const letters = yield* deadLetters
      expect(letters).toHaveLength(1)
      const fields = Object.fromEntries(
        (letters[0]?.[1] ?? []).flatMap((value, i, all) => (i % 2 === 0 ? [[value, all[i + 1]]] : [])),
      )
      expect(fields).toMatchObject({ j: `entry-${entry}`, reason: "malformed", n: "0" })
      expect(JSON.parse(fields.error ?? "null")).toEqual({
        tag: "Malformed",
        message: "no job id",
        data: { fields: ["hello", "world", "n", "1"] },
      })
      expect(yield* typesOf(`entry-${entry}`)).toEqual(["deadLettered"])
      expect(yield* lastOf(`entry-${entry}`, "deadLettered")).toMatchObject({
        reason: "malformed",
        actor,
        attempt: 0,
        worker: "c1",
        error: { tag: "Malformed", message: "no job id" },
      })
    }).pipe(withRedis()),
  )
})
