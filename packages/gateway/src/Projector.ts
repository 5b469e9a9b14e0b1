/**
 * The projector: folds each partition's event log into the status projection, reading through
 * the `projector` consumer group so that it resumes where it stopped; entries it read but did
 * not acknowledge before a crash are read again first. One process at a time folds a partition
 * (a lock with a TTL, renewed as it works), which keeps every job's events in order; any number
 * of gateways can run a projector, the others stand by.
 *
 * It reads on the command connection with a short pause when the log is idle, instead of a
 * blocking read: that keeps a gateway at its connection budget (command + tail).
 */
import { randomUUID } from "node:crypto"
import { hostname } from "node:os"
import { JobEvent, RedisClient, Scripts, Settings, StreamKeys } from "@eddy/core"
import { Context, Duration, Effect, Layer, Option, Schedule } from "effect"
import * as Projection from "./Projection.js"

const script = (name: string, keys: number) =>
  Scripts.define(name, keys, new URL(`./internal/lua/${name}.lua`, import.meta.url))
export const projectScript = script("project", 4)
export const projectExpireScript = script("project-expire", 3)
export const lockScript = script("projector-lock", 1)

const batchSize = 500
const lockTtl = Duration.seconds(10)

type Entries = Array<[string, Array<string>]>
type XReadGroupReply = Array<[string, Entries]> | null

const run = (script: Scripts.Script, keys: ReadonlyArray<string>, args: ReadonlyArray<string | number>) =>
  Effect.flatMap(RedisClient.RedisClient, (redis) => redis.run((c) => Scripts.run(c, script, keys, args)))

/** Creates the projector group on a partition's log if missing. */
const ensureGroup = (events: string) =>
  Effect.flatMap(RedisClient.RedisClient, (redis) =>
    redis
      .run((c) => c.xgroup("CREATE", events, StreamKeys.projectorGroup, "0", "MKSTREAM"))
      .pipe(
        Effect.catchIf(
          (error) => error.message.includes("BUSYGROUP"),
          () => Effect.void,
        ),
      ),
  )

/** Folds a batch of events of one partition and writes each touched job once. */
export const applyBatch = (partition: number, events: ReadonlyArray<JobEvent.JobEvent>) =>
  Effect.gen(function* () {
    const { keyspace, retention } = yield* Settings.Settings
    const p = keyspace.partition(partition)
    const byJob = new Map<string, Array<JobEvent.JobEvent>>()
    for (const event of events) byJob.set(event.jobId, [...(byJob.get(event.jobId) ?? []), event])
    let pending = [...byJob.keys()]
    // A view that changed under us (a rebuild, another projector after a lock handover) is read
    // and folded again; the script refuses stale writes.
    for (let round = 0; pending.length > 0 && round < 5; round++) {
      const views = yield* Projection.readViews(partition, pending)
      const replies = yield* Effect.forEach(
        pending,
        (jobId) => {
          const jobEvents = byJob.get(jobId) ?? []
          const start = views.get(jobId)
          let view: Option.Option<Projection.JobView> = Option.fromNullable(start)
          for (const event of jobEvents) view = Projection.fold(Option.getOrUndefined(view), event)
          const last = jobEvents[jobEvents.length - 1]
          if (last === undefined) return Effect.succeed(1)
          const state = Option.match(view, { onNone: () => "", onSome: (v) => v.state })
          const expiresAt = Option.match(view, {
            onNone: () => 0,
            onSome: (v) => (v.finishedAt === undefined ? 0 : v.finishedAt + Duration.toMillis(retention)),
          })
          const minute = Math.floor(last.at / 60_000)
          const outcomes = jobEvents
            .filter((event) => start === undefined || JobEvent.compareIds(event.id, start.lastEventId) > 0)
            .flatMap((event) => {
              const outcome = Projection.outcomeOf(event)
              return outcome === undefined ? [] : [`${event.actor}|${outcome}`]
            })
          return run(
            projectScript,
            [p.viewJobs, p.viewCounts, p.viewExpiries, p.viewRates(minute)],
            [
              jobId,
              last.id,
              Option.match(view, { onNone: () => "", onSome: (v) => JSON.stringify(v) }),
              state,
              last.actor,
              expiresAt,
              start?.lastEventId ?? "",
              ...outcomes,
            ],
          ).pipe(Effect.map(Number))
        },
        { concurrency: "unbounded" },
      )
      pending = pending.filter((_, i) => replies[i] === -5)
    }
  })

