/**
 * The projector: folds each partition's event log into the status projection, reading through
 * the `projector` consumer group so that it resumes where it stopped; entries it read but did
 * not acknowledge before a crash are read again first. One process at a time folds a partition
 * (a lock with a TTL, renewed as it works), which keeps every job's events in order; any number
 * of gateways can run a projector, the others stand by.
 *
 * It reads on the command connection with a short pause when the log is idle, instead of a
 * blocking read: that keeps a gateway at its connection budget (command + tail). A read batch
 * costs one HMGET of its jobs' views and one `project-many` call that writes them all.
 */
import { randomUUID } from "node:crypto"
import { hostname } from "node:os"
import { JobEvent, RedisClient, Scripts, Settings, StreamKeys } from "@eddy/core"
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import { compareIds, decodeEntry, type FoldEvent } from "./internal/foldEvent.js"
import * as Projection from "./Projection.js"

const script = (name: string, keys: number) =>
  Scripts.define(name, keys, new URL(`./internal/lua/${name}.lua`, import.meta.url))
export const projectScript = script("project-many", 5)
export const lockScript = script("projector-lock", 1)
export const unlockScript = script("projector-unlock", 1)

const batchSize = 500
/** Jobs per `project-many` call: bounds one call's arguments (8 per job). */
const jobsPerCall = 500
const lockTtl = Duration.seconds(10)

type Entries = Array<[string, Array<string> | null]>
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

/** One job's folded events as `project-many` takes them, and the minute its outcomes count in. */
interface Folded {
  readonly minute: number
  readonly args: ReadonlyArray<string>
}

/** Folds a job's events of this batch onto its stored view (events are in log order, at least one). */
const foldJob = (jobId: string, events: ReadonlyArray<FoldEvent>, start: Projection.JobView | undefined): Folded => {
  let view = start
  const outcomes: Array<string> = []
  for (const event of events) {
    const next = Projection.fold(view, event)
    view = next._tag === "Some" ? next.value : undefined
    // Outcomes already in the stored view were counted when it was written.
    const outcome = Projection.outcomeOf(event)
    if (outcome !== undefined && (start === undefined || compareIds(event.id, start.lastEventId) > 0))
      outcomes.push(outcome)
  }
  const last = events[events.length - 1] as FoldEvent
  return {
    minute: Math.floor(last.at / 60_000),
    args: [
      jobId,
      last.id,
      view === undefined ? "" : Projection.encodeView(view),
      view?.state ?? "",
      last.actor,
      start?.lastEventId ?? "",
      outcomes.join(","),
      // Acknowledged by the same call that writes the view.
      events.map((event) => event.id).join(","),
    ],
  }
}

/**
 * Writes folded jobs: one `project-many` call per minute their outcomes count in (one, but at a
 * minute's turn or in a rebuild) and per `jobsPerCall` jobs. Answers the jobs whose view changed
 * since it was read.
 */
const write = (partition: StreamKeys.PartitionKeys, folded: ReadonlyArray<Folded>) => {
  const calls: Array<{ minute: number; args: Array<string> }> = []
  const open = new Map<number, { minute: number; args: Array<string> }>()
  for (const job of folded) {
    let call = open.get(job.minute)
    if (call === undefined || call.args.length >= jobsPerCall * 8) {
      call = { minute: job.minute, args: [] }
      open.set(job.minute, call)
      calls.push(call)
    }
    call.args.push(...job.args)
  }
  return Effect.forEach(
    calls,
    ({ minute, args }) =>
      run(
        projectScript,
        [partition.viewJobs, partition.viewCounts, partition.jobs, partition.viewRates(minute), partition.events],
        [StreamKeys.projectorGroup, ...args],
      ),
    { concurrency: "unbounded" },
  ).pipe(Effect.map((replies) => replies.flatMap((stale) => stale.map(String))))
}

/**
 * Folds a batch of events of one partition (in log order) and writes every touched job, with one
 * script call for the batch, which also acknowledges the events it folded. Answers whether every
 * job was written: a job whose view kept changing under it (five rounds) is left unacknowledged,
 * to be read again.
 */
export const applyBatch = (partition: number, events: ReadonlyArray<FoldEvent>) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings.Settings
    const keys = keyspace.partition(partition)
    const byJob = new Map<string, Array<FoldEvent>>()
    for (const event of events) {
      const jobEvents = byJob.get(event.jobId)
      if (jobEvents === undefined) byJob.set(event.jobId, [event])
      else jobEvents.push(event)
    }
    let pending = [...byJob.keys()]
    // A view that changed under us (a rebuild, another projector after a lock handover, an
    // expiry) is read and folded again; the script refuses stale writes.
    for (let round = 0; pending.length > 0 && round < 5; round++) {
      const views = yield* Projection.readViews(partition, pending)
      const folded = pending.map((jobId) => foldJob(jobId, byJob.get(jobId) ?? [], views.get(jobId)))
      pending = yield* write(keys, folded)
    }
    return pending.length === 0
  })

