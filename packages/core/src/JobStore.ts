/**
 * Jobs as producers and operators see them: submit, look up, follow, cancel, requeue, purge.
 * Every change goes through one lifecycle script, which appends its event in the same call.
 */
import { Duration, Effect, Option } from "effect"
import type { Lane } from "./Actor.js"
import { runScript } from "./internal/runScript.js"
import { JobNotFound } from "./JobErrors.js"
import * as JobEvent from "./JobEvent.js"
import * as JobStatus from "./JobStatus.js"
import { RedisClient, type RedisClientService, type RedisError } from "./RedisClient.js"
import { Code, refusal } from "./ScriptOutcome.js"
import * as Scripts from "./Scripts.js"
import { Settings, type SettingsService } from "./Settings.js"
import type { Keyspace, PartitionKeys } from "./StreamKeys.js"
import { finishedStates, workerGroup } from "./StreamKeys.js"

/** A validated submission: the input is already encoded JSON text within the payload limit. */
export interface SubmitRequest {
  readonly jobId: string
  readonly actor: string
  readonly lane: Lane
  readonly input: string
  readonly maxAttempts: number
  readonly delayMs: number
  readonly correlationId?: string | undefined
  readonly causationId?: string | undefined
  readonly partitionKey?: string | undefined
}

/** What a submission did. A duplicate wrote nothing and reports the existing job's state. */
export interface SubmitResult {
  readonly jobId: string
  readonly duplicate: boolean
  readonly state: JobStatus.State
}

/** The keys `submit` and `submit-many` write for a request. */
const submitKeys = (p: PartitionKeys, request: SubmitRequest) => ({
  jobs: p.jobs,
  events: p.events,
  inbox: p.inbox(request.actor, request.lane),
  delayed: p.delayed(request.actor, request.lane),
  actors: p.actors,
  ...p.model(request.actor),
})

/**
 * Writes one job (or finds the existing one with the same id) on a client and settings already in
 * hand: the producer's hot path, spared the effects that look them up (each step of an effect
 * is allocation a producer awaiting results at 500/s pays in young-generation pauses).
 */
export const submitWith = (redis: RedisClientService, settings: SettingsService, request: SubmitRequest) => {
  const p = settings.keyspace.partitionOf(request.jobId, request.partitionKey)
  const call = {
    keys: submitKeys(p, request),
    args: {
      jobId: request.jobId,
      actor: request.actor,
      lane: request.lane,
      input: request.input,
      maxAttempts: request.maxAttempts,
      delayMs: Math.max(0, Math.round(request.delayMs)),
      correlationId: request.correlationId ?? "",
      causationId: request.causationId ?? "",
      eventsMaxLen: settings.eventsMaxLen,
    },
  }
  return Effect.map(
    redis.run((connection) => Scripts.run(connection, Scripts.submit, call)),
    (reply): SubmitResult => ({
      jobId: request.jobId,
      duplicate: Number(reply[0]) === Code.duplicate,
      state: reply[1] as JobStatus.State,
    }),
  )
}

/** `f` on the context's client and settings (the `…With` functions take them in hand). */
const withClient = <A, E>(f: (redis: RedisClientService, settings: SettingsService) => Effect.Effect<A, E>) =>
  Effect.flatMap(RedisClient, (redis) => Effect.flatMap(Settings, (settings) => f(redis, settings)))

/** Writes one job (or finds the existing one with the same id). */
export const submit = (request: SubmitRequest) => withClient((redis, settings) => submitWith(redis, settings, request))

/** Jobs per `submit-many` call: big enough to amortise the call, small enough to stay brief. */
const submitChunk = 200

/** `submit-many`'s five arguments per job for the requests at `items`. */
const submitManyJobs = (items: ReadonlyArray<number>, requests: ReadonlyArray<SubmitRequest>) => {
  const args: Array<string | number> = []
  for (const index of items) {
    const r = requests[index] as SubmitRequest
    args.push(r.jobId, r.input, r.delayMs > 0 ? Math.round(r.delayMs) : 0, r.correlationId ?? "", r.causationId ?? "")
  }
  return args
}

