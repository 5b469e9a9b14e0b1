import { Actor } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import * as Worker from "../../workers/src/Worker.js"
import * as TestGateway from "./support/TestGateway.js"

const Greet = Actor.define("greet", {
  input: Schema.Struct({ name: Schema.String }).annotations({ examples: [{ name: "Ada" }] }),
  output: Schema.Struct({ greeting: Schema.String }),
})

describe("gateway smoke", () => {
  it.scopedLive("submit, wait, status", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const submitted = yield* TestGateway.request(`${url}/v1/actors/greet/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ input: { name: "Ada" } }),
      })
      expect(submitted.status).toBe(202)
      const { jobId } = submitted.body as { jobId: string }
      const status = yield* TestGateway.request(`${url}/v1/jobs/${jobId}?waitMs=5000`)
      expect(status.status).toBe(200)
      expect(status.body).toMatchObject({ state: "succeeded", output: { greeting: "hello Ada" } })
      const bad = yield* TestGateway.request(`${url}/v1/actors/greet/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ input: { name: 3 } }),
      })
      expect(bad.status).toBe(400)
      console.log(JSON.stringify(bad.body))
      const nope = yield* TestGateway.request(`${url}/v1/actors/nope/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"input":1}',
      })
      console.log(nope.status, JSON.stringify(nope.body))
      const route = yield* TestGateway.request(`${url}/nothing/here`)
      console.log(route.status, JSON.stringify(route.body))
      const garbage = yield* TestGateway.request(`${url}/v1/actors/greet/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{not json",
      })
      console.log(garbage.status, JSON.stringify(garbage.body))
      const actors = yield* TestGateway.request(`${url}/v1/actors`)
      console.log(actors.status, JSON.stringify(actors.body).slice(0, 600))
      const metrics = yield* TestGateway.request(`${url}/metrics`)
      console.log(metrics.status, String(metrics.body).slice(0, 400))
      const docs = yield* TestGateway.request(`${url}/docs`)
      console.log(docs.status, String(docs.body).length)
      const openapi = yield* TestGateway.request(`${url}/openapi.json`)
      console.log(openapi.status, Object.keys((openapi.body as { paths: object }).paths))
    }).pipe(
      Effect.provide(
        TestGateway.layer({
          contracts: [Greet],
          handlers: [Worker.handle(Greet, ({ name }) => Effect.succeed({ greeting: `hello ${name}` }))],
        }),
      ),
    ),
  )
})
void Layer
