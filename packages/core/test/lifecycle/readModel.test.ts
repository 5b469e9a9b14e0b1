/**
 * The inline read model against a real Redis: job lists by actor and state (newest first,
 * cursor-paged over every partition, stable while jobs move), jobs leaving every list when they
 * expire or are purged, and pausing an actor.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either } from "effect"
import * as Deliveries from "../../src/Deliveries.js"
import * as JobStore from "../../src/JobStore.js"
import * as ReadModel from "../../src/ReadModel.js"
import { Settings } from "../../src/Settings.js"
import * as StreamKeys from "../../src/StreamKeys.js"
import { ensureAllGroups } from "./batchSupport.js"
import { actor, allPages, failure, listedAt, record, redis, submit, take, withRedis } from "./support.js"

/** The lists (over every partition) that name a job. */
const listsOf = (jobId: string) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings
    const found: Array<string> = []
    for (const p of keyspace.all)
      for (const state of StreamKeys.states)
        if ((yield* listedAt(p.list(actor, state), jobId)) !== undefined) found.push(state)
    return found
  })

describe("job lists", () => {
  it.live("list an actor's jobs in a state newest first over every partition, a page at a time", () =>
    Effect.gen(function* () {
      const ids = Array.from({ length: 13 }, (_, i) => `job-${String(i).padStart(2, "0")}`)
      // Some enter the state in the same millisecond (one submit-many call), some apart.
      yield* JobStore.submitMany(
        ids.slice(0, 7).map((jobId) => ({ jobId, actor, lane: "normal", input: "1", maxAttempts: 1, delayMs: 0 })),
      )
      for (const id of ids.slice(7)) {
        yield* Effect.sleep("2 millis")
        yield* submit(id)
      }
      const { keyspace } = yield* Settings
      expect(new Set(ids.map((id) => keyspace.partitionOf(id).index)).size).toBeGreaterThan(1)

      const pages = yield* allPages("queued", 4)
      expect(pages.map((page) => page.length)).toEqual([4, 4, 4, 1])
      const listed = pages.flat()
      expect([...listed].sort()).toEqual(ids)
      // Newest first: the ones submitted one by one, latest first, then the batch.
      expect(listed.slice(0, 6)).toEqual(ids.slice(7).reverse())
      const first = yield* ReadModel.listJobs(actor, "queued", { limit: 1 })
      expect(first.jobs[0]).toMatchObject({ jobId: "job-12", actor, state: "queued", attempt: 1 })
      expect(yield* ReadModel.listJobs(actor, "active")).toEqual({ jobs: [] })
      expect((yield* ReadModel.counts([actor])).get(actor)).toMatchObject({ queued: 13, active: 0 })
    }).pipe(withRedis({ partitions: 4 })),
  )

  it.live("page stably while jobs move between states: none repeated, none remaining skipped", () =>
    Effect.gen(function* () {
      const ids = Array.from({ length: 20 }, (_, i) => `m${String(i).padStart(2, "0")}`)
      for (const id of ids) {
        yield* submit(id)
        yield* Effect.sleep("1 millis")
      }
      const first = yield* ReadModel.listJobs(actor, "queued", { limit: 6 })
      const shown = first.jobs.map((job) => job.jobId)
      expect(shown).toEqual(ids.slice(14).reverse())
      // Between pages: a shown job and some not yet shown leave the state; new ones arrive.
      const left = [shown[2] as string, "m10", "m03"]
      for (const id of left) yield* JobStore.cancel(id)
      yield* submit("late-1")
      yield* submit("late-2")

      const rest: Array<string> = []
      let cursor = first.nextCursor
      while (cursor !== undefined) {
        const page = yield* ReadModel.listJobs(actor, "queued", { limit: 6, cursor })
        rest.push(...page.jobs.map((job) => job.jobId))
        cursor = page.nextCursor
      }
      const remaining = ids.slice(0, 14).filter((id) => !left.includes(id))
      expect(rest).toEqual(remaining.reverse())
      expect(rest.some((id) => shown.includes(id))).toBe(false)
      // The cancelled ones are listed where they are now.
      expect((yield* ReadModel.listJobs(actor, "cancelled")).jobs.map((job) => job.jobId).sort()).toEqual(
        [...left].sort(),
      )
    }).pipe(withRedis({ partitions: 3 })),
  )

  it.live("refuse a state, limit or cursor that is not one", () =>
    Effect.gen(function* () {
      const refused = (state: string, options: { limit?: number; cursor?: string }) =>
        Effect.flip(ReadModel.listJobs(actor, state, options))
      expect(yield* refused("running", {})).toMatchObject({
        _tag: "InvalidListRequest",
        message: expect.stringContaining("state must be one of queued, delayed"),
      })
      for (const limit of [0, 501, 2.5])
        expect((yield* refused("queued", { limit })).message).toContain("limit must be an integer from 1 to 500")
      for (const cursor of ["", "not a cursor!", Buffer.from("x:y").toString("base64url")])
        expect((yield* refused("queued", { cursor })).message).toBe("cursor is not one this API returned")
    }).pipe(withRedis()),
  )

  it.live("an expired or purged job leaves every list and count", () =>
    Effect.gen(function* () {
      const dead = yield* take("dead", "c1", { maxAttempts: 1 })
      yield* Deliveries.fail(dead, "c1", failure("broken", { retryable: false }))
      expect(yield* listsOf("dead")).toEqual(["deadLettered"])
      yield* JobStore.purge("dead")
      expect(yield* listsOf("dead")).toEqual([])

      const done = yield* take("done", "c1")
      yield* Deliveries.complete(done, "c1", "1")
      expect(yield* listsOf("done")).toEqual(["succeeded"])
      yield* Effect.sleep("40 millis")
      expect(yield* JobStore.expire()).toBe(1)
      expect(yield* listsOf("done")).toEqual([])
      expect(yield* record("done")).toBeUndefined()
      const counts = (yield* ReadModel.counts([actor])).get(actor)
      expect(Object.values(counts ?? {}).every((n) => n === 0)).toBe(true)
      // The outcomes stay counted: they happened.
      expect((yield* ReadModel.rates()).get(actor)).toEqual({ succeeded: 1, failed: 1, deadLettered: 1 })
    }).pipe(withRedis({ retention: Duration.millis(20) })),
  )

  it.live("expire deletes more expired jobs in one call than one unpack holds", () =>
    Effect.gen(function* () {
      const { keyspace } = yield* Settings
      const p = keyspace.all[0]!
      const list = p.list(actor, "succeeded")
      // More than the ~8,000 values Lua's stack holds, all ended two days ago.
      const ids = Array.from({ length: 8_500 }, (_, i) => `old-${i}`)
      const endedAt = Date.now() - 2 * 86_400_000
      yield* redis((c) => c.sadd(p.actors, actor))
      yield* redis((c) => c.hset(p.jobs, ...ids.flatMap((id) => [id, "ended"])))
      yield* redis((c) => {
        const pipeline = c.pipeline()
        for (const [i, id] of ids.entries()) pipeline.xadd(list, `${endedAt}-${i + 1}`, "j", id)
        return pipeline.exec()
      })
      expect(yield* JobStore.expire(10_000)).toBe(ids.length)
      expect(yield* redis((c) => c.hlen(p.jobs))).toBe(0)
      expect(yield* redis((c) => c.xlen(list))).toBe(0)
    }).pipe(withRedis({ retention: Duration.hours(1) })),
  )
})