/** Reads and folds one batch of a partition; answers how many entries it handled. */
const projectOnce = (partition: number, consumer: string) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings.Settings
    const redis = yield* RedisClient.RedisClient
    const events = keyspace.partition(partition).events
    const read = (from: string) =>
      redis
        .run((c) =>
          c.xreadgroup("GROUP", StreamKeys.projectorGroup, consumer, "COUNT", batchSize, "STREAMS", events, from),
        )
        .pipe(Effect.map((reply) => ((reply as XReadGroupReply)?.[0]?.[1] ?? []) as Entries))
    // Our own pending entries first: read before a crash, never acknowledged.
    const pending = yield* read("0")
    const entries = pending.length > 0 ? pending : yield* read(">")
    if (entries.length === 0) return 0
    // A pending entry trimmed from the log comes back without fields: acknowledge it, fold nothing.
    const decoded = entries.flatMap(([id, fields]) =>
      fields === null ? [] : Option.toArray(JobEvent.fromEntry(id, fields)),
    )
    yield* applyBatch(partition, decoded)
    yield* redis.run((c) => c.xack(events, StreamKeys.projectorGroup, ...entries.map(([id]) => id)))
    return entries.length
  })

/** The projector's consumer name: fixed, so a new lock holder finds its predecessor's pending entries. */
const consumerName = "projector"

/** Folds every partition this process holds the lock for, until interrupted. */
export const project = (owner: string) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings.Settings
    for (const partition of keyspace.all) yield* ensureGroup(partition.events)
    const pass = Effect.forEach(keyspace.all, (partition) =>
      run(lockScript, [partition.projectorLock], [owner, Duration.toMillis(lockTtl)]).pipe(
        Effect.flatMap((held) => (Number(held) === 1 ? projectOnce(partition.index, consumerName) : Effect.succeed(0))),
      ),
    ).pipe(Effect.map((handled) => handled.some((n) => n >= batchSize)))
    const expire = Effect.forEach(keyspace.all, (partition) =>
      run(projectExpireScript, [partition.viewJobs, partition.viewCounts, partition.viewExpiries], [1_000]),
    )
    yield* Effect.forkScoped(expire.pipe(Effect.ignore, Effect.repeat(Schedule.spaced("1 minute"))))
    // A full batch means more is waiting: go again at once; otherwise pause briefly.
    return yield* pass.pipe(
      Effect.flatMap((busy) => (busy ? Effect.void : Effect.sleep("50 millis"))),
      Effect.catchAll((error) =>
        Effect.logDebug(`projector pass skipped: ${error._tag}`).pipe(Effect.zipRight(Effect.sleep("1 second"))),
      ),
      Effect.forever,
    )
  })

/** Entries of each log the projector has not folded yet, summed over partitions. */
export const lag = Effect.gen(function* () {
  const { keyspace } = yield* Settings.Settings
  const redis = yield* RedisClient.RedisClient
  let total = 0
  for (const partition of keyspace.all) {
    const groups = (yield* redis
      .run((c) => c.xinfo("GROUPS", partition.events))
      .pipe(Effect.catchAll(() => Effect.succeed([])))) as Array<Array<unknown>>
    for (const group of groups) {
      const fields = JobEvent.fieldsOf(group.map(String))
      if (fields.name !== StreamKeys.projectorGroup) continue
      total += Number(fields.lag ?? 0) + Number(fields.pending ?? 0)
    }
  }
  return total
})

/**
 * Drops the projection and folds the retained log again from its start. Waits until the
 * projector (in this or another process) has caught up.
 */
export const rebuild = Effect.gen(function* () {
  const { keyspace } = yield* Settings.Settings
  const redis = yield* RedisClient.RedisClient
  for (const partition of keyspace.all) {
    const rateKeys: Array<string> = []
    let cursor = "0"
    do {
      const [next, keys] = yield* redis.run((c) =>
        c.scan(cursor, "MATCH", partition.viewRates(0).replace(/0$/, "*"), "COUNT", 1000),
      )
      cursor = next
      rateKeys.push(...keys)
    } while (cursor !== "0")
    yield* ensureGroup(partition.events)
    yield* redis.run((c) =>
      c
        .multi()
        .del(partition.viewJobs, partition.viewCounts, partition.viewExpiries, ...rateKeys)
        .xgroup("SETID", partition.events, StreamKeys.projectorGroup, "0")
        .xgroup("DELCONSUMER", partition.events, StreamKeys.projectorGroup, consumerName)
        .exec(),
    )
  }
  yield* lag.pipe(
    Effect.repeat({ schedule: Schedule.spaced("100 millis"), until: (n) => n === 0 }),
    Effect.timeout("5 minutes"),
  )
})

/** The running projector of a process. */
export class Projector extends Context.Tag("@eddy/gateway/Projector")<Projector, { readonly owner: string }>() {}

/** Runs the projector for as long as the layer lives. */
export const layer: Layer.Layer<Projector, never, RedisClient.RedisClient | Settings.Settings> = Layer.scoped(
  Projector,
  Effect.gen(function* () {
    const owner = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`
    yield* Effect.forkScoped(
      project(owner).pipe(
        // Only setup can fail (Redis down at start): try again until it works.
        Effect.retry(Schedule.spaced("1 second")),
        Effect.scoped,
        Effect.annotateLogs({ component: "projector" }),
      ),
    )
    return { owner }
  }),
)
