/**
 * The gateway's HTTP API, declared with Effect `HttpApi`: every path, parameter, body and
 * answer has a Schema, which also gives `/openapi.json` and the `/docs` page. Errors are the
 * shared `{"error": {...}}` shape (ApiErrors); endpoints name the API-key scope they need.
 */

import { JobEvent, JobStatus, WorkerPresence } from "@eddy/core"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import * as ApiErrors from "./ApiErrors.js"
import { JobView } from "./Projection.js"

const AuthFailure = Schema.Union(
  ApiErrors.wireSchemas.unauthorized,
  ApiErrors.wireSchemas.forbidden,
  ApiErrors.wireSchemas.tooManyRequests,
)

/** Requires a key with the `submit` scope (or `admin`). */
export class RequireSubmit extends HttpApiMiddleware.Tag<RequireSubmit>()("RequireSubmit", { failure: AuthFailure }) {}
/** Requires a key with the `read` scope (or `admin`). */
export class RequireRead extends HttpApiMiddleware.Tag<RequireRead>()("RequireRead", { failure: AuthFailure }) {}
/** Requires a key with the `admin` scope. */
export class RequireAdmin extends HttpApiMiddleware.Tag<RequireAdmin>()("RequireAdmin", { failure: AuthFailure }) {}

const Text = (max: number) => Schema.String.pipe(Schema.minLength(1), Schema.maxLength(max))

/** One job to submit. */
export const SubmitRequest = Schema.Struct({
  input: Schema.Unknown,
  idempotencyKey: Schema.optional(
    Text(256).annotations({
      description:
        "The same key (with the same partitionKey, or none) finds the same job for its retention window and answers 200 duplicate; with another partitionKey it is another job",
    }),
  ),
  delayMs: Schema.optional(Schema.Int.pipe(Schema.between(0, 365 * 24 * 3600 * 1000))),
  lane: Schema.optional(Schema.Literal("high", "normal", "low")),
  partitionKey: Schema.optional(
    Text(256).annotations({
      description:
        "Jobs with the same partition key share a partition, and so their order in the log; with an idempotencyKey, the pair decides the job",
    }),
  ),
}).annotations({
  identifier: "SubmitRequest",
  // `input` is required even for an actor whose input Schema takes anything: without `exact`,
  // a missing key decodes as `undefined`, which is no JSON value and cannot be stored.
  parseOptions: { exact: true },
})

/**
 * A batch: up to 1000 items. An item that is no `SubmitRequest` does not fail the batch: it gets
 * its own `invalid_request` error in its place in the answer, and the other items are submitted.
 */
export const BatchRequest = Schema.Struct({
  jobs: Schema.Array(
    // Decodes any item (the handler decodes each one as a SubmitRequest); the JSON Schema says
    // what an item should be, since a union with `unknown` alone would describe it as anything.
    Schema.Union(SubmitRequest, Schema.Unknown).annotations({
      jsonSchema: {
        anyOf: [{ $ref: "#/components/schemas/SubmitRequest" }, {}],
        description:
          "A SubmitRequest. Any other item is answered with its own invalid_request error in its place in the results; the other items are submitted",
      },
    }),
  ).pipe(Schema.maxItems(1000)),
}).annotations({ identifier: "BatchRequest" })

/** 202: the job was written. */
export class Accepted extends Schema.Class<Accepted>("Accepted")(
  { jobId: Schema.String, status: JobStatus.State },
  HttpApiSchema.annotations({ status: 202 }),
) {}

/** 200: a job with this idempotency key already exists; nothing was written. */
export class Duplicate extends Schema.Class<Duplicate>("Duplicate")({
  jobId: Schema.String,
  status: JobStatus.State,
  duplicate: Schema.Literal(true),
}) {}

/** One item of a batch answer: the job, or why this item was refused. */
export const BatchItem = Schema.Union(
  Schema.Struct({ jobId: Schema.String, status: JobStatus.State, duplicate: Schema.Boolean }),
  ApiErrors.ErrorResponse,
)

export const BatchResponse = Schema.Struct({ results: Schema.Array(BatchItem) }).annotations(
  HttpApiSchema.annotations({ status: 202 }),
)

export const CancelResponse = Schema.Struct({
  jobId: Schema.String,
  status: Schema.Literal("cancelled", "cancelRequested"),
}).annotations(HttpApiSchema.annotations({ status: 202 }))