describe("outcomes per minute", () => {
  it.live("expire drops old minutes however many there are (more than one unpack holds)", () =>
    Effect.gen(function* () {
      const { keyspace } = yield* Settings
      const rates = keyspace.all[0]!.rates
      // Minutes of ten thousand actors from a day ago: the Lua stack holds ~8,000 values.
      const dayAgo = Math.floor(Date.now() / 60_000) - 24 * 60
      const old = Array.from({ length: 10_000 }, (_, i) => [`gone-${i}|succeeded|${dayAgo}`, "1"]).flat()
      yield* redis((c) => c.hset(rates, ...old))
      const current = `${actor}|succeeded|${Math.floor(Date.now() / 60_000)}`
      yield* redis((c) => c.hset(rates, current, "2"))
      yield* JobStore.expire()
      expect(yield* redis((c) => c.hkeys(rates))).toEqual([current])
    }).pipe(withRedis()),
  )

  it.live("count each outcome in its minute, oldest minute first, zeros filled in", () =>
    Effect.gen(function* () {
      for (const id of ["r1", "r2"]) {
        const delivery = yield* take(id, "c1", { maxAttempts: 1 })
        if (id === "r1") yield* Deliveries.complete(delivery, "c1", "1")
        else yield* Deliveries.fail(delivery, "c1", failure("broken", { retryable: false }))
      }
      const series = (yield* ReadModel.ratesPerMinute(3)).get(actor) ?? []
      expect(series).toHaveLength(3)
      expect(series[1]!.minute + 1).toBe(series[2]!.minute)
      // Both ended within the last two minutes (a minute may turn between them).
      const sum = (outcome: "succeeded" | "failed" | "deadLettered") =>
        series.reduce((total, minute) => total + minute[outcome], 0)
      expect([sum("succeeded"), sum("failed"), sum("deadLettered")]).toEqual([1, 1, 1])
      expect(series[0]).toMatchObject({ succeeded: 0, failed: 0, deadLettered: 0 })
      expect((yield* ReadModel.rates(2)).get(actor)).toEqual({ succeeded: 1, failed: 1, deadLettered: 1 })
    }).pipe(withRedis()),
  )
})

