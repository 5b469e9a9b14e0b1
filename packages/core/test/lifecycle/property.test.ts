/**
 * Random interleavings of every lifecycle call by a few simulated workers and an operator, on a
 * real Redis with a fresh key space per run. Typed refusals are expected and ignored; afterwards
 * the records, the event log, the inbox and the delayed set must tell one consistent story.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Runtime } from "effect"
import fc from "fast-check"
import * as Deliveries from "../../src/Deliveries.js"
import * as JobEvent from "../../src/JobEvent.js"
import * as JobStatus from "../../src/JobStatus.js"
import * as JobStore from "../../src/JobStore.js"
import * as ReadModel from "../../src/ReadModel.js"
import type { RedisClient } from "../../src/RedisClient.js"
import * as Settings from "../../src/Settings.js"
import * as StreamKeys from "../../src/StreamKeys.js"
import * as TestRedis from "../support/TestRedis.js"
import { actor, failure, inbox, keys, lane, log, pending, read, record, redis, submit } from "./support.js"

const jobCount = 5
const consumers = ["c1", "c2", "c3"] as const

type Fenced = "start" | "complete" | "release" | "confirmCancel" | "progress"
type Op =
  | { readonly op: "submit"; readonly job: number; readonly delayMs: number; readonly maxAttempts: number }
  | { readonly op: "read"; readonly consumer: number; readonly count: number }
  | { readonly op: "take"; readonly consumer: number }
  | { readonly op: Fenced; readonly consumer: number; readonly pick: number }
  | {
      readonly op: "fail"
      readonly consumer: number
      readonly pick: number
      readonly retryable: boolean
      readonly retryDelayMs: number
    }
  | { readonly op: "renew"; readonly consumer: number }
  | { readonly op: "reclaim"; readonly consumer: number; readonly count: number; readonly maxDeliveries: number }
  | { readonly op: "promote" }
  | { readonly op: "cancel"; readonly job: number }
  | { readonly op: "sleep"; readonly ms: number }
  | { readonly op: "claim"; readonly consumer: number; readonly count: number }
  | { readonly op: "requeue" | "purge"; readonly job: number }
  | { readonly op: "expire" }

const job = fc.nat({ max: jobCount - 1 })
const consumer = fc.nat({ max: consumers.length - 1 })
const pick = fc.nat({ max: 7 })
const fenced = (op: Fenced) => fc.record({ op: fc.constant(op), consumer, pick })

const submitArb = fc.record({
  op: fc.constant("submit" as const),
  job,
  delayMs: fc.constantFrom(0, 0, 20, 50),
  maxAttempts: fc.integer({ min: 1, max: 3 }),
})

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: submitArb },
  { weight: 5, arbitrary: fc.record({ op: fc.constant("take" as const), consumer }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("read" as const), consumer, count: fc.integer({ min: 1, max: 3 }) }),
  },
  { weight: 2, arbitrary: fenced("start") },
  { weight: 4, arbitrary: fenced("complete") },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("fail" as const),
      consumer,
      pick,
      retryable: fc.boolean(),
      retryDelayMs: fc.constantFrom(0, 20),
    }),
  },
  { weight: 1, arbitrary: fenced("release") },
  { weight: 1, arbitrary: fenced("confirmCancel") },
  { weight: 1, arbitrary: fenced("progress") },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("renew" as const), consumer }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("reclaim" as const),
      consumer,
      count: fc.integer({ min: 1, max: 4 }),
      maxDeliveries: fc.integer({ min: 2, max: 4 }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ op: "promote" as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("cancel" as const), job }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("sleep" as const), ms: fc.integer({ min: 0, max: 30 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("claim" as const), consumer, count: fc.integer({ min: 1, max: 3 }) }),
  },
)

/** The operator's calls that delete or revive jobs: the read-model property adds them. */
const operatorArb: fc.Arbitrary<Op> = fc.oneof(
  opArb,
  fc.record({ op: fc.constantFrom("requeue" as const, "purge" as const), job }),
  fc.constant({ op: "expire" as const }),
)

/** A few submissions first, then anything. */
const scenarioOf = (ops: fc.Arbitrary<Op>) =>
  fc
    .tuple(
      fc.array(submitArb, { minLength: 2, maxLength: 5 }),
      fc.array(ops, { minLength: 10, maxLength: 35, size: "max" }),
    )
    .map(([first, rest]): ReadonlyArray<Op> => [...first, ...rest])
const scenario = scenarioOf(opArb)

const refusals = new Set(["LeaseLost", "JobNotFound", "JobAlreadyFinished", "CancelRequested", "JobNotInState"])

