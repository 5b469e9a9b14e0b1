/**
 * The gateway's errors. Every one of them — and every failure HttpApi raises itself (a body
 * that does not decode, an unknown route) — reaches the client as
 * `{"error": {"code": "…", "message": "…", "details"?: …}}` with its status: each class's wire
 * schema encodes to exactly that shape (no `_tag`), and `Gateway` maps HttpApi's own errors
 * onto these classes.
 */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

const fields = {
  code: Schema.String,
  message: Schema.String,
  details: Schema.optional(Schema.Unknown),
}

/** The wire shape of every error answer. */
export const ErrorResponse = Schema.Struct({ error: Schema.Struct(fields) })

/** 400: the request or its input is invalid; `details` lists path-level issues. */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", fields) {}
/** 401: no API key, or an unknown one. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", fields) {}
/** 403: the key lacks the scope this endpoint needs. */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", fields) {}
/** 404: unknown actor (details list the known ones), job or route. */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", fields) {}
/** 409: the job is in a state where the operation does not apply. */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", fields) {}
/** 413: the request body or an input is over its limit. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", fields) {}
/** 429: the key is over its request rate; `Retry-After` says when to come back. */
export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()("TooManyRequests", fields) {}
/** 500: a bug. Never carries a stack trace. */
export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", fields) {}
/** 503: Redis is unreachable; `Retry-After` says when to come back. */
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", fields) {}

/** Any error the gateway answers with. */
export type ApiError =
  | BadRequest
  | Unauthorized
  | Forbidden
  | NotFound
  | Conflict
  | PayloadTooLarge
  | TooManyRequests
  | InternalError
  | ServiceUnavailable

type Fields = { readonly code: string; readonly message: string; readonly details?: unknown }

/** The wire schema of one error class: `{"error": {...}}` under its HTTP status. */
const wire = <E extends Fields>(
  tag: string,
  status: number,
  construct: new (fields: Fields) => E,
  isInstance: (u: unknown) => u is E,
) =>
  Schema.transform(ErrorResponse, Schema.declare(isInstance), {
    strict: true,
    decode: ({ error }) => new construct(error),
    encode: (error) => ({
      error:
        error.details === undefined
          ? { code: error.code, message: error.message }
          : { code: error.code, message: error.message, details: error.details },
    }),
  }).annotations({ ...HttpApiSchema.annotations({ status }), identifier: tag })

const is =
  <C extends abstract new (...args: never) => unknown>(cls: C) =>
  (u: unknown): u is InstanceType<C> =>
    u instanceof cls

/** The wire schemas, for `HttpApi.addError`. */
export const wireSchemas = {
  badRequest: wire("BadRequest", 400, BadRequest, is(BadRequest)),
  unauthorized: wire("Unauthorized", 401, Unauthorized, is(Unauthorized)),
  forbidden: wire("Forbidden", 403, Forbidden, is(Forbidden)),
  notFound: wire("NotFound", 404, NotFound, is(NotFound)),
  conflict: wire("Conflict", 409, Conflict, is(Conflict)),
  payloadTooLarge: wire("PayloadTooLarge", 413, PayloadTooLarge, is(PayloadTooLarge)),
  tooManyRequests: wire("TooManyRequests", 429, TooManyRequests, is(TooManyRequests)),
  internal: wire("InternalError", 500, InternalError, is(InternalError)),
  unavailable: wire("ServiceUnavailable", 503, ServiceUnavailable, is(ServiceUnavailable)),
}

/** Seconds a client should wait before trying again after a 429 or 503. */
export const retryAfterSeconds = { rateLimited: 1, unavailable: 2 } as const