describe("pause", () => {
  it.live("a paused actor's jobs stay queued: claim takes nothing, start refuses; after resume they run", () =>
    Effect.gen(function* () {
      yield* ensureAllGroups
      yield* submit("p1")
      yield* submit("p2")
      yield* JobStore.pause(actor)
      expect(yield* JobStore.paused).toEqual(new Set([actor]))
      expect(yield* Deliveries.claim(0, actor, "c1", 10)).toEqual([])
      expect(yield* record("p1")).toMatchObject({ s: "queued" })

      // A delivery read before the pause arrived is refused at its start, unchanged.
      const { keyspace } = yield* Settings
      const read = (yield* redis((c) =>
        c.xreadgroup(
          "GROUP",
          "workers",
          "c1",
          "COUNT",
          1,
          "STREAMS",
          keyspace.partition(0).inbox(actor, "normal"),
          ">",
        ),
      )) as Array<[string, Array<[string, Array<string>]>]>
      const entryId = read[0]?.[1][0]?.[0] as string
      const delivery: Deliveries.Delivery = { partition: 0, actor, lane: "normal", entryId, jobId: "p1" }
      const refused = yield* Deliveries.startMany([delivery], "c1")
      expect(refused[0]).toEqual(Either.left(expect.objectContaining({ _tag: "ActorPaused", jobId: "p1" })))
      expect((yield* Effect.flip(Deliveries.start(delivery, "c1")))._tag).toBe("ActorPaused")
      expect(yield* record("p1")).toMatchObject({ s: "queued" })

      yield* JobStore.resume(actor)
      expect(yield* JobStore.paused).toEqual(new Set())
      expect(
        Either.isRight((yield* Deliveries.startMany([delivery], "c1"))[0] as Either.Either<unknown, unknown>),
      ).toBe(true)
      const claimed = yield* Deliveries.claim(0, actor, "c1", 10)
      expect(claimed.map((c) => c.delivery.jobId)).toEqual(["p2"])
      expect(yield* record("p2")).toMatchObject({ s: "active" })
    }).pipe(withRedis()),
  )

  it.live("is written to every partition, and taken back from every one", () =>
    Effect.gen(function* () {
      const { keyspace } = yield* Settings
      const members = Effect.forEach(keyspace.all, (p) => redis((c) => c.smembers(p.paused)))
      yield* JobStore.pause(actor)
      yield* JobStore.pause("other")
      expect((yield* members).map((set) => set.sort())).toEqual([
        [actor, "other"],
        [actor, "other"],
        [actor, "other"],
      ])
      yield* JobStore.resume(actor)
      expect(yield* members).toEqual([["other"], ["other"], ["other"]])
      expect(yield* JobStore.paused).toEqual(new Set(["other"]))
    }).pipe(withRedis({ partitions: 3 })),
  )
})

describe("completeAndClaim", () => {
  it.live("completes a batch and claims the actor's next jobs in the same call, none while it is paused", () =>
    Effect.gen(function* () {
      yield* ensureAllGroups
      for (const id of ["a", "b", "c", "d"]) yield* submit(id)
      const [first] = yield* Deliveries.claim(0, actor, "c1", 1)
      if (first === undefined) return expect.unreachable()
      const done = yield* Deliveries.completeAndClaim([{ delivery: first.delivery, output: "1" }], "c1", 2)
      expect(done.completions).toEqual([Either.void])
      expect(done.claimed.map((c) => c.delivery.jobId)).toEqual(["b", "c"])
      expect(done.claimed.every((c) => c.started !== undefined && Either.isRight(c.started))).toBe(true)
      expect(yield* record("b")).toMatchObject({ s: "active", w: "c1" })

      yield* JobStore.pause(actor)
      const [b] = done.claimed
      const paused = yield* Deliveries.completeAndClaim([{ delivery: b!.delivery, output: "2" }], "c1", 5)
      expect(paused.completions).toEqual([Either.void])
      expect(paused.claimed).toEqual([])
      expect(yield* record("d")).toMatchObject({ s: "queued" })
    }).pipe(withRedis()),
  )

  it.live("a repeated completion says whether this worker finished the job itself", () =>
    Effect.gen(function* () {
      const delivery = yield* take("j1", "c1")
      yield* Deliveries.complete(delivery, "c1", "1")
      const again = yield* Deliveries.completeMany([{ delivery, output: "1" }], "c1")
      expect(again[0]).toEqual(
        Either.left(expect.objectContaining({ _tag: "JobAlreadyFinished", state: "succeeded", byThisWorker: true })),
      )
      const other = yield* Effect.flip(Deliveries.complete(delivery, "c2", "1"))
      expect(other).toMatchObject({ _tag: "JobAlreadyFinished", byThisWorker: false })
    }).pipe(withRedis()),
  )
})
