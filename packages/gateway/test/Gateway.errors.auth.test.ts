/**
 * API keys over real HTTP, each refusal exactly `{"error":{"code","message","details"?}}`: 401
 * (no key, an unknown key), 403 (a key without the endpoint's scope) and 429 with Retry-After
 * (a key over its rate).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { gateway } from "./support/Actors.js"
import * as TestGateway from "./support/TestGateway.js"

describe("auth", () => {
  const keys = "reader-key:read,submitter-key:submit,admin-key:admin"

  it.scopedLive("a request without a key is a 401", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const submit = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, { input: { name: "a" } })
      expect(TestGateway.expectError(submit, 401, "unauthorized").message).toContain("API key is required")
      TestGateway.expectError(yield* TestGateway.request(`${url}/v1/actors`), 401, "unauthorized")
      TestGateway.expectError(
        yield* TestGateway.request(`${url}/v1/actors`, { headers: { authorization: "Bearer " } }),
        401,
        "unauthorized",
      )
      // Health, readiness, metrics and the docs stay open.
      expect((yield* TestGateway.request(`${url}/healthz`)).status).toBe(200)
    }).pipe(Effect.provide(gateway({ apiKeys: keys }))),
  )

  it.scopedLive("a request with an unknown key is a 401", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      for (const headers of [
        { authorization: "Bearer wrong-key" },
        { authorization: "Basic YWRtaW4ta2V5Og==" },
        { "x-api-key": "admin-key-but-longer" },
        { authorization: "Bearer admin-ke" },
      ]) {
        const answer = yield* TestGateway.request(`${url}/v1/actors`, { headers })
        expect(TestGateway.expectError(answer, 401, "unauthorized").message).not.toContain("admin")
      }
      // The right key, either way of sending it, is let in.
      expect((yield* TestGateway.request(`${url}/v1/actors`, { headers: { "x-api-key": "reader-key" } })).status).toBe(
        200,
      )
      expect(
        (yield* TestGateway.request(`${url}/v1/actors`, { headers: { authorization: "bearer reader-key" } })).status,
      ).toBe(200)
    }).pipe(Effect.provide(gateway({ apiKeys: keys }))),
  )

  it.scopedLive("a key without the endpoint's scope is a 403; admin implies every scope", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const as = (key: string) => ({ authorization: `Bearer ${key}` })
      const readerSubmits = yield* TestGateway.post(
        `${url}/v1/actors/greet/jobs`,
        { input: { name: "a" } },
        as("reader-key"),
      )
      expect(TestGateway.expectError(readerSubmits, 403, "forbidden").message).toContain("submit")
      const submitterReads = yield* TestGateway.request(`${url}/v1/actors`, { headers: as("submitter-key") })
      TestGateway.expectError(submitterReads, 403, "forbidden")
      const submitterPurges = yield* TestGateway.request(`${url}/v1/dead-letters/x`, {
        method: "DELETE",
        headers: as("submitter-key"),
      })
      TestGateway.expectError(submitterPurges, 403, "forbidden")

      const adminSubmits = yield* TestGateway.post(
        `${url}/v1/actors/greet/jobs`,
        { input: { name: "a" } },
        as("admin-key"),
      )
      expect(adminSubmits.status).toBe(202)
      const { jobId } = adminSubmits.body as { jobId: string }
      const adminReads = yield* TestGateway.request(`${url}/v1/jobs/${jobId}?waitMs=10000`, {
        headers: as("admin-key"),
      })
      expect(adminReads.body).toMatchObject({ state: "succeeded" })
      const submitterSubmits = yield* TestGateway.post(
        `${url}/v1/actors/greet/jobs`,
        { input: { name: "b" } },
        as("submitter-key"),
      )
      expect(submitterSubmits.status).toBe(202)
    }).pipe(Effect.provide(gateway({ apiKeys: keys }))),
  )

  it.scopedLive("a key over its rate is a 429 with Retry-After; other keys are not held back", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const answers = yield* Effect.forEach(
        Array.from({ length: 10 }),
        () => TestGateway.request(`${url}/v1/actors`, { headers: { authorization: "Bearer reader-key" } }),
        { concurrency: "unbounded" },
      )
      const limited = answers.filter((answer) => answer.status === 429)
      expect(answers.every((answer) => answer.status === 200 || answer.status === 429)).toBe(true)
      // 3 per second: at most 6 pass even if the burst straddles two windows.
      expect(limited.length).toBeGreaterThanOrEqual(4)
      for (const answer of limited) {
        TestGateway.expectError(answer, 429, "rate_limited")
        expect(answer.headers.get("retry-after")).toBe("1")
      }
      const other = yield* TestGateway.request(`${url}/v1/actors`, { headers: { authorization: "Bearer admin-key" } })
      expect(other.status).toBe(200)
      expect(other.headers.get("retry-after")).toBeNull()
    }).pipe(Effect.provide(gateway({ apiKeys: keys, perSecond: 3 }))),
  )
})
