/**
 * Job search for the dashboard: by job id, by idempotency key (which maps to a deterministic job
 * id per actor, so it is a lookup, not a scan) and by correlation id (a bounded scan of the newest
 * events of each partition's log, since job records are not indexed by correlation).
 */
import { JobEvent, JobId, type JobStatus, JobStore, RedisClient, Settings } from "@eddy/core"
import { Effect, Option } from "effect"

/** Events read per partition at most when looking for a correlation id. */
export const scanBound = 20_000
const page = 1_000
/** Jobs answered at most. */
export const maxMatches = 100

type MatchedBy = "jobId" | "idempotencyKey" | "correlationId"

/** A job a search found. */
export interface Match {
  readonly jobId: string
  readonly actor: string
  readonly state: JobStatus.State
  readonly submittedAt: number
  readonly matchedBy: MatchedBy
}

const lookup = (jobId: string, matchedBy: MatchedBy) =>
  JobStore.locate(jobId).pipe(
    Effect.map(
      Option.map(
        ({ status }): Match => ({
          jobId: status.jobId,
          actor: status.actor,
          state: status.state,
          submittedAt: status.submittedAt,
          matchedBy,
        }),
      ),
    ),
  )

/** Ids of jobs whose events carry `correlationId`, newest first, reading at most `scanBound` events per partition. */
const byCorrelation = (correlationId: string) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings.Settings
    const redis = yield* RedisClient.RedisClient
    const found = new Set<string>()
    let scanned = 0
    let truncated = false
    for (const partition of keyspace.all) {
      let end = "+"
      let read = 0
      while (read < scanBound && found.size < maxMatches) {
        const entries = yield* redis.run((c) => c.xrevrange(partition.events, end, "-", "COUNT", page))
        for (const [, flat] of entries) {
          const fields = JobEvent.eventFieldsOf(flat)
          if (fields?.c === correlationId && fields.job !== undefined) found.add(fields.job)
        }
        read += entries.length
        const last = entries[entries.length - 1]
        if (last === undefined || entries.length < page) break
        end = `(${last[0]}`
        if (read >= scanBound) truncated = true
      }
      scanned += read
    }
    return { ids: [...found].slice(0, maxMatches), scanned, truncated: truncated || found.size >= maxMatches }
  })

/** Jobs matching `query` among `actors` (for idempotency keys); found by id first. */
export const search = (query: string, actors: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const direct = [
      lookup(query, "jobId"),
      ...actors.map((actor) => lookup(JobId.fromIdempotencyKey(actor, query), "idempotencyKey")),
    ]
    const [found, correlated] = yield* Effect.all(
      [Effect.all(direct, { concurrency: "unbounded" }), byCorrelation(query)],
      { concurrency: "unbounded" },
    )
    const matches = new Map<string, Match>()
    for (const match of found) if (Option.isSome(match)) matches.set(match.value.jobId, match.value)
    const others = yield* Effect.forEach(
      correlated.ids.filter((id) => !matches.has(id)),
      (id) => lookup(id, "correlationId"),
      { concurrency: 16 },
    )
    for (const match of others) if (Option.isSome(match)) matches.set(match.value.jobId, match.value)
    return {
      query,
      matches: [...matches.values()].slice(0, maxMatches),
      scannedEvents: correlated.scanned,
      truncated: correlated.truncated,
    }
  })
