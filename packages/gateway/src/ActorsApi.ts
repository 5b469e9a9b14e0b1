/**
 * The actors endpoints of the HTTP API: every actor with its contract and live numbers, an
 * actor's jobs by state, pause and resume, and the live workers. Handled in `ActorsHandlers`.
 */
import { WorkerPresence } from "@eddy/core"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { RequireAdmin, RequireRead } from "./ApiScopes.js"
import { ActorPath } from "./internal/ApiParams.js"
import { JobView } from "./Projection.js"

/** Numbers by name (jobs per state, outcomes per kind). */
export const Counts = Schema.Record({ key: Schema.String, value: Schema.Number })

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

/** Actors, their jobs by state, pause and resume, and workers (`/v1/actors`, `/v1/workers`). */
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
