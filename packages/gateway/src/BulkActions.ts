/**
 * The dashboard's bulk actions: retry or purge every dead letter (of an actor, of a reason), and
 * cancel every queued or delayed job of an actor. Each job goes through the same one-job script
 * as the single actions (its event appended with it); a call handles at most `maxPerCall` jobs
 * and says when more are left.
 */
import { JobEvent, JobStore, RedisClient, Settings, StreamKeys } from "@eddy/core"
import { Effect } from "effect"
import * as DeadLetters from "./DeadLettersHandlers.js"
import * as InboxBacklog from "./internal/InboxBacklog.js"

/** Jobs one bulk call handles at most. */
export const maxPerCall = 10_000
/** Refusals listed at most in an answer. */
const maxListed = 20

export interface BulkResult {
  readonly matched: number
  readonly done: number
  readonly failed: ReadonlyArray<{ readonly jobId: string; readonly message: string }>
  readonly more: boolean
}

type Tagged = { readonly _tag: string; readonly message: string }

/** Runs `action` on each job (16 at a time), counting what was done and what was refused. */
const applyEach = <E extends Tagged, R>(
  jobIds: ReadonlyArray<string>,
  more: boolean,
  action: (jobId: string) => Effect.Effect<unknown, E, R>,
) =>
  Effect.gen(function* () {
    const outcomes = yield* Effect.forEach(
      jobIds,
      (jobId) =>
        action(jobId).pipe(
          Effect.as(undefined),
          // Redis trouble stops the whole call (503); a job that changed state meanwhile is one refusal.
          Effect.catchIf(
            (error) => error._tag !== "RedisUnavailable",
            (error) => Effect.succeed({ jobId, message: error.message === "" ? error._tag : error.message }),
          ),
        ),
      { concurrency: 16 },
    )
    const failed = outcomes.filter((o): o is { jobId: string; message: string } => o !== undefined)
    return {
      matched: jobIds.length,
      done: jobIds.length - failed.length,
      failed: failed.slice(0, maxListed),
      more,
    } satisfies BulkResult
  })

/** Job ids of the dead letters of `actors`, with `reason` if given, newest first. */
const deadLetterIds = (actors: ReadonlyArray<string>, reason: string | undefined) =>
  Effect.gen(function* () {
    const ids: Array<string> = []
    let cursor: string | undefined
    while (ids.length <= maxPerCall) {
      const page = yield* DeadLetters.list(actors, 1_000, cursor)
      for (const item of page.items) if (reason === undefined || item.reason === reason) ids.push(item.jobId)
      if (page.nextCursor === undefined) break
      cursor = page.nextCursor
    }
    // Malformed entries' pseudo jobs have an id too; an empty one (hand-written entry) cannot be acted on.
    const unique = [...new Set(ids.filter((id) => id !== ""))]
    return { ids: unique.slice(0, maxPerCall), more: unique.length > maxPerCall }
  })

/** Sends every matching dead letter back to its inbox. */
export const retryDeadLetters = (actors: ReadonlyArray<string>, reason?: string) =>
  Effect.flatMap(deadLetterIds(actors, reason), ({ ids, more }) => applyEach(ids, more, JobStore.requeue))

/** Deletes every matching dead letter and its job. */
export const purgeDeadLetters = (actors: ReadonlyArray<string>, reason?: string) =>
  Effect.flatMap(deadLetterIds(actors, reason), ({ ids, more }) => applyEach(ids, more, JobStore.purge))

/** Ids of the actor's queued jobs (inbox entries no worker has read) and delayed ones. */
const waitingIds = (actor: string) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings.Settings
    const redis = yield* RedisClient.RedisClient
    const ids = new Set<string>()
    for (const partition of keyspace.all)
      for (const lane of StreamKeys.lanes) {
        const entries = yield* InboxBacklog.undelivered(partition.inbox(actor, lane), maxPerCall + 1)
        for (const [, flat] of entries) {
          const jobId = JobEvent.fieldsOf(flat).j
          if (jobId !== undefined && jobId !== "") ids.add(jobId)
        }
        const delayed = yield* redis.run((c) => c.zrange(partition.delayed(actor, lane), 0, maxPerCall))
        for (const id of delayed) ids.add(id)
      }
    const all = [...ids]
    return { ids: all.slice(0, maxPerCall), more: all.length > maxPerCall }
  })

/**
 * Cancels every queued or delayed job of an actor. A job a worker starts in the meantime gets
 * a cancel request instead, as a single cancel would.
 */
export const cancelWaiting = (actor: string) =>
  Effect.flatMap(waitingIds(actor), ({ ids, more }) => applyEach(ids, more, JobStore.cancel))
