/**
 * The read model's lists of finished states are streams (an entry per job, made at the time it
 * entered the state), against a real Redis: paging with jobs that finished in the same ms, jobs
 * leaving a list between pages, lists written as sorted sets before the change, and a rebuild
 * whose chunks split a job's life or run beside live traffic.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either } from "effect"
import * as Deliveries from "../../src/Deliveries.js"
import { runScript } from "../../src/internal/runScript.js"
import * as JobEvent from "../../src/JobEvent.js"
import * as JobStore from "../../src/JobStore.js"
import * as ReadModel from "../../src/ReadModel.js"
import * as Scripts from "../../src/Scripts.js"
import * as StreamKeys from "../../src/StreamKeys.js"
import { ensureAllGroups } from "./batchSupport.js"
import {
  actor,
  allPages,
  failure,
  keys,
  listed,
  listedIds,
  modelSnapshot,
  record,
  redis,
  submit,
  take,
  withRedis,
} from "./support.js"

/** Submits `ids` and completes them all in one call, so they finish in the same ms. */
const finishTogether = (ids: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    yield* ensureAllGroups
    for (const id of ids) yield* submit(id)
    const claimed = yield* Deliveries.claim(0, actor, "c1", ids.length)
    expect(claimed).toHaveLength(ids.length)
    const done = yield* Deliveries.completeMany(
      claimed.map(({ delivery }) => ({ delivery, output: "1" })),
      "c1",
    )
    expect(done.every(Either.isRight)).toBe(true)
  })

/** Dead-letters a job on its first failure. */
const deadLetter = (id: string) =>
  Effect.gen(function* () {
    const delivery = yield* take(id, "c1", { maxAttempts: 1 })
    yield* Deliveries.fail(delivery, "c1", failure("broken", { retryable: false }))
  })

/** Rewrites a list as the sorted set it was before finished lists became streams. */
const asSortedSet = (list: string) =>
  Effect.gen(function* () {
    const pairs = yield* listed(list)
    yield* redis(async (c) => {
      await c.del(list)
      if (pairs.length > 0) await c.zadd(list, ...pairs.flatMap(([id, at]) => [at, id]))
    })
    expect(yield* redis((c) => c.type(list))).toBe("zset")
    return pairs
  })

/**
 * x: dead-lettered, requeued, then succeeded; y: dead-lettered and purged; w: dead-lettered;
 * z: succeeded, with a correlation id.
 */
const mixedHistory = Effect.gen(function* () {
  yield* deadLetter("x")
  yield* JobStore.requeue("x")
  yield* ensureAllGroups
  const [again] = yield* Deliveries.claim(0, actor, "c1", 1)
  if (again === undefined) return expect.unreachable()
  yield* Deliveries.complete(again.delivery, "c1", "1")
  yield* deadLetter("y")
  yield* JobStore.purge("y")
  yield* deadLetter("w")
  const z = yield* take("z", "c1", { correlationId: "corr" })
  yield* Deliveries.complete(z, "c1", "1")
})

/** One call of the rebuild script on partition 0 (`cleared` as ReadModel.rebuild passes it). */
const rebuildStep = (cursor: string, count: number, cleared: number) =>
  Effect.gen(function* () {
    const p = yield* keys()
    const reply = yield* runScript(Scripts.rebuild, {
      keys: { events: p.events, jobs: p.jobs, rates: p.rates },
      args: { cursor, count, cleared },
      moreKeys: StreamKeys.states.map((state) => p.list(actor, state)),
      moreArgs: [actor],
    })
    return { next: String(reply[0]), unlisted: Number(reply[2]) }
  })

