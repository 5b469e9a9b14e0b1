/**
 * The read model (the status projection), kept inline: every lifecycle script that appends an
 * event folds it into the model in the same call (`fold` in `lib/model.lua`), so the model never lags
 * the log. Per partition it holds, for each actor and state, a list of the job ids in that state
 * by when they entered it (a sorted set, or a stream for a finished state: see `lib/model.lua`; the
 * counts are their sizes), and outcomes per minute.
 * This module reads it — counts, rates, cursor-paged job lists — and rebuilds it from the log.
 */
import { Clock, Effect, Option, Schema } from "effect"
import { runScript } from "./internal/runScript.js"
import * as JobStatus from "./JobStatus.js"
import { RedisClient } from "./RedisClient.js"
import * as Scripts from "./Scripts.js"
import { Settings } from "./Settings.js"
import { type PartitionKeys, states } from "./StreamKeys.js"

/** Jobs per state of one actor. */
export type Counts = Record<JobStatus.State, number>

/** The outcomes counted per minute. */
export const outcomes = ["succeeded", "failed", "deadLettered"] as const
export type Outcome = (typeof outcomes)[number]

/** Minutes of outcomes the model keeps (`RATE_MINUTES` in lib/model.lua). */
export const rateMinutes = 60

/** A job-list request that cannot be answered as asked. Nothing was read. */
export class InvalidListRequest extends Schema.TaggedError<InvalidListRequest>()("InvalidListRequest", {
  message: Schema.String,
}) {}

/** Every actor that has had jobs, over all partitions, sorted. */
export const actors = Effect.gen(function* () {
  const { keyspace } = yield* Settings
  const redis = yield* RedisClient
  const sets = yield* Effect.forEach(keyspace.all, (p) => redis.run((c) => c.smembers(p.actors)), {
    concurrency: "unbounded",
  })
  return [...new Set(sets.flat())].sort()
})

const emptyCounts = (): Counts => ({
  queued: 0,
  delayed: 0,
  active: 0,
  retrying: 0,
  succeeded: 0,
  deadLettered: 0,
  cancelled: 0,
})

/** Jobs per state of each actor (the given ones, else every actor that has had jobs). */
export const counts = (only?: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings
    const names = only ?? (yield* actors)
    const result = new Map<string, Counts>(names.map((actor) => [actor, emptyCounts()]))
    if (names.length === 0) return result
    const cells = names.flatMap((actor) => states.map((state) => ({ actor, state })))
    // One call per partition for all its lists.
    const partitions = yield* Effect.forEach(
      keyspace.all,
      (p) => {
        const [first, ...rest] = cells.map(({ actor, state }) => p.list(actor, state))
        return runScript(Scripts.listSize, { keys: { list: first as string }, args: {}, moreKeys: rest })
      },
      { concurrency: "unbounded" },
    )
    for (const sizes of partitions)
      cells.forEach(({ actor, state }, i) => {
        const entry = result.get(actor) as Counts
        entry[state] += Number(sizes[i] ?? 0)
      })
    return result
  })

/** One minute of an actor's outcomes. */
export interface MinuteOutcomes {
  /** Minutes since the epoch. */
  readonly minute: number
  readonly succeeded: number
  readonly failed: number
  readonly deadLettered: number
}

/** The raw rates of every partition: actor → minute → outcome → count. */
const rawRates = Effect.gen(function* () {
  const { keyspace } = yield* Settings
  const redis = yield* RedisClient
  const hashes = yield* Effect.forEach(keyspace.all, (p) => redis.run((c) => c.hgetall(p.rates)), {
    concurrency: "unbounded",
  })
  const result = new Map<string, Map<number, Record<string, number>>>()
  for (const hash of hashes)
    for (const [field, value] of Object.entries(hash)) {
      // `<actor>|<outcome>|<minute>`; an actor name may itself hold `|`.
      const last = field.lastIndexOf("|")
      const middle = field.lastIndexOf("|", last - 1)
      if (middle < 0) continue
      const actor = field.slice(0, middle)
      const outcome = field.slice(middle + 1, last)
      const minute = Number(field.slice(last + 1))
      const minutes = result.get(actor) ?? new Map<number, Record<string, number>>()
      const entry = minutes.get(minute) ?? {}
      entry[outcome] = (entry[outcome] ?? 0) + Number(value)
      minutes.set(minute, entry)
      result.set(actor, minutes)
    }
  return result
})

