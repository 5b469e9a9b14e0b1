/**
 * The dead-letter endpoints of the HTTP API: list (paged), retry one, purge one. Handled in
 * `DeadLettersHandlers`; the bulk actions are the dashboard's (`DashboardApi`).
 */
import { JobEvent } from "@eddy/core"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { RequireAdmin, RequireRead } from "./ApiScopes.js"
import { IntParam, JobPath } from "./internal/ApiParams.js"
import { Accepted } from "./JobsApi.js"

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

/** List, retry and purge dead letters one by one (`/v1/dead-letters`). */
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
