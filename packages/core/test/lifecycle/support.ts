/**
 * Shared helpers for the real-Redis lifecycle tests: a layer with a fresh key prefix, a consumer
 * that reads deliveries with XREADGROUP, and raw reads of records, logs and pending lists.
 */
import { Duration, Effect, Layer, Option } from "effect"
import type { Lane } from "../../src/Actor.js"
import * as Deliveries from "../../src/Deliveries.js"
import * as JobEvent from "../../src/JobEvent.js"
import * as JobStatus from "../../src/JobStatus.js"
import * as JobStore from "../../src/JobStore.js"
import * as ReadModel from "../../src/ReadModel.js"
import { type Commands, RedisClient } from "../../src/RedisClient.js"
import * as Settings from "../../src/Settings.js"
import * as StreamKeys from "../../src/StreamKeys.js"
import * as TestRedis from "../support/TestRedis.js"

export const actor = "echo"
export const lane: Lane = "normal"

/** Where deliveries are read from, unless a test says otherwise. */
export interface Inbox {
  readonly partition: number
  readonly actor: string
  readonly lane: Lane
}
export const inbox: Inbox = { partition: 0, actor, lane }

export type Options = Partial<Omit<Settings.SettingsService, "keyspace">> & { readonly partitions?: number }

/** A Redis client on the run's server and settings with a key prefix no other test uses. */
export const layer = (options: Options = {}) =>
  Layer.merge(TestRedis.layer(), Settings.layer({ prefix: TestRedis.uniquePrefix("lc"), ...options }))

/** Runs a test body against its own key space. */
export const withRedis =
  (options: Options = {}) =>
  <A, E>(effect: Effect.Effect<A, E, RedisClient | Settings.Settings>) =>
    Effect.provide(effect, layer(options))

/** One raw command on the shared connection. */
export const redis = <A>(command: (connection: Commands) => Promise<A>) =>
  Effect.flatMap(RedisClient, (client) => client.run(command))

/**
 * A read-model list whole, in its order, as [job id, when it entered the state]: a sorted set's
 * members and scores, or a finished list's (a stream's) entries and their times.
 */
export const listed = (list: string) =>
  redis(async (c): Promise<Array<readonly [string, number]>> => {
    if ((await c.type(list)) === "stream")
      return (await c.xrange(list, "-", "+")).map(([id, fields]) => [String(fields[1]), Number(id.split("-")[0])])
    const flat = await c.zrange(list, 0, -1, "WITHSCORES")
    const pairs: Array<readonly [string, number]> = []
    for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i] as string, Number(flat[i + 1])])
    return pairs
  })

/** The read model of `actor` in partition 0, whole: each list with its [job id, time] pairs, and the rates. */
export const modelSnapshot = Effect.gen(function* () {
  const p = yield* keys()
  const lists: Record<string, ReadonlyArray<readonly [string, number]>> = {}
  for (const state of StreamKeys.states) lists[state] = yield* listed(p.list(actor, state))
  return { lists, rates: yield* redis((c) => c.hgetall(p.rates)) }
})

/**
 * Every page of `actor`'s jobs in `state`, following the cursors: the ids of each page. `between`
 * runs after each page (given how many were read), before the next is asked for.
 */
export const allPages = <E = never, R = never>(
  state: string,
  limit: number,
  between?: (page: number) => Effect.Effect<void, E, R>,
) =>
  Effect.gen(function* () {
    const pages: Array<Array<string>> = []
    let cursor: string | undefined
    do {
      const page = yield* ReadModel.listJobs(actor, state, { limit, cursor })
      pages.push(page.jobs.map((job) => job.jobId))
      cursor = page.nextCursor
      if (between !== undefined) yield* between(pages.length)
    } while (cursor !== undefined)
    return pages
  })

/** The job ids a read-model list holds, in its order. */
export const listedIds = (list: string) => Effect.map(listed(list), (pairs) => pairs.map(([id]) => id))

/** When a read-model list says job `id` entered its state; undefined when it does not hold it. */
export const listedAt = (list: string, id: string) =>
  Effect.map(listed(list), (pairs) => pairs.find(([listedId]) => listedId === id)?.[1])

/** The keys of a partition. */
export const keys = (partition = 0) => Effect.map(Settings.Settings, (s) => s.keyspace.partition(partition))

/** The inbox stream key. */
export const inboxKey = (where: Inbox = inbox) =>
  Effect.map(keys(where.partition), (p) => p.inbox(where.actor, where.lane))

/** Submits a job with test defaults. */
export const submit = (jobId: string, overrides: Partial<JobStore.SubmitRequest> = {}) =>
  JobStore.submit({ jobId, actor, lane, input: '{"n":1}', maxAttempts: 3, delayMs: 0, ...overrides })

type StreamReply = Array<[string, Array<[string, Array<string>]>]> | null

/** Reads new deliveries for `consumer` (XREADGROUP, no blocking); entries without `j` get jobId "". */
export const read = (consumer: string, options: { readonly count?: number; readonly from?: Inbox } = {}) =>
  Effect.gen(function* () {
    const where = options.from ?? inbox
    yield* Deliveries.ensureGroup(where.partition, where.actor, where.lane)
    const key = yield* inboxKey(where)
    const reply = (yield* redis((c) =>
      c.xreadgroup("GROUP", StreamKeys.workerGroup, consumer, "COUNT", options.count ?? 100, "STREAMS", key, ">"),
    )) as StreamReply
    const entries = reply?.[0]?.[1] ?? []
    return entries.map(
      ([entryId, fields]): Deliveries.Delivery => ({
        ...where,
        entryId,
        jobId: JobEvent.fieldsOf(fields).j ?? "",
      }),
    )
  })

