import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as Deliveries from "../../src/Deliveries.js"
import * as JobStore from "../../src/JobStore.js"
import { Settings } from "../../src/Settings.js"
import {
  actor,
  eventsOf,
  keys,
  lane,
  lastOf,
  log,
  read,
  readOne,
  record,
  redis,
  serverNow,
  submit,
  take,
  withRedis,
  xlen,
} from "./support.js"

/** The Redis Cluster hash tag of a key: what sits between its first `{` and the next `}`. */
const hashTag = (key: string) => {
  const open = key.indexOf("{")
  const close = key.indexOf("}", open + 1)
  return open === -1 || close <= open + 1 ? key : key.slice(open + 1, close)
}

describe("submit", () => {
  it.live("queues a job in its inbox", () =>
    Effect.gen(function* () {
      const result = yield* submit("j1")
      expect(result).toEqual({ jobId: "j1", duplicate: false, state: "queued" })
      const p = yield* keys()
      const job = yield* record("j1")
      expect(job).toMatchObject({ s: "queued", n: 1, m: 3, i: '{"n":1}' })
      // The id is the hash field and the usual lane the default: the stored record repeats neither.
      expect(job).not.toHaveProperty("id")
      expect(job).not.toHaveProperty("l")
      const entries = yield* redis((c) => c.xrange(p.inbox(actor, lane), "-", "+"))
      expect(entries).toEqual([[job?.x, ["j", "j1"]]])
      expect(yield* redis((c) => c.zcard(p.delayed(actor, lane)))).toBe(0)
    }).pipe(withRedis()),
  )

  it.live("holds a delayed job in the delayed set until it is due", () =>
    Effect.gen(function* () {
      const before = yield* serverNow
      const result = yield* submit("j1", { delayMs: 500 })
      const after = yield* serverNow
      expect(result.state).toBe("delayed")
      const p = yield* keys()
      const score = Number(yield* redis((c) => c.zscore(p.delayed(actor, lane), "j1")))
      expect(score).toBeGreaterThanOrEqual(before + 500)
      expect(score).toBeLessThanOrEqual(after + 500)
      const job = yield* record("j1")
      expect(job?.s).toBe("delayed")
      expect(job?.due).toBe(score)
      expect(job?.x).toBeUndefined()
      expect(yield* xlen(p.inbox(actor, lane))).toBe(0)
      const submitted = yield* lastOf("j1", "submitted")
      expect(submitted.delayUntil).toBe(score)
    }).pipe(withRedis()),
  )

  it.live("a duplicate id returns the existing state and writes nothing", () =>
    Effect.gen(function* () {
      yield* submit("j1", { input: '"first"' })
      const p = yield* keys()
      const [delivery] = yield* read("c1")
      expect(delivery?.jobId).toBe("j1")
      const before = { record: yield* record("j1"), log: yield* log(), inbox: yield* xlen(p.inbox(actor, lane)) }
      // Queued at first; a different input, lane and delay change nothing.
      const dup = yield* submit("j1", { input: '"second"', delayMs: 1000, maxAttempts: 9 })
      expect(dup).toEqual({ jobId: "j1", duplicate: true, state: "queued" })
      expect({ record: yield* record("j1"), log: yield* log(), inbox: yield* xlen(p.inbox(actor, lane)) }).toEqual(
        before,
      )
      expect(yield* redis((c) => c.zcard(p.delayed(actor, lane)))).toBe(0)
    }).pipe(withRedis()),
  )

  it.live("a duplicate of a delayed job reports delayed", () =>
    Effect.gen(function* () {
      yield* submit("j1", { delayMs: 10_000 })
      const dup = yield* submit("j1")
      expect(dup).toEqual({ jobId: "j1", duplicate: true, state: "delayed" })
      expect((yield* log()).length).toBe(1)
    }).pipe(withRedis()),
  )

  it.live("submitted carries input, lane, attempts and causation", () =>
    Effect.gen(function* () {
      yield* submit("j1", {
        input: '{"deep":{"list":[1,"two",null]}}',
        lane: "high",
        maxAttempts: 7,
        correlationId: "corr-1",
        causationId: "cause-1",
      })
      const [event, ...rest] = yield* eventsOf("j1")
      expect(rest).toEqual([])
      expect(event).toMatchObject({
        type: "submitted",
        jobId: "j1",
        actor,
        attempt: 1,
        input: { deep: { list: [1, "two", null] } },
        lane: "high",
        maxAttempts: 7,
        correlationId: "corr-1",
        causationId: "cause-1",
      })
      expect(event && "delayUntil" in event).toBe(false)
      const status = yield* JobStore.status("j1")
      expect(status).toMatchObject({ state: "queued", lane: "high", correlationId: "corr-1", causationId: "cause-1" })
    }).pipe(withRedis()),
  )

  it.live("every key a job touches shares its partition's hash tag", () =>
    Effect.gen(function* () {
      const { keyspace } = yield* Settings
      for (const p of keyspace.all) {
        const all = [
          p.jobs,
          p.events,
          p.list(actor, "queued"),
          p.inbox(actor, lane),
          p.delayed(actor, lane),
          p.dead(actor),
        ]
        expect(new Set(all.map(hashTag))).toEqual(new Set([`p${p.index}`]))
      }
      // The keys the scripts actually wrote: per partition, one tag each.
      for (let i = 0; i < 12; i++) yield* submit(`job-${i}`, { delayMs: i % 2 === 0 ? 0 : 60_000 })
      const written = yield* redis((c) => c.keys(`${keyspace.prefix}:*`))
      expect(written.length).toBeGreaterThan(0)
      for (const key of written) expect(hashTag(key)).toMatch(/^p[0-3]$/)
      for (let i = 0; i < 12; i++) {
        const home = keyspace.partitionOf(`job-${i}`)
        const raw = yield* redis((c) => c.hget(home.jobs, `job-${i}`))
        expect(raw).not.toBeNull()
      }
    }).pipe(withRedis({ partitions: 4 })),
  )

  it.live("locate finds a job placed by its partition key", () =>
    Effect.gen(function* () {
      const { keyspace } = yield* Settings
      const partitionKey = Array.from({ length: 100 }, (_, i) => `tenant-${i}`).find(
        (key) => keyspace.partitionOf("j1", key).index !== keyspace.partitionOf("j1").index,
      )
      expect(partitionKey).toBeDefined()
      const placed = keyspace.partitionOf("j1", partitionKey)
      yield* submit("j1", { partitionKey })
      expect(yield* redis((c) => c.hget(keyspace.partitionOf("j1").jobs, "j1"))).toBeNull()
      const found = yield* JobStore.locate("j1")
      expect(Option.map(found, (f) => [f.partition.index, f.status.state])).toEqual(
        Option.some([placed.index, "queued"]),
      )
      const history = yield* JobStore.history("j1")
      expect(history.map((e) => e.type)).toEqual(["submitted"])
      expect(yield* JobStore.locate("nope")).toEqual(Option.none())
      const missing = yield* Effect.flip(JobStore.status("nope"))
      expect(missing._tag).toBe("JobNotFound")
      // A job placed by a partition key is found by the lighter read too, running and ended.
      expect(yield* JobStore.endedStatus("j1")).toEqual(Option.none())
      expect((yield* Effect.flip(JobStore.endedStatus("nope")))._tag).toBe("JobNotFound")
      const delivery = yield* readOne("c1", "j1", { partition: placed.index, actor, lane })
      yield* Deliveries.start(delivery, "c1")
      yield* Deliveries.complete(delivery, "c1", "7")
      expect(Option.map(yield* JobStore.endedStatus("j1"), (status) => [status.state, status.output])).toEqual(
        Option.some(["succeeded", 7]),
      )
    }).pipe(withRedis({ partitions: 8 })),
  )
})