describe("finished lists", () => {
  it.live("page newest first, the jobs of one ms by id, and each job is one small stream entry", () =>
    Effect.gen(function* () {
      const together = Array.from({ length: 9 }, (_, i) => `f${i}`)
      yield* finishTogether(together)
      yield* Effect.sleep("2 millis")
      const late = yield* take("late", "c1")
      yield* Deliveries.complete(late, "c1", "1")

      const p = yield* keys()
      expect(yield* redis((c) => c.type(p.list(actor, "succeeded")))).toBe("stream")
      const pages = yield* allPages("succeeded", 2)
      expect(pages.map((page) => page.length)).toEqual([2, 2, 2, 2, 2])
      expect(pages.flat()).toEqual(["late", ...[...together].reverse()])
      expect((yield* ReadModel.counts([actor])).get(actor)).toMatchObject({ succeeded: 10, active: 0, queued: 0 })
      // The list is also the expiry index: each entry at its job's finish time.
      for (const [id, at] of yield* listed(p.list(actor, "succeeded"))) expect(at).toBe((yield* record(id))?.ft)
    }).pipe(withRedis()),
  )

  it.live("page stably while dead letters are requeued or purged between pages", () =>
    Effect.gen(function* () {
      const ids = Array.from({ length: 8 }, (_, i) => `d${i}`)
      for (const id of ids) yield* deadLetter(id)
      const order = (yield* allPages("deadLettered", 100)).flat()
      expect([...order].sort()).toEqual(ids)
      // After the first page: a shown job and two not yet shown leave the list.
      const leaving = [order[1] as string, order[4] as string, order[6] as string]
      const pages = yield* allPages("deadLettered", 3, (page) =>
        page === 1
          ? Effect.gen(function* () {
              yield* JobStore.requeue(leaving[0] as string)
              yield* JobStore.requeue(leaving[1] as string)
              yield* JobStore.purge(leaving[2] as string)
            })
          : Effect.void,
      )
      expect(pages.flat()).toEqual(order.filter((id, i) => i < 3 || !leaving.includes(id)))
      expect((yield* ReadModel.counts([actor])).get(actor)).toMatchObject({ deadLettered: 5, queued: 2 })
    }).pipe(withRedis()),
  )

  it.live(
    "lists kept as sorted sets before the change are read as they are and become streams at their first change",
    () =>
      Effect.gen(function* () {
        const p = yield* keys()
        const succeeded = p.list(actor, "succeeded")
        const deadLettered = p.list(actor, "deadLettered")
        yield* finishTogether(["a", "b"])
        yield* deadLetter("dead")
        const before = yield* asSortedSet(succeeded)
        yield* asSortedSet(deadLettered)

        // Read as sorted sets.
        expect((yield* ReadModel.counts([actor])).get(actor)).toMatchObject({ succeeded: 2, deadLettered: 1 })
        expect((yield* allPages("succeeded", 1)).flat()).toEqual(["b", "a"])

        // A job finishing turns the list into a stream, the old entries first, at their times.
        yield* Effect.sleep("2 millis")
        const c = yield* take("c", "c1")
        yield* Deliveries.complete(c, "c1", "1")
        expect(yield* redis((c) => c.type(succeeded))).toBe("stream")
        expect(yield* listed(succeeded)).toEqual([...before, ["c", (yield* record("c"))?.ft]])
        expect((yield* allPages("succeeded", 2)).flat()).toEqual(["c", "b", "a"])

        // A job leaving one does too.
        yield* JobStore.requeue("dead")
        expect(yield* redis((c) => c.type(deadLettered))).toBe("stream")
        expect(yield* listedIds(deadLettered)).toEqual([])
        expect(yield* listedIds(p.list(actor, "queued"))).toEqual(["dead"])
        expect((yield* ReadModel.counts([actor])).get(actor)).toMatchObject({
          succeeded: 3,
          deadLettered: 0,
          queued: 1,
        })
      }).pipe(withRedis()),
  )

  it.live("expire takes the old end of a list kept as a sorted set", () =>
    Effect.gen(function* () {
      const p = yield* keys()
      yield* finishTogether(["a", "b"])
      yield* asSortedSet(p.list(actor, "succeeded"))
      yield* Effect.sleep("40 millis")
      expect(yield* JobStore.expire()).toBe(2)
      expect(yield* listedIds(p.list(actor, "succeeded"))).toEqual([])
      expect(yield* record("a")).toBeUndefined()
    }).pipe(withRedis({ retention: Duration.millis(20) })),
  )

  it.live("a rebuild one event at a time finds each job where the earlier chunks put it", () =>
    Effect.gen(function* () {
      yield* mixedHistory
      const inline = yield* modelSnapshot
      expect(inline.lists.succeeded?.map(([id]) => id)).toEqual(["x", "z"])
      expect(inline.lists.deadLettered?.map(([id]) => id)).toEqual(["w"])
      const calls = yield* ReadModel.rebuildInChunks(1)
      expect(calls).toBeGreaterThan(10)
      expect(yield* modelSnapshot).toEqual(inline)
    }).pipe(withRedis()),
  )

  it.live("a rebuild folds a log whose older entries have the first wire format (version 1) as it folds today's", () =>
    Effect.gen(function* () {
      yield* mixedHistory
      const inline = yield* modelSnapshot

      // The log's first half rewritten, under the same ids, as version 1 wrote events.
      const p = yield* keys()
      const entries = yield* redis((c) => c.xrange(p.events, "-", "+"))
      const half = Math.floor(entries.length / 2)
      yield* redis(async (c) => {
        await c.del(p.events)
        for (const [index, [id, flat]] of entries.entries()) {
          const f = JobEvent.eventFieldsOf(flat)
          if (f === undefined) throw new Error(`entry ${id} does not decode`)
          const fields =
            index < half
              ? [
                  "v",
                  "1",
                  "type",
                  f.type,
                  "job",
                  f.job,
                  "actor",
                  f.actor,
                  "n",
                  f.n,
                  "w",
                  f.w,
                  "c",
                  f.c,
                  "k",
                  f.k,
                  "d",
                  f.d,
                ]
              : flat
          await c.xadd(p.events, id, ...fields.map((value) => value ?? ""))
        }
      })
      const rewritten = yield* redis((c) => c.xrange(p.events, "-", "+"))
      expect(rewritten[0]?.[1][0]).toBe("v")
      expect(rewritten.map(([id, flat]) => JobEvent.fromEntry(id, flat))).toEqual(
        entries.map(([id, flat]) => JobEvent.fromEntry(id, flat)),
      )

      yield* ReadModel.rebuild
      expect(yield* modelSnapshot).toEqual(inline)
    }).pipe(withRedis()),
  )

  it.live("a rebuild beside live traffic lists no job twice, and says what it could not list", () =>
    Effect.gen(function* () {
      const p = yield* keys()
      const old = yield* take("old", "c1")
      yield* Deliveries.complete(old, "c1", "1")
      // The rebuild's first chunk clears the model; then a job finishes live.
      const first = yield* rebuildStep("0-0", 1, -1)
      yield* Effect.sleep("2 millis")
      const fresh = yield* take("new", "c1")
      yield* Deliveries.complete(fresh, "c1", "1")
      let { next } = first
      let unlisted = first.unlisted
      while (next !== "") {
        const step = yield* rebuildStep(next, 1, 1)
        next = step.next
        unlisted += step.unlisted
      }
      // "old" finished before "new" was listed: a stream cannot take it behind; "new" is not doubled.
      expect(unlisted).toBe(1)
      expect(yield* listedIds(p.list(actor, "succeeded"))).toEqual(["new"])
      // On a quiet system, a rebuild lists both.
      yield* ReadModel.rebuild
      expect(yield* listedIds(p.list(actor, "succeeded"))).toEqual(["old", "new"])
    }).pipe(withRedis()),
  )

  it.live("a job whose history holds full event ids (records from before 2026-12-07) leaves its finished list", () =>
    Effect.gen(function* () {
      const p = yield* keys()
      const endedAt = Date.now() - 1_000
      // Dead-lettered by an older version: history as full ids; `ft` as a clock stepped back left it.
      const old = JSON.stringify({
        a: actor,
        s: "deadLettered",
        n: 1,
        m: 1,
        i: "1",
        t: endedAt - 10,
        ft: 2,
        r: "attemptsExhausted",
        h: `${endedAt - 10}-0,${endedAt - 5}-0,${endedAt}-3`,
      })
      yield* redis((c) => c.hset(p.jobs, "old", old))
      yield* redis((c) => c.xadd(p.list(actor, "deadLettered"), `${endedAt}-0`, "j", "old"))
      yield* JobStore.requeue("old")
      expect(yield* listedIds(p.list(actor, "deadLettered"))).toEqual([])
      expect(yield* listedIds(p.list(actor, "queued"))).toEqual(["old"])
    }).pipe(withRedis()),
  )
})
