/**
 * The dashboard's endpoints of the HTTP API: the session's scopes, the overview, search, the
 * event tail, and the bulk actions (retry or purge dead letters, cancel an actor's waiting
 * jobs). Handled in `DashboardHandlers`.
 */
import { JobEvent, JobStatus, WorkerPresence } from "@eddy/core"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Counts } from "./ActorsApi.js"
import { RequireAdmin, RequireRead } from "./ApiScopes.js"
import { ActorPath, IntParam, Text } from "./internal/ApiParams.js"

const MinuteOutcomes = Schema.Struct({
  minute: Schema.Number,
  succeeded: Schema.Number,
  failed: Schema.Number,
  deadLettered: Schema.Number,
})

/** The dashboard's overview: every actor's numbers, workers, Redis health, the gateway's version. */
export const Overview = Schema.Struct({
  at: Schema.Number,
  version: Schema.String,
  redis: Schema.Struct({
    up: Schema.Boolean,
    ms: Schema.optional(Schema.Number),
    error: Schema.optional(Schema.String),
  }),
  actors: Schema.Array(
    Schema.Struct({
      name: Schema.String,
      counts: Counts,
      depth: Schema.Number,
      delayed: Schema.Number,
      workers: Schema.Number,
      paused: Schema.Boolean,
      oldestWaitingMs: Schema.optional(Schema.Number),
      /** The last 60 minutes, oldest first. */
      perMinute: Schema.Array(MinuteOutcomes),
    }),
  ),
  workers: Schema.Array(WorkerPresence.Presence),
}).annotations({ identifier: "Overview" })

/** A job a search found, and what matched. */
export const SearchMatch = Schema.Struct({
  jobId: Schema.String,
  actor: Schema.String,
  state: JobStatus.State,
  submittedAt: Schema.Number,
  matchedBy: Schema.Literal("jobId", "idempotencyKey", "correlationId"),
})

export const SearchResult = Schema.Struct({
  query: Schema.String,
  matches: Schema.Array(SearchMatch),
  /** Events read looking for the correlation id (the newest of each partition's log, bounded). */
  scannedEvents: Schema.Number,
  /** The scan stopped at its bound: older jobs of the correlation may exist. */
  truncated: Schema.Boolean,
})

/** What a bulk action did: jobs it found, jobs it changed, the ones refused and why. */
export const BulkResult = Schema.Struct({
  matched: Schema.Number,
  done: Schema.Number,
  failed: Schema.Array(Schema.Struct({ jobId: Schema.String, message: Schema.String })),
  /** More jobs matched than one call handles; call again. */
  more: Schema.Boolean,
})

const DeadLetterFilter = Schema.Struct({
  actor: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
  reason: Schema.optional(JobEvent.DeadLetterReason),
})

/** What the presented key may do (the dashboard shows only the actions it may take). */
export const Session = Schema.Struct({
  /** `open`: the gateway has no keys. */
  auth: Schema.Literal("open", "key"),
  scopes: Schema.Array(Schema.Literal("submit", "read", "admin")),
})

/** What the dashboard reads and its bulk actions. */
export class DashboardGroup extends HttpApiGroup.make("dashboard")
  .add(
    HttpApiEndpoint.get("session", "/v1/session")
      .addSuccess(Session)
      .middleware(RequireRead)
      .annotate(OpenApi.Summary, "The scopes of the key presented"),
  )
  .add(
    HttpApiEndpoint.get("overview", "/v1/overview")
      .addSuccess(Overview)
      .middleware(RequireRead)
      .annotate(
        OpenApi.Summary,
        "Per-actor counts, outcomes per minute, oldest waiting job, workers, Redis health; with Accept: text/event-stream, a new one every second",
      ),
  )
  .add(
    HttpApiEndpoint.get("search", "/v1/search")
      .setUrlParams(Schema.Struct({ q: Text(256), actor: Schema.optional(Schema.String.pipe(Schema.maxLength(200))) }))
      .addSuccess(SearchResult)
      .middleware(RequireRead)
      .annotate(OpenApi.Summary, "Find jobs by job id, idempotency key or correlation id"),
  )
  .add(
    HttpApiEndpoint.get("tail", "/v1/events")
      .setUrlParams(
        Schema.Struct({
          actor: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
          /** Comma-separated event types. */
          type: Schema.optional(Schema.String.pipe(Schema.maxLength(300))),
          limit: Schema.optional(IntParam(1, 1000)),
        }),
      )
      .addSuccess(Schema.Array(JobEvent.JobEvent))
      .middleware(RequireRead)
      .annotate(
        OpenApi.Summary,
        "The newest events of the log, filtered; with Accept: text/event-stream, those and then every new one",
      ),
  )
  .add(
    HttpApiEndpoint.post("retryDeadLetters", "/v1/dead-letters/retry")
      .setPayload(DeadLetterFilter)
      .addSuccess(BulkResult)
      .middleware(RequireAdmin)
      .annotate(OpenApi.Summary, "Retry every dead letter (of an actor, with a reason)"),
  )
  .add(
    HttpApiEndpoint.post("purgeDeadLetters", "/v1/dead-letters/purge")
      .setPayload(DeadLetterFilter)
      .addSuccess(BulkResult)
      .middleware(RequireAdmin)
      .annotate(OpenApi.Summary, "Purge every dead letter (of an actor, with a reason)"),
  )
  .add(
    HttpApiEndpoint.post("cancelWaiting", "/v1/actors/:actor/cancel-waiting")
      .setPath(ActorPath)
      .addSuccess(BulkResult)
      .middleware(RequireAdmin)
      .annotate(OpenApi.Summary, "Cancel every queued or delayed job of an actor"),
  ) {}