/** Runs a call, turning a typed refusal into its tag; anything else fails the run. */
const attempt = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.map((value) => ({ ok: true as const, value })),
    Effect.catchIf(
      (error) => refusals.has(error._tag),
      (error) => Effect.succeed({ ok: false as const, refusal: error._tag }),
    ),
  )

/** The state a job is in right after an event; undefined for events that change no state. */
const stateAfter = (event: JobEvent.JobEvent): JobStatus.State | undefined => {
  switch (event.type) {
    case "submitted":
      return event.delayUntil === undefined ? "queued" : "delayed"
    case "started":
      return "active"
    case "failed":
      // A final failure is followed by its deadLettered in the same call.
      return event.willRetry ? "retrying" : undefined
    case "succeeded":
    case "deadLettered":
    case "cancelled":
      return event.type
    case "released":
    case "requeued":
      return "queued"
    default:
      return undefined
  }
}

const holderOf = (entryId: string) =>
  Effect.map(pending(), (rows) => rows.find((row) => row.entryId === entryId)?.consumer)

const run = (ops: ReadonlyArray<Op>, operator = false) =>
  Effect.gen(function* () {
    const held = consumers.map(() => [] as Array<Deliveries.Delivery>)
    const submitted = new Set<string>()
    const heldBy = (c: number) => held[c] as Array<Deliveries.Delivery>
    const choose = (c: number, n: number) => {
      const list = heldBy(c)
      return list.length === 0 ? undefined : list[n % list.length]
    }
    const drop = (c: number, delivery: Deliveries.Delivery) => {
      const list = heldBy(c)
      list.splice(list.indexOf(delivery), 1)
    }
    /** A fenced call: when it is applied, the caller held the entry just before. */
    const fencedCall = <A, E extends { readonly _tag: string }>(
      c: number,
      n: number,
      call: (delivery: Deliveries.Delivery, name: string) => Effect.Effect<A, E, RedisClient | Settings.Settings>,
      keep: (outcome: { ok: boolean; refusal?: string }) => boolean,
    ) =>
      Effect.gen(function* () {
        const delivery = choose(c, n)
        if (delivery === undefined) return
        const name = consumers[c] as string
        const holder = yield* holderOf(delivery.entryId)
        const outcome = yield* attempt(call(delivery, name))
        if (outcome.ok) expect(holder).toBe(name)
        if (!outcome.ok && outcome.refusal === "LeaseLost") expect(holder).not.toBe(name)
        if (!keep(outcome)) drop(c, delivery)
      })
    // As a worker does before it reads or reclaims.
    for (const each of StreamKeys.lanes) yield* Deliveries.ensureGroup(inbox.partition, actor, each)
    const keepRunning = (o: { ok: boolean; refusal?: string }) => o.ok || o.refusal === "CancelRequested"
    const never = () => false

    for (const step of ops) {
      switch (step.op) {
        case "submit": {
          const id = `j${step.job}`
          const before = yield* record(id)
          const result = yield* submit(id, { delayMs: step.delayMs, maxAttempts: step.maxAttempts })
          // (An operator's purge or expire frees an id again.)
          if (!operator) expect(result.duplicate).toBe(submitted.has(id))
          if (before !== undefined) expect(result.state).toBe(before.s)
          submitted.add(id)
          break
        }
        case "read":
          heldBy(step.consumer).push(...(yield* read(consumers[step.consumer] as string, { count: step.count })))
          break
        case "take": {
          // XREADGROUP one delivery and start it at once, as a worker does.
          const [delivery] = yield* read(consumers[step.consumer] as string, { count: 1 })
          if (delivery === undefined) break
          heldBy(step.consumer).push(delivery)
          yield* fencedCall(step.consumer, heldBy(step.consumer).length - 1, Deliveries.start, keepRunning)
          break
        }
        case "start":
          yield* fencedCall(step.consumer, step.pick, Deliveries.start, keepRunning)
          break
        case "progress":
          yield* fencedCall(step.consumer, step.pick, (d, c) => Deliveries.progress(d, c, 0.5), keepRunning)
          break
        case "complete":
          // One job alone, or as a batch of one (which buffers its read-model writes).
          yield* fencedCall(
            step.consumer,
            step.pick,
            step.pick % 2 === 0
              ? (d, c) => Deliveries.complete(d, c, '"done"')
              : (d, c) =>
                  Deliveries.completeMany([{ delivery: d, output: '"done"' }], c).pipe(
                    Effect.flatMap((outcomes) => outcomes[0] as Either.Either<void, { readonly _tag: string }>),
                  ),
            never,
          )
          break
        case "release":
          yield* fencedCall(step.consumer, step.pick, Deliveries.release, never)
          break
        case "confirmCancel":
          yield* fencedCall(step.consumer, step.pick, Deliveries.confirmCancel, (o) => o.refusal === "JobNotInState")
          break
        case "fail":
          yield* fencedCall(
            step.consumer,
            step.pick,
            (d, c) =>
              Deliveries.fail(d, c, failure("boom", { retryable: step.retryable, retryDelayMs: step.retryDelayMs })),
            never,
          )
          break
        case "renew": {
          const list = heldBy(step.consumer)
          const outcomes = yield* Deliveries.renew(list, consumers[step.consumer] as string)
          expect(outcomes).toHaveLength(list.length)
          const rows = yield* pending()
          outcomes.forEach((outcome, i) => {
            const delivery = list[i] as Deliveries.Delivery
            const holder = rows.find((row) => row.entryId === delivery.entryId)?.consumer
            if (outcome !== "lost") expect(holder).toBe(consumers[step.consumer])
          })
          break
        }
        case "reclaim": {
          const result = yield* Deliveries.reclaim(inbox, consumers[step.consumer] as string, {
            minIdle: Duration.zero,
            count: step.count,
            maxDeliveries: step.maxDeliveries,
          })
          expect(result.deliveries.length + result.deadLettered + result.cancelled).toBeLessThanOrEqual(step.count)
          expect(result.deleted).toBe(0)
          heldBy(step.consumer).push(...result.deliveries)
          break
        }
        case "promote":
          yield* Deliveries.promote(inbox)
          break
        case "cancel":
          yield* attempt(JobStore.cancel(`j${step.job}`))
          break
        case "sleep":
          yield* Effect.sleep(Duration.millis(step.ms))
          break
        case "claim": {
          const name = consumers[step.consumer] as string
          const claimed = yield* Deliveries.claim(inbox.partition, actor, name, step.count)
          for (const { delivery, started } of claimed)
            if (started !== undefined && (Either.isRight(started) || started.left._tag === "CancelRequested"))
              heldBy(step.consumer).push(delivery)
          break
        }
        case "requeue":
          yield* attempt(JobStore.requeue(`j${step.job}`))
          break
        case "purge":
          yield* attempt(JobStore.purge(`j${step.job}`))
          break
        case "expire":
          yield* JobStore.expire()
          break
      }
    }
    if (!operator) yield* check(submitted)
    yield* checkModel
  })

