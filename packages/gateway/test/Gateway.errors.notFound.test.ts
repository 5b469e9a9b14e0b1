/**
 * 404s over real HTTP, each answer exactly `{"error":{"code","message","details"?}}`: an unknown
 * actor (listing the known ones), an unknown job on every job endpoint, an unknown route.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { gateway } from "./support/Actors.js"
import * as TestGateway from "./support/TestGateway.js"

describe("404", () => {
  it.scopedLive("an unknown actor is a 404 listing the known ones", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      for (const path of ["/v1/actors/nope/jobs", "/v1/actors/nope/jobs/batch"]) {
        const answer = yield* TestGateway.post(`${url}${path}`, path.endsWith("batch") ? { jobs: [] } : { input: 1 })
        const error = TestGateway.expectError(answer, 404, "unknown_actor")
        expect(error.details).toEqual({ known: ["anything", "greet", "order", "parked", "poison", "slow"] })
      }
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("an unknown job is a 404 on every job endpoint", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const id = "01NOSUCHJOB0000000000000000"
      TestGateway.expectError(yield* TestGateway.request(`${url}/v1/jobs/${id}`), 404, "job_not_found")
      TestGateway.expectError(yield* TestGateway.request(`${url}/v1/jobs/${id}?waitMs=5000`), 404, "job_not_found")
      TestGateway.expectError(yield* TestGateway.request(`${url}/v1/jobs/${id}/events`), 404, "job_not_found")
      const stream = yield* TestGateway.request(`${url}/v1/jobs/${id}/events`, {
        headers: { accept: "text/event-stream" },
      })
      TestGateway.expectError(stream, 404, "job_not_found")
      const cancel = yield* TestGateway.request(`${url}/v1/jobs/${id}/cancel`, { method: "POST" })
      TestGateway.expectError(cancel, 404, "job_not_found")
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("an unknown route is a 404", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      for (const [method, path] of [
        ["GET", "/nothing/here"],
        ["GET", "/v1"],
        ["GET", "/v1/jobs"],
        ["POST", "/v1/actors"],
        ["PUT", "/v1/actors/greet/jobs"],
        ["DELETE", "/v1/jobs/x"],
        ["GET", "/v1/actors/greet/jobs/batch/extra"],
        // No CORS preflight is served: OPTIONS is a route like any other, and there is none.
        ["OPTIONS", "/v1/actors"],
      ] as const) {
        const answer = yield* TestGateway.request(`${url}${path}`, { method })
        TestGateway.expectError(answer, 404, "not_found")
      }
      // HEAD answers as GET would, without the body.
      const head = yield* TestGateway.request(`${url}/healthz`, { method: "HEAD" })
      expect(head.status).toBe(200)
      expect(head.text).toBe("")
      const headMissing = yield* TestGateway.request(`${url}/nothing/here`, { method: "HEAD" })
      expect(headMissing.status).toBe(404)
      expect(headMissing.text).toBe("")
    }).pipe(Effect.provide(gateway())),
  )
})