/**
 * Writes many jobs with one script call per chunk of jobs sharing a partition, actor and lane;
 * results come back in the order of the requests. Each job is created or found as a duplicate
 * exactly as by `submit`.
 */
export const submitMany = (requests: ReadonlyArray<SubmitRequest>) =>
  Effect.gen(function* () {
    const { keyspace, eventsMaxLen } = yield* Settings
    const groups = new Map<
      string,
      { keys: ReturnType<typeof submitKeys>; request: SubmitRequest; items: Array<number> }
    >()
    requests.forEach((request, index) => {
      const p = keyspace.partitionOf(request.jobId, request.partitionKey)
      const key = `${p.index}|${request.actor}|${request.lane}|${request.maxAttempts}`
      const group = groups.get(key) ?? {
        keys: submitKeys(p, request),
        request,
        items: [],
      }
      group.items.push(index)
      groups.set(key, group)
    })
    const chunks = [...groups.values()].flatMap((group) =>
      Array.from({ length: Math.ceil(group.items.length / submitChunk) }, (_, i) => ({
        ...group,
        items: group.items.slice(i * submitChunk, (i + 1) * submitChunk),
      })),
    )
    const results = new Array<SubmitResult>(requests.length)
    yield* Effect.forEach(
      chunks,
      (chunk) =>
        runScript(Scripts.submitMany, {
          keys: chunk.keys,
          args: {
            actor: chunk.request.actor,
            lane: chunk.request.lane,
            maxAttempts: chunk.request.maxAttempts,
            eventsMaxLen,
          },
          moreArgs: submitManyJobs(chunk.items, requests),
        }).pipe(
          Effect.map((reply) =>
            chunk.items.forEach((index, i) => {
              results[index] = {
                jobId: (requests[index] as SubmitRequest).jobId,
                duplicate: Number(reply[2 * i]) === Code.duplicate,
                state: reply[2 * i + 1] as JobStatus.State,
              }
            }),
          ),
        ),
      { concurrency: 8, discard: true },
    )
    return results as ReadonlyArray<SubmitResult>
  })

/** A job found in its partition. */
export interface Located {
  readonly status: JobStatus.JobStatus
  readonly partition: PartitionKeys
}

/**
 * Finds a job's record, decoded by `decode` (`None`: not a record): first in the partition its
 * id hashes to, then (when jobs were placed by a partition key) in the others, all at once.
 */
const findOn = <A>(
  redis: RedisClientService,
  keyspace: Keyspace,
  jobId: string,
  decode: (raw: JobStatus.StoredRecord) => Option.Option<A>,
): Effect.Effect<Option.Option<{ readonly value: A; readonly partition: PartitionKeys }>, RedisError> => {
  const home = keyspace.partitionOf(jobId)
  const read = (partition: PartitionKeys) =>
    redis
      .run((connection) => connection.hgetBuffer(partition.jobs, jobId))
      .pipe(Effect.map((raw) => Option.flatMap(Option.fromNullable(raw), decode)))
  return Effect.flatMap(read(home), (found) => {
    if (Option.isSome(found) || keyspace.partitions === 1)
      return Effect.succeed(Option.map(found, (value) => ({ value, partition: home })))
    const others = keyspace.all.filter((partition) => partition.index !== home.index)
    return Effect.map(Effect.forEach(others, read, { concurrency: "unbounded" }), (results) => {
      const index = results.findIndex(Option.isSome)
      const partition = others[index]
      const value = results[index]
      return partition === undefined || value === undefined || Option.isNone(value)
        ? Option.none()
        : Option.some({ value: value.value, partition })
    })
  })
}

