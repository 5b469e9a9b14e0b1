/**
 * The HTTP gateway: the `Api` served on Node's HTTP server, with `/openapi.json` and a `/docs`
 * page. Every answer keeps the `{"error": {...}}` shape:
 * - the API-level middleware (inside HttpApi, so its failures are still encoded as API errors)
 *   serves the body through checks of size, JSON depth and content type (`internal/RequestBody`),
 *   maps HttpApi's own failures (a body or parameter that does not decode, an unknown route, a
 *   body that failed those checks) onto the error classes, and turns anything unexpected into a
 *   logged 500 without a stack;
 * - the server middleware refuses a body whose `Content-Length` is over `EDDY_MAX_REQUEST_BYTES`
 *   before reading it (Node discards the unread body, so the connection stays usable), and adds
 *   `Retry-After` to 429 and 503 answers. It does so in a pre-response handler: by the time the
 *   served app returns, its answer has already been written, so editing it afterwards would
 *   change nothing.
 */
import { createServer, type Server } from "node:http"
import { type Actor, EddyConfig, type EventTailer, type Producer, type RedisClient, type Settings } from "@eddy/core"
import {
  type HttpApi,
  HttpApiBuilder,
  HttpApiScalar,
  HttpApp,
  HttpIncomingMessage,
  HttpMiddleware,
  HttpServer,
  type HttpServerError,
  HttpServerRequest,
  HttpServerResponse,
} from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Cause, Config, Effect, Layer, Option, Schedule } from "effect"
import { ActorsLive } from "./ActorsHandlers.js"
import { Api } from "./Api.js"
import { type ApiError, BadRequest, InternalError, NotFound, PayloadTooLarge, retryAfterSeconds } from "./ApiErrors.js"
import * as Auth from "./Auth.js"
import * as Contracts from "./Contracts.js"
import * as DashboardAssets from "./DashboardAssets.js"
import { DashboardLive } from "./DashboardHandlers.js"
import { DeadLettersLive } from "./DeadLettersHandlers.js"
import * as RequestBody from "./internal/RequestBody.js"
import { isApiError } from "./internal/toApiError.js"
import { JobsLive } from "./JobsHandlers.js"
import { SystemLive } from "./SystemHandlers.js"

const tagOf = (error: unknown) =>
  typeof error === "object" && error !== null && "_tag" in error ? String((error as { _tag: unknown })._tag) : ""

/** HttpApi's own failures, and anything unexpected, as the gateway's errors. */
const toGatewayError = (cause: Cause.Cause<unknown>): Effect.Effect<never, ApiError> => {
  const error = Cause.squash(cause)
  if (isApiError(error)) return Effect.fail(error)
  switch (tagOf(error)) {
    case "HttpApiDecodeError": {
      const decode = error as { message: string; issues: ReadonlyArray<unknown> }
      return Effect.fail(new BadRequest({ code: "invalid_request", message: decode.message, details: decode.issues }))
    }
    case "RouteNotFound":
      return Effect.fail(new NotFound({ code: "not_found", message: "no such route" }))
    case "RequestError": {
      const reason = (error as { reason?: string }).reason
      const text = String((error as { cause?: unknown }).cause)
      const tooLarge = text.includes("maxBytes exceeded") || text.includes("maximum body size")
      return Effect.fail(
        tooLarge
          ? new PayloadTooLarge({ code: "payload_too_large", message: "the request body is too large" })
          : new BadRequest({
              code: "invalid_request",
              message:
                reason === "Decode"
                  ? "the request body is not valid JSON"
                  : `the request body could not be read (${reason})`,
            }),
      )
    }
    default:
      return Effect.logError("unhandled request failure", cause).pipe(
        Effect.zipRight(Effect.fail(new InternalError({ code: "internal", message: "internal error" }))),
      )
  }
}

/** Serves the body through its checks, and maps every failure onto the gateway's errors. */
const shapeApiFailures = HttpApiBuilder.middleware(Api, (app) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    // Set by the server middleware from EDDY_MAX_REQUEST_BYTES.
    const maxBytes = yield* HttpIncomingMessage.MaxBodySize
    const limit = Option.match(maxBytes, { onNone: () => Number.POSITIVE_INFINITY, onSome: Number })
    return yield* Effect.provideService(app, HttpServerRequest.HttpServerRequest, RequestBody.served(request, limit))
  }).pipe(
    Effect.catchAllCause(
      (cause): Effect.Effect<never, ApiError> =>
        Cause.isInterruptedOnly(cause) ? Effect.failCause(cause as Cause.Cause<never>) : toGatewayError(cause),
    ),
  ),
)

const errorResponse = (status: number, code: string, message: string) =>
  HttpServerResponse.unsafeJson({ error: { code, message } }, { status })

/** `Retry-After` on 429 and 503 answers. */
const retryAfter: HttpApp.PreResponseHandler = (_request, response) =>
  Effect.succeed(
    response.status === 429
      ? HttpServerResponse.setHeader(response, "retry-after", String(retryAfterSeconds.rateLimited))
      : response.status === 503
        ? HttpServerResponse.setHeader(response, "retry-after", String(retryAfterSeconds.unavailable))
        : response,
  )