const Counts = Schema.Record({ key: Schema.String, value: Schema.Number })

/** An actor the gateway serves: its contract and live numbers. */
export const ActorInfo = Schema.Struct({
  name: Schema.String,
  input: Schema.Unknown,
  output: Schema.Unknown,
  policy: Schema.Unknown,
  counts: Counts,
  /** Outcomes over the last five minutes. */
  rates: Counts,
  /** Entries in the actor's inboxes: jobs waiting and jobs running (an entry leaves when its job ends). */
  depth: Schema.Number.annotations({
    description: "Entries in the actor's inboxes: jobs waiting and jobs running (an entry leaves when its job ends)",
  }),
  delayed: Schema.Number,
  workers: Schema.Number,
  /** Paused: no worker claims its jobs until it is resumed. */
  paused: Schema.Boolean,
})

/** A page of an actor's jobs in one state, newest first. */
export const JobPage = Schema.Struct({
  jobs: Schema.Array(JobView),
  /** Pass it as `cursor` for the next page; absent on the last page. */
  nextCursor: Schema.optional(Schema.String),
})

/** The answer to pause and resume. */
export const PauseState = Schema.Struct({ actor: Schema.String, paused: Schema.Boolean })

export const DeadLetter = Schema.Struct({
  jobId: Schema.String,
  actor: Schema.String,
  reason: Schema.String,
  attempt: Schema.Number,
  at: Schema.Number,
  error: Schema.optional(Schema.Unknown),
  cursor: Schema.String,
})

export const DeadLetterPage = Schema.Struct({
  items: Schema.Array(DeadLetter),
  nextCursor: Schema.optional(Schema.String),
})

const JobPath = Schema.Struct({ jobId: Schema.String.pipe(Schema.maxLength(200)) })
const ActorPath = Schema.Struct({ actor: Schema.String.pipe(Schema.maxLength(200)) })
const IntParam = (min: number, max: number) => Schema.NumberFromString.pipe(Schema.int(), Schema.between(min, max))

export class JobsGroup extends HttpApiGroup.make("jobs")
  .add(
    HttpApiEndpoint.post("submit", "/v1/actors/:actor/jobs")
      .setPath(ActorPath)
      .setPayload(SubmitRequest)
      .addSuccess(Accepted)
      .addSuccess(Duplicate)
      .middleware(RequireSubmit)
      .annotate(OpenApi.Summary, "Submit a job to an actor"),
  )
  .add(
    HttpApiEndpoint.post("submitBatch", "/v1/actors/:actor/jobs/batch")
      .setPath(ActorPath)
      .setPayload(BatchRequest)
      .addSuccess(BatchResponse)
      .middleware(RequireSubmit)
      .annotate(OpenApi.Summary, "Submit up to 1000 jobs; one result per item, in order"),
  )
  .add(
    HttpApiEndpoint.get("status", "/v1/jobs/:jobId")
      .setPath(JobPath)
      .setUrlParams(Schema.Struct({ waitMs: Schema.optional(IntParam(0, 60_000)) }))
      .addSuccess(JobStatus.JobStatus)
      .middleware(RequireRead)
      .annotate(OpenApi.Summary, "A job's status; waitMs holds the answer until the job ends or the time is up"),
  )
  .add(
    HttpApiEndpoint.get("events", "/v1/jobs/:jobId/events")
      .setPath(JobPath)
      .addSuccess(Schema.Array(JobEvent.JobEvent))
      .middleware(RequireRead)
      .annotate(
        OpenApi.Summary,
        "A job's history as JSON; with Accept: text/event-stream, Server-Sent Events: history, then live until the end",
      ),
  )
  .add(
    HttpApiEndpoint.post("cancel", "/v1/jobs/:jobId/cancel")
      .setPath(JobPath)
      .addSuccess(CancelResponse)
      .middleware(RequireSubmit)
      .annotate(OpenApi.Summary, "Cancel a job; 409 when it has already ended"),
  ) {}

