/**
 * The API-key scopes an endpoint can require, as `HttpApi` middleware tags: each endpoint names
 * the one it needs, and `Auth` provides them (checks the key, its scope and its rate).
 */
import { HttpApiMiddleware } from "@effect/platform"
import { Schema } from "effect"
import * as ApiErrors from "./ApiErrors.js"

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
