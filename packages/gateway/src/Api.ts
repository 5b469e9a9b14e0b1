/**
 * The gateway's HTTP API, declared with Effect `HttpApi`: every path, parameter, body and
 * answer has a Schema, which also gives `/openapi.json` and the `/docs` page. Errors are the
 * shared `{"error": {...}}` shape (ApiErrors); endpoints name the API-key scope they need
 * (ApiScopes). Each group of endpoints has its own module (JobsApi, ActorsApi, DeadLettersApi,
 * SystemApi, DashboardApi); this one puts them together.
 */

import { HttpApi, OpenApi } from "@effect/platform"
import { ActorsGroup } from "./ActorsApi.js"
import * as ApiErrors from "./ApiErrors.js"
import { DashboardGroup } from "./DashboardApi.js"
import { DeadLettersGroup } from "./DeadLettersApi.js"
import { JobsGroup } from "./JobsApi.js"
import { SystemGroup } from "./SystemApi.js"

// Every part of the API stays reachable from here, as before the split.
export { ActorInfo, ActorsGroup, JobPage, PauseState } from "./ActorsApi.js"
export { RequireAdmin, RequireRead, RequireSubmit } from "./ApiScopes.js"
export { BulkResult, DashboardGroup, Overview, SearchMatch, SearchResult, Session } from "./DashboardApi.js"
export { DeadLetter, DeadLetterPage, DeadLettersGroup } from "./DeadLettersApi.js"
export {
  Accepted,
  BatchItem,
  BatchRequest,
  BatchResponse,
  CancelResponse,
  Duplicate,
  JobsGroup,
  SubmitRequest,
} from "./JobsApi.js"
export { SystemGroup } from "./SystemApi.js"

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
