/**
 * The status projection: each job's events folded into a view (state, attempt, progress,
 * times, durations, worker, last error), and per actor the number of jobs in each state and
 * recent outcome rates. The fold is pure and keyed by event id, so applying an event twice
 * changes nothing and folding the retained log again rebuilds the same views.
 */
import { JobEvent, JobStatus, RedisClient, Settings } from "@eddy/core"
import { Effect, Option, Schema } from "effect"

/** One job as the projection sees it. */
export const JobView = Schema.Struct({
  jobId: Schema.String,
  actor: Schema.String,
  state: JobStatus.State,
  attempt: Schema.Number,
  progress: Schema.Number,
  cancelRequested: Schema.Boolean,
  worker: Schema.optional(Schema.String),
  submittedAt: Schema.Number,
  startedAt: Schema.optional(Schema.Number),
  finishedAt: Schema.optional(Schema.Number),
  /** From submission to the first start. */
  queueMs: Schema.optional(Schema.Number),
  /** From the last start to the end. */
  runMs: Schema.optional(Schema.Number),
  error: Schema.optional(JobEvent.ErrorInfo),
  deadLetterReason: Schema.optional(JobEvent.DeadLetterReason),
  lastEventId: Schema.String,
})
export type JobView = typeof JobView.Type

const finished = (view: JobView, event: JobEvent.JobEvent, state: JobStatus.State): JobView => ({
  ...view,
  state,
  cancelRequested: false,
  finishedAt: event.at,
  ...(view.startedAt === undefined ? {} : { runMs: event.at - view.startedAt }),
})

/**
 * Folds one event into a job's view. `None` deletes the view (purged). Events at or before the
 * view's last event are ignored: folding is idempotent.
 */
export const fold = (current: JobView | undefined, event: JobEvent.JobEvent): Option.Option<JobView> => {
  if (current !== undefined && JobEvent.compareIds(event.id, current.lastEventId) <= 0) return Option.some(current)
  const view: JobView = current ?? {
    jobId: event.jobId,
    actor: event.actor,
    state: "queued",
    attempt: event.attempt,
    progress: 0,
    cancelRequested: false,
    submittedAt: event.at,
    lastEventId: event.id,
  }
  const next = { ...view, attempt: event.attempt, lastEventId: event.id }
  switch (event.type) {
    case "submitted":
      return Option.some({
        ...next,
        state: event.delayUntil === undefined ? "queued" : "delayed",
        submittedAt: event.at,
      })
    case "started":
      return Option.some({
        ...next,
        state: "active",
        startedAt: event.at,
        ...(event.worker === undefined ? {} : { worker: event.worker }),
        queueMs: view.queueMs ?? event.at - view.submittedAt,
      })
    case "progress":
      return Option.some({ ...next, progress: event.fraction })
    case "succeeded":
      return Option.some({ ...finished(next, event, "succeeded"), progress: 1 })
    case "failed":
      return Option.some({ ...next, error: event.error, ...(event.willRetry ? { state: "retrying" } : {}) })
    case "stalled":
      return Option.some({ ...next, ...(event.worker === undefined ? {} : { worker: event.worker }) })
    case "deadLettered":
      return Option.some({
        ...finished(next, event, "deadLettered"),
        deadLetterReason: event.reason,
        ...(event.error === undefined ? {} : { error: event.error }),
      })
    case "cancelRequested":
      return Option.some({ ...next, cancelRequested: true })
    case "cancelled":
      return Option.some(finished(next, event, "cancelled"))
    case "released":
    case "requeued":
      return Option.some({ ...next, state: "queued" })
    case "purged":
      return Option.none()
  }
}

/** The outcome an event adds to its actor's rates, if any. */
export const outcomeOf = (event: JobEvent.JobEvent): string | undefined =>
  event.type === "succeeded" || event.type === "failed" || event.type === "deadLettered" ? event.type : undefined

const decodeView = Schema.decodeUnknownOption(Schema.parseJson(JobView))

/** Reads views of many jobs of one partition; missing ones are absent from the map. */
export const readViews = (partition: number, jobIds: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings.Settings
    const redis = yield* RedisClient.RedisClient
    const views = new Map<string, JobView>()
    if (jobIds.length === 0) return views
    const raw = yield* redis.run((c) => c.hmget(keyspace.partition(partition).viewJobs, ...jobIds))
    raw.forEach((text, i) => {
      const jobId = jobIds[i]
      if (text === null || jobId === undefined) return
      const view = decodeView(text)
      if (Option.isSome(view)) views.set(jobId, view.value)
    })
    return views
  })

/** Every view of every partition (for rebuild comparisons and small deployments). */
export const allViews = Effect.gen(function* () {
  const { keyspace } = yield* Settings.Settings
  const redis = yield* RedisClient.RedisClient
  const views = new Map<string, JobView>()
  for (const partition of keyspace.all) {
    const raw = yield* redis.run((c) => c.hgetall(partition.viewJobs))
    for (const [jobId, text] of Object.entries(raw)) {
      const view = decodeView(text)
      if (Option.isSome(view)) views.set(jobId, view.value)
    }
  }
  return views
})

/** Jobs per state of each actor, summed over partitions. */
export type ActorCounts = Record<JobStatus.State, number>

const emptyCounts = (): ActorCounts => ({
  queued: 0,
  delayed: 0,
  active: 0,
  retrying: 0,
  succeeded: 0,
  deadLettered: 0,
  cancelled: 0,
})

/** The per-actor state counts of the projection. */
export const counts = Effect.gen(function* () {
  const { keyspace } = yield* Settings.Settings
  const redis = yield* RedisClient.RedisClient
  const result = new Map<string, ActorCounts>()
  for (const partition of keyspace.all) {
    const raw = yield* redis.run((c) => c.hgetall(partition.viewCounts))
    for (const [field, value] of Object.entries(raw)) {
      const [actor = "", state = ""] = field.split("|")
      const entry = result.get(actor) ?? emptyCounts()
      if (state in entry) entry[state as JobStatus.State] += Number(value)
      result.set(actor, entry)
    }
  }
  return result
})

/** Outcomes per actor over the last `minutes` whole minutes (succeeded, failed, deadLettered). */
export const rates = (minutes = 5) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings.Settings
    const redis = yield* RedisClient.RedisClient
    const now = Math.floor(Date.now() / 60_000)
    const result = new Map<string, Record<string, number>>()
    for (const partition of keyspace.all)
      for (let minute = now - minutes + 1; minute <= now; minute++) {
        const raw = yield* redis.run((c) => c.hgetall(partition.viewRates(minute)))
        for (const [field, value] of Object.entries(raw)) {
          const [actor = "", outcome = ""] = field.split("|")
          const entry = result.get(actor) ?? {}
          entry[outcome] = (entry[outcome] ?? 0) + Number(value)
          result.set(actor, entry)
        }
      }
    return result
  })