/** The client closed the connection first (a page moved on): the platform's 499, nothing to log. */
const isClientGone = (cause: Cause.Cause<unknown>) => {
  const error = Cause.squash(cause)
  return HttpServerResponse.isServerResponse(error) && error.status === 499
}

/** The body limit by `Content-Length`, Retry-After, and a log line for what escaped everything. */
const outerMiddleware = (maxRequestBytes: number) =>
  HttpMiddleware.make((app) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const length = Number(request.headers["content-length"] ?? "0")
      if (Number.isFinite(length) && length > maxRequestBytes)
        return errorResponse(413, "payload_too_large", `the request body is over ${maxRequestBytes} bytes`)
      yield* HttpApp.appendPreResponseHandler(retryAfter)
      return yield* app.pipe(
        HttpIncomingMessage.withMaxBodySize(Option.some(maxRequestBytes)),
        // Already answered (an empty 500) by the server; only the log is left to do.
        Effect.tapErrorCause((cause) =>
          Cause.isInterruptedOnly(cause) || isClientGone(cause)
            ? Effect.void
            : Effect.logError("unhandled request failure", cause),
        ),
      )
    }),
  )

/**
 * On shutdown, stop accepting, give requests in flight a second, then end the connections still
 * open: live streams (SSE) never end by themselves, and Node's close waits for every connection.
 * Runs before the platform's own close, which then finds the server closed.
 */
const closeLingering = (server: Server) =>
  Layer.scopedDiscard(
    Effect.addFinalizer(() =>
      Effect.gen(function* () {
        server.close()
        server.closeIdleConnections()
        const open = Effect.async<number>((resume) => {
          server.getConnections((_error, count) => resume(Effect.succeed(count)))
        })
        // Bounded by a count, not a timeout: a finalizer cannot be interrupted.
        yield* open.pipe(
          Effect.repeat({ until: (count) => count === 0, schedule: Schedule.spaced("50 millis"), times: 20 }),
        )
        server.closeAllConnections()
      }),
    ),
  )

/** Where and how the gateway listens. */
export interface ServerOptions {
  readonly host: string
  readonly port: number
  readonly maxRequestBytes: number
}

/** `EDDY_HTTP_HOST` (default 0.0.0.0), `EDDY_HTTP_PORT` (8080), `EDDY_MAX_REQUEST_BYTES` (16 MiB). */
export const serverOptions = Effect.gen(function* () {
  const host = yield* Config.string("EDDY_HTTP_HOST").pipe(Config.withDefault("0.0.0.0"))
  const port = yield* EddyConfig.integerIn("EDDY_HTTP_PORT", 0, 65_535).pipe(Config.withDefault(8080))
  const maxRequestBytes = yield* EddyConfig.integerIn("EDDY_MAX_REQUEST_BYTES", 1024, 1024 * 1024 * 1024).pipe(
    Config.withDefault(16 * 1024 * 1024),
  )
  return { host, port, maxRequestBytes } satisfies ServerOptions
})

/** The API with its handlers, auth and docs, ready to serve. */
export const apiLayer: Layer.Layer<
  HttpApi.Api,
  never,
  | RedisClient.RedisClient
  | Settings.Settings
  | Producer.Producer
  | Contracts.Contracts
  | Auth.ApiKeys
  | EventTailer.EventTailer
> = HttpApiBuilder.api(Api).pipe(
  Layer.provide([JobsLive, ActorsLive, DeadLettersLive, SystemLive, DashboardLive]),
  Layer.provide(Auth.layer),
)

/**
 * The gateway for a set of contracts. With no API keys it listens on 127.0.0.1 only, whatever
 * `EDDY_HTTP_HOST` says, and says so.
 */
export const layer = (
  contracts: ReadonlyArray<Actor.Any>,
  options: ServerOptions,
): Layer.Layer<HttpServer.HttpServer, HttpServerError.ServeError, Requirements> =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const { keys } = yield* Auth.ApiKeys
      const host = keys.length === 0 ? "127.0.0.1" : options.host
      if (keys.length === 0)
        yield* Effect.logWarning(
          "no API keys configured (EDDY_API_KEYS): the gateway is open and listens on 127.0.0.1 only",
        )
      const server = createServer()
      return HttpApiBuilder.serve(outerMiddleware(options.maxRequestBytes)).pipe(
        Layer.provide(HttpApiScalar.layer({ path: "/docs" })),
        Layer.provide(DashboardAssets.layer()),
        Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
        Layer.provide(shapeApiFailures),
        Layer.provide(apiLayer),
        Layer.provide(Contracts.layer(contracts)),
        HttpServer.withLogAddress,
        Layer.merge(closeLingering(server)),
        Layer.provideMerge(NodeHttpServer.layer(() => server, { host, port: options.port })),
      )
    }),
  )

/** What a gateway layer needs: Redis, settings, API keys, the producer and the event tailer. */
export type Requirements =
  | RedisClient.RedisClient
  | Settings.Settings
  | Auth.ApiKeys
  | Producer.Producer
  | EventTailer.EventTailer