/** Outcomes per actor over the last `minutes` minutes, the current one included. */
export const rates = (minutes = 5) =>
  Effect.gen(function* () {
    const now = Math.floor((yield* Clock.currentTimeMillis) / 60_000)
    const raw = yield* rawRates
    const result = new Map<string, Record<string, number>>()
    for (const [actor, byMinute] of raw) {
      const sum: Record<string, number> = {}
      for (const [minute, entry] of byMinute)
        if (minute > now - minutes)
          for (const [outcome, n] of Object.entries(entry)) sum[outcome] = (sum[outcome] ?? 0) + n
      result.set(actor, sum)
    }
    return result
  })

/** Each actor's outcomes minute by minute over the last `minutes` (oldest first, zeros filled in). */
export const ratesPerMinute = (minutes = rateMinutes) =>
  Effect.gen(function* () {
    const now = Math.floor((yield* Clock.currentTimeMillis) / 60_000)
    const raw = yield* rawRates
    const result = new Map<string, ReadonlyArray<MinuteOutcomes>>()
    for (const [actor, byMinute] of raw)
      result.set(
        actor,
        Array.from({ length: minutes }, (_, i) => {
          const minute = now - minutes + 1 + i
          const entry = byMinute.get(minute) ?? {}
          return {
            minute,
            succeeded: entry.succeeded ?? 0,
            failed: entry.failed ?? 0,
            deadLettered: entry.deadLettered ?? 0,
          }
        }),
      )
    return result
  })

/** Page sizes of `listJobs`. */
export const listLimits = { default: 50, max: 500 } as const

/** A page of an actor's jobs in one state, newest first. */
export interface JobPage {
  readonly jobs: ReadonlyArray<JobStatus.JobStatus>
  /** Pass it back for the next page; absent on the last. */
  readonly nextCursor?: string
}

interface Position {
  readonly score: number
  readonly id: string
}

/** The cursor is opaque to callers: base64url of `<score>:<id>`. */
const encodeCursor = (position: Position) => Buffer.from(`${position.score}:${position.id}`).toString("base64url")

const decodeCursor = (cursor: string): Position | undefined => {
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(cursor)) return undefined
  const match = /^(\d{1,16}):(.+)$/s.exec(Buffer.from(cursor, "base64url").toString("utf8"))
  return match === null ? undefined : { score: Number(match[1]), id: match[2] as string }
}

/** (score desc, id desc by bytes): the order of the lists read newest first. */
const newerFirst = (a: Position, b: Position) =>
  b.score - a.score || Buffer.compare(Buffer.from(b.id), Buffer.from(a.id))

const isState = Schema.is(JobStatus.State)

/**
 * One page of `actor`'s jobs in `state`, newest first (by when they entered it), over every
 * partition. Paging is by position, so a job that leaves the state between pages is neither
 * repeated nor makes another be skipped; one that enters it meanwhile shows on a first page.
 * A job that moved on while the page was read is left out of it.
 */