describe("endedStatus", () => {
  it.live("is None while a job waits or runs, its status once it has ended, JobNotFound without a job", () =>
    Effect.gen(function* () {
      yield* submit("j1")
      expect(yield* JobStore.endedStatus("j1")).toEqual(Option.none())
      const delivery = yield* take("j2", "c1")
      expect(yield* JobStore.endedStatus("j2")).toEqual(Option.none())
      yield* Deliveries.complete(delivery, "c1", '{"answer":42}')
      const ended = yield* JobStore.endedStatus("j2")
      expect(ended).toEqual(Option.some(yield* JobStore.status("j2")))
      expect(Option.map(ended, (status) => [status.state, status.output])).toEqual(
        Option.some(["succeeded", { answer: 42 }]),
      )
      expect((yield* Effect.flip(JobStore.endedStatus("nope")))._tag).toBe("JobNotFound")
      // A field that is no record reads as no job, as it does for `status`.
      const p = yield* keys()
      yield* redis((c) => c.hset(p.jobs, "junk", "not json"))
      expect((yield* Effect.flip(JobStore.endedStatus("junk")))._tag).toBe("JobNotFound")
      expect((yield* Effect.flip(JobStore.status("junk")))._tag).toBe("JobNotFound")
    }).pipe(withRedis()),
  )
})
