/**
 * Handlers of the jobs endpoints: submit (one or a batch), status (optionally waiting), the
 * event history (JSON or Server-Sent Events) and cancel. Inputs are validated with the actor's
 * contract before anything is written.
 */

import {
  DurableSubmit,
  type JobEvent,
  JobStatus,
  JobStore,
  PartitionGuard,
  Producer,
  type RedisClient,
  type Settings,
} from "@eddy/core"
import { HttpApiBuilder, type HttpApiGroup, HttpServerResponse } from "@effect/platform"
import { Duration, Effect, Either, type Layer, ParseResult, Schedule, Schema, Stream } from "effect"
import { Accepted, Api, Duplicate, type RequireRead, type RequireSubmit, SubmitRequest } from "./Api.js"
import * as ApiErrors from "./ApiErrors.js"
import * as Contracts from "./Contracts.js"
import { answering, isApiError, toApiError } from "./internal/toApiError.js"

type SubmitBody = typeof import("./Api.js").SubmitRequest.Type

const optionsOf = (body: SubmitBody): Producer.SubmitOptions => ({
  ...(body.idempotencyKey === undefined ? {} : { idempotencyKey: body.idempotencyKey }),
  ...(body.delayMs === undefined ? {} : { delay: Duration.millis(body.delayMs) }),
  ...(body.lane === undefined ? {} : { lane: body.lane }),
  ...(body.partitionKey === undefined ? {} : { partitionKey: body.partitionKey }),
})

const decodeSubmitRequest = Schema.decodeUnknownEither(SubmitRequest, { errors: "all" })

/** One batch item as a `SubmitRequest`, or its own 400 (the batch's envelope takes any item). */
const decodeItem = (item: unknown): Either.Either<SubmitBody, ApiErrors.BadRequest> =>
  Either.mapLeft(
    decodeSubmitRequest(item),
    (error) =>
      new ApiErrors.BadRequest({
        code: "invalid_request",
        message: `the item does not decode: ${ParseResult.TreeFormatter.formatErrorSync(error)}`,
        details: ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
          path: issue.path.map((key) => (typeof key === "number" ? key : String(key))),
          message: issue.message,
        })),
      }),
  )

/** One Server-Sent Events message: `event:` is the event type, `data:` the event as JSON. */
const sseFrame = (event: JobEvent.JobEvent) =>
  `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`

const keepAlive = Stream.repeatEffectWithSchedule(Effect.succeed(": keep-alive\n\n"), Schedule.spaced("15 seconds"))

export const JobsLive: Layer.Layer<
  HttpApiGroup.ApiGroup<"eddy", "jobs">,
  never,
  Producer.Producer | RedisClient.RedisClient | Settings.Settings | Contracts.Contracts | RequireSubmit | RequireRead
> = HttpApiBuilder.group(Api, "jobs", (handlers) =>
  Effect.gen(function* () {
    const producer = yield* Producer.Producer
    return handlers
      .handle("submit", ({ path, payload }) =>
        answering(
          Effect.gen(function* () {
            const contract = yield* Contracts.get(path.actor)
            const request = yield* Producer.prepareUnknown(contract, payload.input, optionsOf(payload))
            const result = yield* DurableSubmit.submit(request)
            return result.duplicate
              ? new Duplicate({ jobId: result.jobId, status: result.state, duplicate: true })
              : new Accepted({ jobId: result.jobId, status: result.state })
          }),
        ),
      )
      .handle("submitBatch", ({ path, payload }) =>
        answering(
          Effect.gen(function* () {
            const contract = yield* Contracts.get(path.actor)
            yield* PartitionGuard.ensure
            const results = yield* Effect.forEach(
              payload.jobs,
              (
                item,
              ): Effect.Effect<
                Either.Either<
                  { readonly submitted: Producer.Submitted; readonly placement: DurableSubmit.Placement },
                  ApiErrors.BadRequest | Producer.SubmitRefusal | RedisClient.RedisError
                >,
                never,
                RedisClient.RedisClient | Settings.Settings
              > =>
                Either.match(decodeItem(item), {
                  onLeft: (refusal) => Effect.succeed(Either.left(refusal)),
                  onRight: (request) =>
                    Producer.prepareUnknown(contract, request.input, optionsOf(request)).pipe(
                      Effect.flatMap((prepared) =>
                        Effect.zipWith(
                          DurableSubmit.place([prepared]),
                          JobStore.submit(prepared),
                          (placement, submitted) => ({
                            submitted,
                            placement,
                          }),
                        ),
                      ),
                      Effect.either,
                    ),
                }),
              { concurrency: 100 },
            )
            // Redis trouble fails the whole batch (503): items may or may not have been written,
            // and a retry with the same idempotency keys is safe.
            const outage = results.find((r) => Either.isLeft(r) && r.left._tag === "RedisUnavailable")
            if (outage !== undefined && Either.isLeft(outage)) return yield* Effect.fail(outage.left)
            // One WAIT for the whole batch (EDDY_SUBMIT_REPLICAS); unconfirmed, the batch is a 503
            // like an outage, and retrying it with the same idempotency keys is as safe.
            yield* DurableSubmit.confirm(results.flatMap((r) => (Either.isRight(r) ? r.right.placement : [])))
            return {
              results: results.map(
                Either.match({
                  onRight: ({ submitted: r }) => ({ jobId: r.jobId, status: r.state, duplicate: r.duplicate }),
                  onLeft: (error) => {
                    const mapped = isApiError(error) ? error : toApiError(error as never)
                    return {
                      error:
                        mapped.details === undefined
                          ? { code: mapped.code, message: mapped.message }
                          : { code: mapped.code, message: mapped.message, details: mapped.details },
                    }
                  },
                }),
              ),
            }
          }),
        ),
      )
      .handle("status", ({ path, urlParams }) =>
        answering(
          Effect.gen(function* () {
            const status = yield* JobStore.status(path.jobId)
            if (urlParams.waitMs === undefined || urlParams.waitMs === 0 || JobStatus.isFinished(status.state))
              return status
            // Hold the answer until the job ends or the time is up; either way answer with the status.
            yield* producer.result(path.jobId, { timeout: Duration.millis(urlParams.waitMs) }).pipe(Effect.ignore)
            return yield* JobStore.status(path.jobId)
          }),
        ),
      )
      .handleRaw("events", ({ path, request }) =>
        answering(
          Effect.gen(function* () {
            const wantsStream = (request.headers.accept ?? "").includes("text/event-stream")
            if (!wantsStream) return HttpServerResponse.unsafeJson(yield* JobStore.history(path.jobId))
            yield* JobStore.status(path.jobId) // 404 before the stream starts
            const events = producer.events(path.jobId).pipe(
              Stream.map(sseFrame),
              Stream.catchAll((error) =>
                Stream.make(`event: error\ndata: ${JSON.stringify({ code: error._tag })}\n\n`),
              ),
            )
            return HttpServerResponse.stream(
              Stream.merge(events, keepAlive, { haltStrategy: "left" }).pipe(Stream.encodeText),
              { contentType: "text/event-stream", headers: { "cache-control": "no-cache", "x-accel-buffering": "no" } },
            )
          }),
        ),
      )
      .handle("cancel", ({ path }) =>
        answering(JobStore.cancel(path.jobId).pipe(Effect.map((status) => ({ jobId: path.jobId, status })))),
      )
  }),
)
