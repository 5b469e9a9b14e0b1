/**
 * The status projection: each job's events folded into a view (state, attempt, progress,
 * times, durations, worker, last error), and per actor the number of jobs in each state and
 * recent outcome rates. The fold is pure and keyed by event id, so applying an event twice
 * changes nothing and folding the retained log again rebuilds the same views.
 */
import { JobEvent, JobStatus, RedisClient, Settings } from "@eddy/core"
import { Effect, Option, Schema, type Types } from "effect"
import { compareIds, type FoldEvent } from "./internal/foldEvent.js"

export type { FoldEvent } from "./internal/foldEvent.js"

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

/** Ends a job in `view` (a fresh copy the fold owns). */
const finish = (view: Types.Mutable<JobView>, at: number, state: JobStatus.State) => {
  view.state = state
  view.cancelRequested = false
  view.finishedAt = at
  if (view.startedAt !== undefined) view.runMs = at - view.startedAt
}

/**
 * Folds one event into a job's view. `None` deletes the view (purged). Events at or before the
 * view's last event are ignored: folding is idempotent. The view given is never changed: the
 * fold copies it once and sets fields on the copy (spreading per field cost more than the rest
 * of the projector).
 */
export const fold = (current: JobView | undefined, event: FoldEvent): Option.Option<JobView> => {
  if (current !== undefined && compareIds(event.id, current.lastEventId) <= 0) return Option.some(current)
  if (event.type === "purged") return Option.none()
  const view: Types.Mutable<JobView> =
    current === undefined
      ? {
          jobId: event.jobId,
          actor: event.actor,
          state: "queued",
          attempt: event.attempt,
          progress: 0,
          cancelRequested: false,
          submittedAt: event.at,
          lastEventId: event.id,
        }
      : { ...current }
  view.attempt = event.attempt
  view.lastEventId = event.id
  switch (event.type) {
    case "submitted":
      view.state = event.delayUntil === undefined ? "queued" : "delayed"
      view.submittedAt = event.at
      break
    case "started":
      view.state = "active"
      view.startedAt = event.at
      if (event.worker !== undefined) view.worker = event.worker
      view.queueMs = view.queueMs ?? event.at - view.submittedAt
      break
    case "progress":
      view.progress = event.fraction
      break
    case "succeeded":
      finish(view, event.at, "succeeded")
      view.progress = 1
      break
    case "failed":
      view.error = event.error
      if (event.willRetry) view.state = "retrying"
      break
    case "stalled":
      if (event.worker !== undefined) view.worker = event.worker
      break
    case "deadLettered":
      finish(view, event.at, "deadLettered")
      view.deadLetterReason = event.reason
      if (event.error !== undefined) view.error = event.error
      break
    case "cancelRequested":
      view.cancelRequested = true
      break
    case "cancelled":
      finish(view, event.at, "cancelled")
      break
    case "released":
    case "requeued":
      view.state = "queued"
      break
  }
  return Option.some(view)
}

/** The outcome an event adds to its actor's rates, if any. */
export const outcomeOf = (event: FoldEvent): string | undefined =>
  event.type === "succeeded" || event.type === "failed" || event.type === "deadLettered" ? event.type : undefined

/**
 * How a view is stored (`view:jobs`, field = job id): a JSON array rather than the object, about a
 * third of its size. The job id is the field; times after submission are relative to it; absent
 * fields are null, trailing ones left off:
 *
 *   [lastEventId, actor, state, attempt, progress, cancelRequested (0/1), submittedAt,
 *    worker, startedAt, finishedAt, queueMs, runMs, deadLetterReason, error]
 *
 * The first three items are read by Lua too: `project-many.lua` (last event id, state) and core's
 * `expire.lua` (actor, state, to keep the counts when it deletes the view with the job's record).
 */
export const encodeView = (view: JobView): string => {
  const submittedAt = view.submittedAt
  const items: Array<unknown> = [
    view.lastEventId,
    view.actor,
    view.state,
    view.attempt,
    view.progress,
    view.cancelRequested ? 1 : 0,
    submittedAt,
    view.worker ?? null,
    view.startedAt === undefined ? null : view.startedAt - submittedAt,
    view.finishedAt === undefined ? null : view.finishedAt - submittedAt,
    view.queueMs ?? null,
    view.runMs ?? null,
    view.deadLetterReason ?? null,
    view.error ?? null,
  ]
  let end = items.length
  while (end > 7 && items[end - 1] === null) end--
  items.length = end
  return JSON.stringify(items)
}

const states: ReadonlySet<unknown> = new Set(JobStatus.State.literals)
const reasons: ReadonlySet<unknown> = new Set(JobEvent.DeadLetterReason.literals)
const isString = (value: unknown): value is string => typeof value === "string"
const isNumber = (value: unknown): value is number => typeof value === "number"
const decodeError = Schema.decodeUnknownOption(JobEvent.ErrorInfo)

/** A stored view back in its public shape; undefined when the text is not one. */
export const decodeView = (jobId: string, text: string): JobView | undefined => {
  let items: unknown
  try {
    items = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!Array.isArray(items)) return undefined
  const [lastEventId, actor, state, attempt, progress, cancelRequested, submittedAt] = items
  const [worker, startedAt, finishedAt, queueMs, runMs, deadLetterReason, error] = items.slice(7)
  if (!isString(lastEventId) || !isString(actor) || !states.has(state) || !isNumber(attempt)) return undefined
  if (!isNumber(progress) || !isNumber(submittedAt) || (cancelRequested !== 0 && cancelRequested !== 1))
    return undefined
  const optional = (value: unknown, is: (value: unknown) => boolean) =>
    value === undefined || value === null || is(value)
  if (!optional(worker, isString) || !optional(deadLetterReason, (r) => reasons.has(r))) return undefined
  if (![startedAt, finishedAt, queueMs, runMs].every((n) => optional(n, isNumber))) return undefined
  const decodedError = error === undefined || error === null ? undefined : decodeError(error)
  if (decodedError !== undefined && Option.isNone(decodedError)) return undefined
  return {
    jobId,
    actor,
    state: state as JobStatus.State,
    attempt,
    progress,
    cancelRequested: cancelRequested === 1,
    submittedAt,
    lastEventId,
    ...(isString(worker) ? { worker } : {}),
    ...(isNumber(startedAt) ? { startedAt: submittedAt + startedAt } : {}),
    ...(isNumber(finishedAt) ? { finishedAt: submittedAt + finishedAt } : {}),
    ...(isNumber(queueMs) ? { queueMs } : {}),
    ...(isNumber(runMs) ? { runMs } : {}),
    ...(isString(deadLetterReason) ? { deadLetterReason: deadLetterReason as JobEvent.DeadLetterReason } : {}),
    ...(decodedError === undefined ? {} : { error: decodedError.value }),
  }
}

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
      const view = decodeView(jobId, text)
      if (view !== undefined) views.set(jobId, view)
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
      const view = decodeView(jobId, text)
      if (view !== undefined) views.set(jobId, view)
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