/** The read model, whole: each list with its scores, and the rates. */
const modelSnapshot = Effect.gen(function* () {
  const p = yield* keys()
  const lists: Record<string, Array<string>> = {}
  for (const state of StreamKeys.states)
    lists[state] = yield* redis((c) => c.zrange(p.list(actor, state), 0, -1, "WITHSCORES"))
  return { lists, rates: yield* redis((c) => c.hgetall(p.rates)) }
})

/**
 * The inline read model lists every job with a record in exactly its record's state, and no job
 * without one; a rebuild from the log gives the same model, scores and rates included.
 */
const checkModel = Effect.gen(function* () {
  const p = yield* keys()
  const before = yield* modelSnapshot
  const records = yield* redis((c) => c.hgetallBuffer(p.jobs))
  const listed = new Map<string, string>()
  for (const [state, flat] of Object.entries(before.lists))
    for (let i = 0; i < flat.length; i += 2) {
      const id = flat[i] as string
      expect(listed.has(id)).toBe(false)
      listed.set(id, state)
    }
  expect(new Set(listed.keys())).toEqual(new Set(Object.keys(records)))
  for (const [id, raw] of Object.entries(records)) expect(listed.get(id)).toBe(JobStatus.stateOfRecord(raw))
  yield* ReadModel.rebuild
  expect(yield* modelSnapshot).toEqual(before)
})