/** Reads new deliveries and returns the one for `jobId` (fails the test when it is missing). */
export const readOne = (consumer: string, jobId: string, from: Inbox = inbox) =>
  Effect.flatMap(read(consumer, { from }), (deliveries) => {
    const found = deliveries.find((d) => d.jobId === jobId)
    return found === undefined ? Effect.dieMessage(`no delivery for ${jobId}`) : Effect.succeed(found)
  })

/** Submits a job, reads it as `consumer` and starts it. */
export const take = (jobId: string, consumer: string, overrides: Partial<JobStore.SubmitRequest> = {}) =>
  Effect.gen(function* () {
    yield* submit(jobId, overrides)
    const delivery = yield* readOne(consumer, jobId)
    yield* Deliveries.start(delivery, consumer)
    return delivery
  })

/** The raw job record (the script's JSON), or undefined. */
export interface RawRecord {
  readonly s: string
  readonly n: number
  readonly m: number
  readonly i: string
  readonly x?: string
  readonly o?: string
  readonly e?: string
  readonly r?: string
  readonly dl?: string
  readonly cr?: number
  readonly t: number
  readonly ft?: number
  readonly due?: number
  readonly w?: string
  readonly p?: number
  readonly h?: string
}
export const rawRecord = (jobId: string, partition = 0) =>
  Effect.flatMap(keys(partition), (p) => redis((c) => c.hgetBuffer(p.jobs, jobId)))

/** A job's stored record, with the times it keeps as offsets from `t` made absolute again. */
export const record = (jobId: string, partition = 0) =>
  Effect.map(rawRecord(jobId, partition), (raw) => {
    if (raw === null) return undefined
    const stored = { ...JobStatus.fieldsOfRecord(raw) } as Record<string, unknown> & { readonly t: number }
    for (const field of ["st", "ft", "due"])
      if (typeof stored[field] === "number") stored[field] = stored.t + (stored[field] as number)
    return stored as unknown as RawRecord
  })

/** One entry of the event log, flat fields paired. */
export interface LogEntry {
  readonly id: string
  /** As version 1 named them, whichever version wrote the entry. */
  readonly fields: JobEvent.EventFields
  readonly flat: ReadonlyArray<string>
}

/** The whole event log of a partition. */
export const log = (partition = 0) =>
  Effect.gen(function* () {
    const p = yield* keys(partition)
    const entries = yield* redis((c) => c.xrange(p.events, "-", "+"))
    return entries.map(([id, flat]): LogEntry => ({ id, flat, fields: JobEvent.eventFieldsOf(flat) ?? {} }))
  })

/** A job's decoded events from the partition log, oldest first. */
export const eventsOf = (jobId: string, partition = 0) =>
  Effect.map(log(partition), (entries) =>
    entries
      .filter((entry) => entry.fields.job === jobId)
      .flatMap((entry) => Option.toArray(JobEvent.fromEntry(entry.id, entry.flat))),
  )

export const typesOf = (jobId: string, partition = 0) =>
  Effect.map(eventsOf(jobId, partition), (events) => events.map((e) => e.type))

/** The last event of a job, of a given type. */
export const lastOf = <T extends JobEvent.Type>(jobId: string, type: T, partition = 0) =>
  Effect.map(eventsOf(jobId, partition), (events) => {
    const found = events.filter((e): e is Extract<JobEvent.JobEvent, { type: T }> => e.type === type).at(-1)
    if (found === undefined) throw new Error(`no ${type} event for ${jobId}`)
    return found
  })

/** One pending entry of an inbox's consumer group. */
export interface Pending {
  readonly entryId: string
  readonly consumer: string
  readonly idle: number
  readonly deliveries: number
}
export const pending = (where: Inbox = inbox) =>
  Effect.gen(function* () {
    const key = yield* inboxKey(where)
    const rows = (yield* redis((c) => c.xpending(key, StreamKeys.workerGroup, "-", "+", 1000))) as Array<
      [string, string, number, number]
    >
    return rows.map(
      ([entryId, consumer, idle, deliveries]): Pending => ({ entryId, consumer, idle, deliveries: Number(deliveries) }),
    )
  })

export const xlen = (key: string) => redis((c) => c.xlen(key))

/** Adds an inbox entry by hand, as another language or an old version might. */
export const handEntry = (fields: ReadonlyArray<string>, where: Inbox = inbox) =>
  Effect.gen(function* () {
    const key = yield* inboxKey(where)
    const id = yield* redis((c) => c.xadd(key, "*", ...fields))
    return id as string
  })

/** The Redis server's clock, in ms (the scripts' clock). */
export const serverNow = redis((c) => c.time()).pipe(
  Effect.map(([seconds, micros]) => Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)),
)

/** A failure description for `Deliveries.fail`. */
export const failure = (
  message: string,
  options: {
    readonly retryable?: boolean
    readonly retryDelayMs?: number
    readonly reason?: Deliveries.Failure["reason"]
  } = {},
): Deliveries.Failure => ({
  error: { tag: "Boom", message },
  retryable: options.retryable ?? true,
  retryDelay: Duration.millis(options.retryDelayMs ?? 0),
  ...(options.reason === undefined ? {} : { reason: options.reason }),
})

/** What a test compares before and after a refused call: nothing may change. */
export const snapshot = (jobId: string, partition = 0) =>
  Effect.all({ record: rawRecord(jobId, partition), log: log(partition) })