const find = <A>(jobId: string, decode: (raw: JobStatus.StoredRecord) => Option.Option<A>) =>
  withClient((redis, { keyspace }) => findOn(redis, keyspace, jobId, decode))

/** Finds a job: its status and the partition it lives in. */
export const locate = (jobId: string) =>
  Effect.map(
    find(jobId, (raw) => JobStatus.fromRecord(jobId, raw)),
    Option.map(({ value, partition }): Located => ({ status: value, partition })),
  )

/** What was found, or `JobNotFound`. */
const orNotFound =
  (jobId: string) =>
  <A, E, R>(found: Effect.Effect<Option.Option<A>, E, R>) =>
    Effect.flatMap(
      found,
      Option.match({ onNone: () => Effect.fail(new JobNotFound({ jobId })), onSome: Effect.succeed }),
    )

const located = (jobId: string) => locate(jobId).pipe(orNotFound(jobId))

/** An ended job's status from its record; `None` inside while it waits or runs. */
const endedOfRecord = (jobId: string) => (raw: JobStatus.StoredRecord) => {
  const state = JobStatus.stateOfRecord(raw)
  if (state === undefined) return Option.none()
  if (!JobStatus.isFinished(state)) return Option.some(Option.none<JobStatus.JobStatus>())
  return Option.map(JobStatus.fromRecord(jobId, raw), Option.some)
}

/**
 * The status of a job that has ended; `None` while it waits or runs, `JobNotFound` when there is
 * no such job, on a client and keyspace already in hand. Only an ended job's record is decoded
 * whole: a result wait asks this once, almost always before the job ends, and only needs to know
 * that it has not. (So a record whose state reads but whose
 * other fields do not, which only a hand edit makes, counts as running here where `status`
 * calls it missing.)
 */
export const endedStatusWith =
  (redis: RedisClientService, keyspace: Keyspace) =>
  (jobId: string): Effect.Effect<Option.Option<JobStatus.JobStatus>, JobNotFound | RedisError> =>
    Effect.flatMap(findOn(redis, keyspace, jobId, endedOfRecord(jobId)), (found) =>
      Option.isSome(found) ? Effect.succeed(found.value.value) : Effect.fail(new JobNotFound({ jobId })),
    )

/** `endedStatusWith` on the context's client and settings. */
export const endedStatus = (jobId: string) =>
  withClient((redis, { keyspace }) => endedStatusWith(redis, keyspace)(jobId))

/** The job's status document, or `JobNotFound`. */
export const status = (jobId: string) => Effect.map(located(jobId), (found) => found.status)

/** The job's events so far, oldest first (events trimmed from the log are left out). */
export const history = (jobId: string) =>
  Effect.gen(function* () {
    const { status, partition } = yield* located(jobId)
    const redis = yield* RedisClient
    const entries = yield* Effect.forEach(
      status.eventIds,
      (id) => redis.run((connection) => connection.xrange(partition.events, id, id)),
      { concurrency: "unbounded" },
    )
    return entries.flatMap((entry) => entry.flatMap(([id, fields]) => Option.toArray(JobEvent.fromEntry(id, fields))))
  })

/**
 * Cancels a job: a queued or delayed job ends `cancelled` at once; a running one is flagged
 * (`cancelRequested`) and its worker stops it and confirms.
 */
export const cancel = (jobId: string) =>
  Effect.gen(function* () {
    const { eventsMaxLen } = yield* Settings
    const { status, partition: p } = yield* located(jobId)
    const reply = yield* runScript(Scripts.cancel, {
      keys: {
        jobs: p.jobs,
        events: p.events,
        inbox: p.inbox(status.actor, status.lane),
        delayed: p.delayed(status.actor, status.lane),
        ...p.model(status.actor),
      },
      args: {
        jobId,
        group: workerGroup,
        eventsMaxLen,
        actor: status.actor,
        lane: status.lane,
      },
    })
    if (Number(reply[0]) !== Code.ok) return yield* Effect.fail(refusal(jobId, reply, "queued, delayed or running"))
    return reply[1] as "cancelled" | "cancelRequested"
  })