export const listJobs = (
  actor: string,
  state: string,
  options: { readonly limit?: number | undefined; readonly cursor?: string | undefined } = {},
) =>
  Effect.gen(function* () {
    if (!isState(state))
      return yield* new InvalidListRequest({
        message: `state must be one of ${JobStatus.State.literals.join(", ")}; got ${JSON.stringify(state)}`,
      })
    const limit = options.limit ?? listLimits.default
    if (!Number.isInteger(limit) || limit < 1 || limit > listLimits.max)
      return yield* new InvalidListRequest({ message: `limit must be an integer from 1 to ${listLimits.max}` })
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor)
    if (options.cursor !== undefined && after === undefined)
      return yield* new InvalidListRequest({ message: "cursor is not one this API returned" })
    const { keyspace } = yield* Settings
    const redis = yield* RedisClient
    // Each partition's next limit + 1 (one more tells whether a next page exists); the merge of
    // those is exact for the first limit + 1 overall.
    const pages = yield* Effect.forEach(
      keyspace.all,
      (p) =>
        runScript(Scripts.listPage, {
          keys: { list: p.list(actor, state) },
          args: { score: after === undefined ? "" : after.score, after: after?.id ?? "", limit: limit + 1 },
        }).pipe(
          Effect.map((flat) => {
            const items: Array<Position & { readonly p: PartitionKeys }> = []
            for (let i = 0; i + 1 < flat.length; i += 2)
              items.push({ id: String(flat[i]), score: Number(flat[i + 1]), p })
            return items
          }),
        ),
      { concurrency: "unbounded" },
    )
    const merged = pages.flat().sort(newerFirst)
    const chosen = merged.slice(0, limit)
    const byPartition = new Map<PartitionKeys, Array<string>>()
    for (const item of chosen) byPartition.set(item.p, [...(byPartition.get(item.p) ?? []), item.id])
    const records = new Map<string, Buffer>()
    yield* Effect.forEach(
      byPartition,
      ([p, ids]) =>
        redis
          .run((c) => c.hmgetBuffer(p.jobs, ...ids))
          .pipe(
            Effect.map((raw) =>
              raw.forEach((text, i) => {
                if (text !== null) records.set(ids[i] as string, text)
              }),
            ),
          ),
      { concurrency: "unbounded", discard: true },
    )
    const jobs = chosen.flatMap((item) => {
      const raw = records.get(item.id)
      const status = raw === undefined ? Option.none() : JobStatus.fromRecord(item.id, raw)
      return Option.isSome(status) && status.value.state === state && status.value.actor === actor ? [status.value] : []
    })
    const last = chosen[chosen.length - 1]
    return (
      merged.length > limit && last !== undefined ? { jobs, nextCursor: encodeCursor(last) } : { jobs }
    ) satisfies JobPage
  })

/** Events folded per script call of `rebuild`: bounded, so a rebuild never holds Redis for long. */
const rebuildChunk = 1_000

/**
 * Clears the read model and folds every partition's retained log into it again, with the same
 * fold the scripts apply inline. Jobs whose record is gone (expired, purged) land in no list.
 * Meant for a quiet system: outcomes of events appended while it runs may be counted twice, and
 * a job that finished before the rebuild reached it may be left out of its finished list when
 * live traffic listed a later one first (logged; nor does `expire` find its record then, until
 * a rebuild on a quiet system lists it).
 * Returns how many script calls it took. `rebuildInChunks` folds `chunk` events per call.
 */
export const rebuildInChunks = (chunk: number) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings
    const redis = yield* RedisClient
    let calls = 0
    let unlisted = 0
    for (const p of keyspace.all) {
      const names = [...(yield* redis.run((c) => c.smembers(p.actors)))]
      let cursor = "0-0"
      let cleared = -1
      for (;;) {
        const reply = yield* runScript(Scripts.rebuild, {
          keys: { events: p.events, jobs: p.jobs, rates: p.rates },
          args: { cursor, count: chunk, cleared },
          moreKeys: names.flatMap((actor) => states.map((state) => p.list(actor, state))),
          moreArgs: names,
        })
        calls++
        cleared = names.length
        const [next, unknown] = [String(reply[0]), String(reply[1])]
        unlisted += Number(reply[2] ?? 0)
        if (unknown !== "") {
          // An actor the partition did not list (its set was lost): name it from now on.
          names.push(unknown)
          yield* redis.run((c) => c.sadd(p.actors, unknown))
        }
        if (next === "") break
        cursor = next
      }
    }
    if (unlisted > 0)
      yield* Effect.logWarning(
        `read model rebuilt beside live traffic: ${unlisted} finished jobs are missing from their lists; rebuild again on a quiet system`,
      )
    return calls
  })

export const rebuild = rebuildInChunks(rebuildChunk)
