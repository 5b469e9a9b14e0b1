/**
 * The jobs endpoints of the HTTP API: submit one job or a batch, a job's status (optionally
 * waiting), its events, cancel. Handled in `JobsHandlers`.
 */
import { JobEvent, JobStatus } from "@eddy/core"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import * as ApiErrors from "./ApiErrors.js"
import { RequireRead, RequireSubmit } from "./ApiScopes.js"
import { ActorPath, IntParam, JobPath, Text } from "./internal/ApiParams.js"

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

/** Submit, status, events and cancel of jobs (`/v1/actors/:actor/jobs`, `/v1/jobs/:jobId`). */
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
