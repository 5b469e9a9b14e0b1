/**
 * The HTTP gateway: the `Api` served on Node's HTTP server, with `/openapi.json` and a `/docs`
 * page. Two middlewares keep every answer in shape: one maps HttpApi's own failures (a body or
 * parameter that does not decode, an unknown route) onto the `{"error": {...}}` errors; the
 * outer one refuses bodies over `EDDY_MAX_REQUEST_BYTES` before reading them, turns anything
 * unexpected into a 500 without a stack trace, and adds `Retry-After` to 429 and 503 answers.
 */
import { createServer } from "node:http"
import { type Actor, EddyConfig, type Producer, type RedisClient, type Settings } from "@eddy/core"
import {
  type HttpApi,
  HttpApiBuilder,
  HttpApiScalar,
  HttpIncomingMessage,
  HttpMiddleware,
  HttpServer,
  type HttpServerError,
  HttpServerRequest,
  HttpServerResponse,
} from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Cause, Config, Effect, Layer, Option } from "effect"
import { ActorsLive } from "./ActorsHandlers.js"
import { Api } from "./Api.js"
import { type ApiError, BadRequest, NotFound, PayloadTooLarge, retryAfterSeconds } from "./ApiErrors.js"
import * as Auth from "./Auth.js"
import * as Contracts from "./Contracts.js"
import { DeadLettersLive } from "./DeadLettersHandlers.js"
import { JobsLive } from "./JobsHandlers.js"
import { SystemLive } from "./SystemHandlers.js"

const tagOf = (error: unknown) =>
  typeof error === "object" && error !== null && "_tag" in error ? String((error as { _tag: unknown })._tag) : ""

/** HttpApi's own failures, in the gateway's error shape. */
const shapeApiFailures = HttpApiBuilder.middleware(Api, (app) =>
  Effect.catchAllCause(app, (cause): Effect.Effect<never, ApiError> => {
    const error = Cause.squash(cause)
    switch (tagOf(error)) {
      case "HttpApiDecodeError": {
        const decode = error as { message: string; issues: ReadonlyArray<unknown> }
        return Effect.fail(new BadRequest({ code: "invalid_request", message: decode.message, details: decode.issues }))
      }
      case "RouteNotFound":
        return Effect.fail(new NotFound({ code: "not_found", message: "no such route" }))
      case "RequestError": {
        const reason = (error as { reason?: string; cause?: unknown }).reason
        const tooLarge = String((error as { cause?: unknown }).cause).includes("maximum body size")
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
        return Effect.failCause(cause)
    }
  }),
)

const errorResponse = (status: number, code: string, message: string) =>
  HttpServerResponse.unsafeJson({ error: { code, message } }, { status })

/** Body limit, last-resort 500, and Retry-After. */
const outerMiddleware = (maxRequestBytes: number) =>
  HttpMiddleware.make((app) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const length = Number(request.headers["content-length"] ?? "0")
      if (Number.isFinite(length) && length > maxRequestBytes)
        return errorResponse(413, "payload_too_large", `the request body is over ${maxRequestBytes} bytes`)
      const response = yield* app.pipe(
        HttpIncomingMessage.withMaxBodySize(Option.some(maxRequestBytes)),
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.failCause(cause)
            : Effect.logError("unhandled request failure", cause).pipe(
                Effect.as(errorResponse(500, "internal", "internal error")),
              ),
        ),
      )
      if (response.status === 429)
        return HttpServerResponse.setHeader(response, "retry-after", String(retryAfterSeconds.rateLimited))
      if (response.status === 503)
        return HttpServerResponse.setHeader(response, "retry-after", String(retryAfterSeconds.unavailable))
      return response
    }),
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
  RedisClient.RedisClient | Settings.Settings | Producer.Producer | Contracts.Contracts | Auth.ApiKeys
> = HttpApiBuilder.api(Api).pipe(
  Layer.provide([JobsLive, ActorsLive, DeadLettersLive, SystemLive]),
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
      return HttpApiBuilder.serve(outerMiddleware(options.maxRequestBytes)).pipe(
        Layer.provide(HttpApiScalar.layer({ path: "/docs" })),
        Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
        Layer.provide(shapeApiFailures),
        Layer.provide(apiLayer),
        Layer.provide(Contracts.layer(contracts)),
        HttpServer.withLogAddress,
        Layer.provideMerge(NodeHttpServer.layer(createServer, { host, port: options.port })),
      )
    }),
  )

/** What a gateway layer needs: Redis, settings, API keys and the producer. */
export type Requirements = RedisClient.RedisClient | Settings.Settings | Auth.ApiKeys | Producer.Producer