/** Sends a dead-lettered job back to its inbox with a fresh attempt budget. */
export const requeue = (jobId: string) =>
  Effect.gen(function* () {
    const { eventsMaxLen } = yield* Settings
    const { status, partition: p } = yield* located(jobId)
    const reply = yield* runScript(Scripts.requeue, {
      keys: {
        jobs: p.jobs,
        events: p.events,
        inbox: p.inbox(status.actor, status.lane),
        dead: p.dead(status.actor),
        ...p.model(status.actor),
      },
      args: { jobId, eventsMaxLen, actor: status.actor, lane: status.lane },
    })
    if (Number(reply[0]) !== Code.ok) return yield* Effect.fail(refusal(jobId, reply, "deadLettered"))
  })

/** Deletes a dead-lettered job and its dead letter. */
export const purge = (jobId: string) =>
  Effect.gen(function* () {
    const { eventsMaxLen } = yield* Settings
    const { status, partition: p } = yield* located(jobId)
    const reply = yield* runScript(Scripts.purge, {
      keys: {
        jobs: p.jobs,
        events: p.events,
        dead: p.dead(status.actor),
        ...p.model(status.actor),
      },
      args: { jobId, eventsMaxLen },
    })
    if (Number(reply[0]) !== Code.ok) return yield* Effect.fail(refusal(jobId, reply, "deadLettered"))
  })

/**
 * Deletes the records of jobs whose retention ran out (finished longer ago than `retention`, dead
 * letters than `deadLetterRetention`), at most `limit` per partition, and takes them out of the
 * read model's lists with them; drops outcomes per minute past the kept hour.
 */
export const expire = (limit = 1_000) =>
  Effect.gen(function* () {
    const { keyspace, retention, deadLetterRetention } = yield* Settings
    const redis = yield* RedisClient
    const counts = yield* Effect.forEach(
      keyspace.all,
      (p) =>
        redis
          .run((c) => c.smembers(p.actors))
          .pipe(
            Effect.flatMap((actors) =>
              runScript(Scripts.expire, {
                keys: { jobs: p.jobs, rates: p.rates },
                args: {
                  limit,
                  retentionMs: Duration.toMillis(retention),
                  deadLetterRetentionMs: Duration.toMillis(deadLetterRetention),
                },
                moreKeys: actors.flatMap((a) => finishedStates.map((s) => p.list(a, s))),
                moreArgs: actors,
              }),
            ),
          ),
      { concurrency: "unbounded" },
    )
    return counts.reduce((sum: number, count) => sum + Number(count), 0)
  })

/**
 * Pauses an actor: no worker claims or starts its jobs until it is resumed (a job already
 * running finishes). Written to every partition; idempotent.
 */
export const pause = (actor: string) => setPaused(actor, true)

/** Resumes a paused actor: its waiting jobs are claimed again. Idempotent. */
export const resume = (actor: string) => setPaused(actor, false)

const setPaused = (actor: string, paused: boolean) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings
    const redis = yield* RedisClient
    yield* Effect.forEach(
      keyspace.all,
      (p) => redis.run((c) => (paused ? c.sadd(p.paused, actor) : c.srem(p.paused, actor))),
      { concurrency: "unbounded", discard: true },
    )
  })

/**
 * The paused actors. An actor counts as paused when any partition says so (a pause interrupted
 * half-way is shown, and finished by pausing or resuming again).
 */
export const paused = Effect.gen(function* () {
  const { keyspace } = yield* Settings
  const redis = yield* RedisClient
  const sets = yield* Effect.forEach(keyspace.all, (p) => redis.run((c) => c.smembers(p.paused)), {
    concurrency: "unbounded",
  })
  return new Set(sets.flat()) as ReadonlySet<string>
})