/**
 * Decodes read entries; a pending entry trimmed from the log comes back without fields. Entries
 * that do not decode are answered apart: nothing folds them, so nothing else acknowledges them.
 */
const decodeEntries = (entries: Entries) => {
  const events: Array<FoldEvent> = []
  const skipped: Array<string> = []
  for (const [id, fields] of entries) {
    const event = fields === null ? undefined : decodeEntry(id, fields)
    if (event === undefined) skipped.push(id)
    else events.push(event)
  }
  return { events, skipped }
}

/**
 * Reads and folds one batch of a partition; answers how many entries it handled. With
 * `checkPending`, the group's unacknowledged entries (read before a crash or by the previous lock
 * holder) come first, and it answers whether there were any (then it looks again next time).
 */
const projectOnce = (partition: number, consumer: string, checkPending: boolean) =>
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
    const pending = checkPending ? yield* read("0") : []
    const entries = pending.length > 0 ? pending : yield* read(">")
    let complete = true
    if (entries.length > 0) {
      const { events: folded, skipped } = decodeEntries(entries)
      if (folded.length > 0) complete = yield* applyBatch(partition, folded)
      if (skipped.length > 0) yield* redis.run((c) => c.xack(events, StreamKeys.projectorGroup, ...skipped))
    }
    // Entries left unacknowledged are read again, from the pending list, on the next pass.
    return { handled: entries.length, hadPending: pending.length > 0 || !complete }
  })

/** The projector's consumer name: fixed, so a new lock holder finds its predecessor's pending entries. */
const consumerName = "projector"

/** Folds every partition this process holds the lock for, until interrupted. */
export const project = (owner: string) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings.Settings
    for (const partition of keyspace.all) yield* ensureGroup(partition.events)
    // Partitions whose unacknowledged entries may not be folded yet: any this process just took
    // the lock of, or was folding when a pass failed. Others skip that read.
    const unchecked = new Set<number>()
    // When this process last took or renewed each partition's lock: renewed once a third of its
    // TTL has passed, not on every pass (a busy projector passes hundreds of times a second).
    const renewedAt = new Map<number, number>()
    const ttlMs = Duration.toMillis(lockTtl)
    const hold = (partition: StreamKeys.PartitionKeys) =>
      Effect.suspend((): Effect.Effect<number, RedisClient.RedisError, RedisClient.RedisClient> => {
        const now = Date.now()
        if (now - (renewedAt.get(partition.index) ?? Number.NEGATIVE_INFINITY) < ttlMs / 3) return Effect.succeed(1)
        return run(lockScript, [partition.projectorLock], [owner, ttlMs]).pipe(
          Effect.map(Number),
          Effect.tap((held) =>
            Effect.sync(() => {
              if (held === 0) renewedAt.delete(partition.index)
              else renewedAt.set(partition.index, now)
            }),
          ),
        )
      })
    const pass = Effect.forEach(keyspace.all, (partition) =>
      hold(partition).pipe(
        Effect.flatMap((held) => {
          if (held === 0) return Effect.succeed(0)
          if (held === 2) unchecked.add(partition.index)
          return projectOnce(partition.index, consumerName, unchecked.has(partition.index)).pipe(
            Effect.map(({ handled, hadPending }) => {
              if (!hadPending) unchecked.delete(partition.index)
              return handled
            }),
          )
        }),
      ),
    ).pipe(Effect.map((handled) => handled.some((n) => n >= batchSize)))
    // A full batch means more is waiting: go again at once; otherwise pause briefly.
    return yield* pass.pipe(
      Effect.flatMap((busy) => (busy ? Effect.void : Effect.sleep("50 millis"))),
      Effect.catchAll((error) =>
        Effect.logDebug(`projector pass skipped: ${error._tag}`).pipe(
          Effect.zipRight(
            Effect.sync(() => {
              for (const partition of keyspace.all) unchecked.add(partition.index)
              // Redis trouble: ask for the locks again rather than trust the last renewal.
              renewedAt.clear()
            }),
          ),
          Effect.zipRight(Effect.sleep("1 second")),
        ),
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
        .del(partition.viewJobs, partition.viewCounts, ...rateKeys)
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
    const { keyspace } = yield* Settings.Settings
    // On the way out (after the fold below is interrupted), hand the partitions over at once: a
    // restarted or standby projector takes them now rather than when the locks expire. Redis
    // trouble then only means waiting for the TTL, as after a crash. (A finalizer runs
    // uninterruptibly: the calls are made interruptible so that the timeout can end them.)
    yield* Effect.addFinalizer(() =>
      Effect.forEach(keyspace.all, (partition) => run(unlockScript, [partition.projectorLock], [owner]), {
        discard: true,
      }).pipe(Effect.interruptible, Effect.timeout("1 second"), Effect.ignore),
    )
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