export class ActorsGroup extends HttpApiGroup.make("actors")
  .add(
    HttpApiEndpoint.get("list", "/v1/actors")
      .addSuccess(Schema.Array(ActorInfo))
      .middleware(RequireRead)
      .annotate(OpenApi.Summary, "Every actor: contract (JSON Schema, policy) and live counts"),
  )
  .add(
    HttpApiEndpoint.get("jobs", "/v1/actors/:actor/jobs")
      .setPath(ActorPath)
      .setUrlParams(
        Schema.Struct({
          state: Schema.String,
          limit: Schema.optional(Schema.String),
          cursor: Schema.optional(Schema.String),
        }),
      )
      .addSuccess(JobPage)
      .middleware(RequireRead)
      .annotate(
        OpenApi.Summary,
        "An actor's jobs in one state, newest first (by when they entered it); limit 1..500 (default 50); pass nextCursor as cursor for the next page",
      ),
  )
  .add(
    HttpApiEndpoint.post("pause", "/v1/actors/:actor/pause")
      .setPath(ActorPath)
      .addSuccess(PauseState)
      .middleware(RequireAdmin)
      .annotate(OpenApi.Summary, "Pause an actor: no worker claims its jobs until it is resumed (running ones finish)"),
  )
  .add(
    HttpApiEndpoint.post("resume", "/v1/actors/:actor/resume")
      .setPath(ActorPath)
      .addSuccess(PauseState)
      .middleware(RequireAdmin)
      .annotate(OpenApi.Summary, "Resume a paused actor"),
  )
  .add(
    HttpApiEndpoint.get("workers", "/v1/workers")
      .addSuccess(Schema.Array(WorkerPresence.Presence))
      .middleware(RequireRead)
      .annotate(OpenApi.Summary, "Live worker processes"),
  ) {}

export class DeadLettersGroup extends HttpApiGroup.make("deadLetters")
  .add(
    HttpApiEndpoint.get("list", "/v1/dead-letters")
      .setUrlParams(
        Schema.Struct({
          actor: Schema.optional(Schema.String),
          reason: Schema.optional(JobEvent.DeadLetterReason),
          limit: Schema.optional(IntParam(1, 1000)),
          cursor: Schema.optional(Schema.String.pipe(Schema.pattern(/^\d+-\d+$/))),
        }),
      )
      .addSuccess(DeadLetterPage)
      .middleware(RequireRead)
      .annotate(OpenApi.Summary, "Dead letters, newest first; pass nextCursor to page"),
  )
  .add(
    HttpApiEndpoint.post("retry", "/v1/dead-letters/:jobId/retry")
      .setPath(JobPath)
      .addSuccess(Accepted)
      .middleware(RequireAdmin)
      .annotate(OpenApi.Summary, "Send a dead-lettered job back to its inbox with a fresh attempt budget"),
  )
  .add(
    HttpApiEndpoint.del("purge", "/v1/dead-letters/:jobId")
      .setPath(JobPath)
      .addSuccess(Schema.Struct({ jobId: Schema.String, purged: Schema.Literal(true) }))
      .middleware(RequireAdmin)
      .annotate(OpenApi.Summary, "Delete a dead-lettered job"),
  ) {}

export class SystemGroup extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("health", "/healthz").addSuccess(Schema.Struct({ status: Schema.Literal("ok") })))
  .add(
    HttpApiEndpoint.get("ready", "/readyz").addSuccess(
      Schema.Struct({ status: Schema.Literal("ready"), redisMs: Schema.Number }),
    ),
  )
  .add(
    HttpApiEndpoint.get("metrics", "/metrics").addSuccess(
      HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4" }),
    ),
  ) {}

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

/** The whole API. */
export class Api extends HttpApi.make("eddy")
  .add(JobsGroup)
  .add(ActorsGroup)
  .add(DeadLettersGroup)
  .add(SystemGroup)
  .add(DashboardGroup)
  .addError(ApiErrors.wireSchemas.badRequest)
  .addError(ApiErrors.wireSchemas.unauthorized)
  .addError(ApiErrors.wireSchemas.forbidden)
  .addError(ApiErrors.wireSchemas.notFound)
  .addError(ApiErrors.wireSchemas.conflict)
  .addError(ApiErrors.wireSchemas.payloadTooLarge)
  .addError(ApiErrors.wireSchemas.tooManyRequests)
  .addError(ApiErrors.wireSchemas.internal)
  .addError(ApiErrors.wireSchemas.unavailable)
  .annotate(OpenApi.Title, "eddy gateway")
  .annotate(OpenApi.Description, "Submit jobs to eddy actors over HTTP and follow them.") {}
