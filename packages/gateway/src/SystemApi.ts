/**
 * The system endpoints of the HTTP API: liveness, readiness (with Redis's round trip) and the
 * Prometheus metrics. Open to every caller. Handled in `SystemHandlers`.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/** `/healthz`, `/readyz` and `/metrics`. */
export class SystemGroup extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("health", "/healthz").addSuccess(Schema.Struct({ status: Schema.Literal("ok") })))
  .add(
    HttpApiEndpoint.get("ready", "/readyz").addSuccess(
      Schema.Struct({ status: Schema.Literal("ready"), redisMs: Schema.Number }),
    ),
  )
  .add(
    HttpApiEndpoint.get("metrics", "/metrics").addSuccess(
      HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4" }),
    ),
  ) {}
