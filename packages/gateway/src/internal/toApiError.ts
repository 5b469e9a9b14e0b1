/** The one place where core's typed failures become HTTP answers. */
import { Effect } from "effect"
import * as ApiErrors from "../ApiErrors.js"

type Tagged = { readonly _tag: string; readonly message: string } & Record<string, unknown>

/** Maps a failure of the core SDK to the gateway's error of the right status. */
export const toApiError = (error: Tagged): ApiErrors.ApiError => {
  switch (error._tag) {
    case "InvalidInput":
      return new ApiErrors.BadRequest({ code: "invalid_input", message: error.message, details: error.issues })
    case "InvalidOptions":
      return new ApiErrors.BadRequest({ code: "invalid_options", message: error.message })
    case "InvalidListRequest":
      return new ApiErrors.BadRequest({ code: "invalid_query", message: error.message })
    case "PayloadTooLarge":
      return new ApiErrors.PayloadTooLarge({
        code: "payload_too_large",
        message: error.message,
        details: { size: error.size, limit: error.limit },
      })
    case "JobNotFound":
      return new ApiErrors.NotFound({ code: "job_not_found", message: error.message })
    case "JobAlreadyFinished":
      return new ApiErrors.Conflict({ code: "job_finished", message: error.message, details: { state: error.state } })
    case "JobNotInState":
      return new ApiErrors.Conflict({ code: "wrong_state", message: error.message, details: { state: error.state } })
    case "LeaseLost":
    case "CancelRequested":
      return new ApiErrors.Conflict({ code: "conflict", message: `${error._tag}: the job changed hands; try again` })
    case "RedisUnavailable":
      return new ApiErrors.ServiceUnavailable({
        code: "redis_unavailable",
        message: "Redis is unreachable; try again later",
      })
    // Written but not confirmed by the replicas (EDDY_SUBMIT_REPLICAS): its message says that the
    // job may exist and that a retry with the same idempotency key is safe.
    case "SubmitNotReplicated":
      return new ApiErrors.ServiceUnavailable({
        code: "submit_not_replicated",
        message: error.message,
        details: { jobIds: error.jobIds, replicas: error.replicas, confirmed: error.confirmed },
      })
    // A misconfigured process: retrying does not help, the message says what to fix.
    case "PartitionCountMismatch":
      return new ApiErrors.InternalError({ code: "partition_count_mismatch", message: error.message })
    default:
      return new ApiErrors.InternalError({ code: "internal", message: "internal error" })
  }
}

const apiErrorClasses = [
  ApiErrors.BadRequest,
  ApiErrors.Unauthorized,
  ApiErrors.Forbidden,
  ApiErrors.NotFound,
  ApiErrors.Conflict,
  ApiErrors.PayloadTooLarge,
  ApiErrors.TooManyRequests,
  ApiErrors.InternalError,
  ApiErrors.ServiceUnavailable,
]

/** Whether a failure is already one of the gateway's errors. */
export const isApiError = (error: unknown): error is ApiErrors.ApiError =>
  apiErrorClasses.some((cls) => error instanceof cls)

/** Maps every failure of an effect through `toApiError`, logging the unexpected ones. */
export const answering = <A, E extends { readonly _tag: string; readonly message: string }, R>(
  effect: Effect.Effect<A, E, R>,
): Effect.Effect<A, ApiErrors.ApiError, R> =>
  Effect.catchAll(effect, (error): Effect.Effect<never, ApiErrors.ApiError> => {
    const mapped = isApiError(error) ? error : toApiError(error as unknown as Tagged)
    return mapped._tag === "InternalError"
      ? Effect.logError(`request failed: ${error._tag}: ${error.message}`).pipe(Effect.zipRight(Effect.fail(mapped)))
      : Effect.fail(mapped)
  })