/** What must hold after any interleaving. */
const check = (submitted: ReadonlySet<string>) =>
  Effect.gen(function* () {
    const p = yield* keys()
    const entries = yield* log()
    const inboxIds = (yield* redis((c) => c.xrange(p.inbox(actor, lane), "-", "+"))).map(([id]) => id)
    const delayed = new Map<string, number>()
    const flat = yield* redis((c) => c.zrange(p.delayed(actor, lane), 0, -1, "WITHSCORES"))
    for (let i = 0; i + 1 < flat.length; i += 2) delayed.set(flat[i] as string, Number(flat[i + 1]))
    const rows = yield* pending()
    const live = new Set<string>()
    const deadIds = (yield* redis((c) => c.xrange(p.dead(actor), "-", "+"))).map(([id]) => id)
    let deadLettered = 0

    // Only submitted jobs have events.
    for (const entry of entries) expect(submitted.has(entry.fields.job ?? "")).toBe(true)

    for (const id of submitted) {
      const job = yield* record(id)
      if (job === undefined) return expect.unreachable(`${id} has no record`)
      const status = yield* JobStore.status(id)
      expect(JobStatus.State.literals).toContain(status.state)
      expect(job.n).toBeGreaterThanOrEqual(1)
      expect(job.n).toBeLessThanOrEqual(job.m)

      // The job's history is exactly its events in the partition log, in order.
      const own = entries.filter((entry) => entry.fields.job === id)
      expect(status.eventIds).toEqual(own.map((entry) => entry.id))
      for (let i = 1; i < status.eventIds.length; i++)
        expect(JobEvent.compareIds(status.eventIds[i - 1] as string, status.eventIds[i] as string)).toBeLessThan(0)
      const events = own.map((entry) => JobEvent.fromEntry(entry.id, entry.flat))
      const decoded = events.flatMap((event) => (event._tag === "Some" ? [event.value] : []))
      expect(decoded).toHaveLength(own.length)
      expect(decoded[0]?.type).toBe("submitted")

      // Exactly one terminal event for a finished job, none for another, and it is the last word.
      const terminal = decoded.filter(JobEvent.isTerminal)
      expect(terminal.length).toBe(JobStatus.isFinished(status.state) ? 1 : 0)
      if (terminal[0] !== undefined) expect(decoded.at(-1)).toBe(terminal[0])

      // The record agrees with the last event that changed the state.
      const states = decoded.flatMap((event) => {
        const state = stateAfter(event)
        return state === undefined ? [] : [state]
      })
      expect(states.at(-1)).toBe(status.state)

      // A requested cancel can only end in cancelled.
      const requested = decoded.some((event) => event.type === "cancelRequested")
      if (requested && JobStatus.isFinished(status.state)) expect(status.state).toBe("cancelled")
      if (status.cancelRequested) {
        expect(status.state).toBe("active")
        expect(requested).toBe(true)
      }

      // Each retry counts one attempt, nothing else does.
      const retries = decoded.filter((event) => event.type === "failed" && event.willRetry).length
      expect(job.n).toBe(1 + retries)

      // Where the job waits matches its state; finished jobs leave nothing behind.
      switch (status.state) {
        case "active":
        case "queued":
          // A running job's entry is held: by the consumer that started it, or by a reclaimer since.
          if (status.state === "active") expect(rows.map((row) => row.entryId)).toContain(job.x)
          expect(inboxIds).toContain(job.x)
          live.add(job.x as string)
          expect(delayed.has(id)).toBe(false)
          break
        case "delayed":
        case "retrying":
          expect(job.x).toBeUndefined()
          expect(delayed.get(id)).toBe(job.due)
          break
        default: {
          expect(job.x).toBeUndefined()
          expect(delayed.has(id)).toBe(false)
          // Listed in how it ended since it ended: the list is also its expiry index.
          expect(Number(yield* redis((c) => c.zscore(p.list(actor, status.state), id)))).toBe(job.ft)
          if (status.state === "deadLettered") {
            expect(deadIds).toContain(job.dl)
            deadLettered += 1
          }
        }
      }
    }
    // One dead letter per dead-lettered job (nothing is requeued or purged here).
    expect(deadIds).toHaveLength(deadLettered)
    // Every inbox entry and every pending delivery belongs to a waiting or running job.
    expect(inboxIds.every((entryId) => live.has(entryId))).toBe(true)
    expect(rows.every((row) => live.has(row.entryId))).toBe(true)
  })

describe("lifecycle property", () => {
  it.live(
    "any interleaving keeps records, log and queues consistent",
    () =>
      Effect.gen(function* () {
        const runtime = yield* Effect.runtime<RedisClient>()
        const once = (ops: ReadonlyArray<Op>) =>
          Runtime.runPromise(runtime)(
            run(ops).pipe(Effect.provide(Settings.layer({ prefix: TestRedis.uniquePrefix("prop") }))),
          )
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(scenario, async (ops) => {
              await once(ops)
            }),
            { numRuns: 50 },
          ),
        )
      }).pipe(Effect.provide(TestRedis.layer())),
    120_000,
  )

  it.live(
    "with requeue, purge and expire too, the inline read model equals a rebuild from the log",
    () =>
      Effect.gen(function* () {
        const runtime = yield* Effect.runtime<RedisClient>()
        const once = (ops: ReadonlyArray<Op>) =>
          Runtime.runPromise(runtime)(
            run(ops, true).pipe(
              Effect.provide(
                Settings.layer({
                  prefix: TestRedis.uniquePrefix("prop"),
                  retention: Duration.millis(25),
                  deadLetterRetention: Duration.millis(40),
                }),
              ),
            ),
          )
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(scenarioOf(operatorArb), async (ops) => {
              await once(ops)
            }),
            { numRuns: 50 },
          ),
        )
      }).pipe(Effect.provide(TestRedis.layer())),
    120_000,
  )
})
