/**
 * Bad requests over real HTTP, each answer exactly `{"error":{"code","message","details"?}}`:
 * 400 (invalid input, an envelope that does not decode, malformed JSON, too deep, multipart) and
 * 413 (input over the payload limit, body by length, chunked body).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { gateway } from "./support/Actors.js"
import * as TestGateway from "./support/TestGateway.js"

/** Brackets nested `depth` deep. */
const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth)

describe("400", () => {
  it.scopedLive("an invalid input is a 400 listing path-level issues", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const flat = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, { input: { name: 3 } })
      const error = TestGateway.expectError(flat, 400, "invalid_input")
      expect(error.details).toEqual([{ path: ["name"], message: "Expected string, actual 3" }])
      expect(error.message).toContain("at name")

      const nestedIssue = yield* TestGateway.post(`${url}/v1/actors/order/jobs`, {
        input: {
          customer: { email: "a@b" },
          items: [
            { sku: "a", qty: 1 },
            { sku: "b", qty: 0 },
          ],
        },
      })
      const error2 = TestGateway.expectError(nestedIssue, 400, "invalid_input")
      expect(error2.details).toEqual([{ path: ["items", 1, "qty"], message: expect.stringContaining("0") }])
      expect(error2.message).toContain("at items.1.qty")
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("a request whose envelope does not decode is a 400 at the field's path", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      // No input at all, even for an actor that takes any JSON.
      const missing = yield* TestGateway.post(`${url}/v1/actors/anything/jobs`, { idempotencyKey: "k" })
      const error = TestGateway.expectError(missing, 400, "invalid_request")
      expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: ["input"] })]))
      const badDelay = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, { input: { name: "a" }, delayMs: "soon" })
      const delayError = TestGateway.expectError(badDelay, 400, "invalid_request")
      expect(delayError.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: ["delayMs"] })]))
      const longKey = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, {
        input: { name: "a" },
        idempotencyKey: "k".repeat(257),
      })
      TestGateway.expectError(longKey, 400, "invalid_request")
      const notAnObject = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, "[1,2,3]")
      TestGateway.expectError(notAnObject, 400, "invalid_request")
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("malformed JSON is a 400", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      for (const body of ["{not json", '{"input": {"name": "Ad', "", "\u0000\u0001", '{"input":1}}']) {
        const answer = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, body)
        TestGateway.expectError(answer, 400)
      }
      const garbage = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, "{not json")
      expect(TestGateway.expectError(garbage, 400, "invalid_request").message).toBe(
        "the request body is not valid JSON",
      )
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("JSON nested deeper than the limit is a 400; at the limit it is accepted", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      for (const body of [`{"input":${nested(100_000)}}`, nested(200_000), `{"jobs":[{"input":${nested(5_000)}}]}`]) {
        const path = body.startsWith('{"jobs"') ? "/v1/actors/anything/jobs/batch" : "/v1/actors/anything/jobs"
        const answer = yield* TestGateway.post(`${url}${path}`, body)
        expect(TestGateway.expectError(answer, 400, "invalid_request").message).toContain("nests deeper than")
      }
      // The envelope is one level; the input may use the other 127.
      const atLimit = yield* TestGateway.post(`${url}/v1/actors/anything/jobs`, `{"input":${nested(127)}}`)
      expect(atLimit.status).toBe(202)
      const overLimit = yield* TestGateway.post(`${url}/v1/actors/anything/jobs`, `{"input":${nested(128)}}`)
      TestGateway.expectError(overLimit, 400, "invalid_request")
      // Brackets inside strings do not count.
      const inString = yield* TestGateway.post(`${url}/v1/actors/anything/jobs`, {
        input: { text: `[{\\"${nested(1_000)}` },
      })
      expect(inString.status).toBe(202)
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("a multipart body is a 400, however malformed", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const form = new FormData()
      form.append("input", '{"name":"Ada"}')
      const wellFormed = yield* TestGateway.request(`${url}/v1/actors/greet/jobs`, { method: "POST", body: form })
      TestGateway.expectError(wellFormed, 400, "unsupported_content_type")
      for (const contentType of ["multipart/form-data", "multipart/form-data; boundary=x", "Multipart/Mixed"]) {
        const answer = yield* TestGateway.request(`${url}/v1/actors/greet/jobs`, {
          method: "POST",
          headers: { "content-type": contentType },
          body: "--x\r\ngarbage",
        })
        TestGateway.expectError(answer, 400, "unsupported_content_type")
      }
    }).pipe(Effect.provide(gateway())),
  )
})

describe("413", () => {
  it.scopedLive("an input over maxPayloadBytes is a 413 with its size and the limit", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const answer = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, { input: { name: "x".repeat(200) } })
      const error = TestGateway.expectError(answer, 413, "payload_too_large")
      expect(error.details).toEqual({ size: 211, limit: 100 })
      const fits = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, { input: { name: "x".repeat(80) } })
      expect(fits.status).toBe(202)
    }).pipe(Effect.provide(gateway({ settings: { maxPayloadBytes: 100 } }))),
  )

  it.scopedLive("an input over maxPayloadBytes that also fails its schema is a 413, not a 400", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const answer = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, {
        input: { name: 3, pad: "x".repeat(200) },
      })
      const error = TestGateway.expectError(answer, 413, "payload_too_large")
      expect(error.details).toMatchObject({ limit: 100 })
      // Small enough, the same mistake is still a 400 at its path.
      const small = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, { input: { name: 3 } })
      TestGateway.expectError(small, 400, "invalid_input")
    }).pipe(Effect.provide(gateway({ settings: { maxPayloadBytes: 100 } }))),
  )

  it.scopedLive("a body over maxRequestBytes is a 413, and the gateway goes on serving", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const body = JSON.stringify({ input: { name: "x".repeat(5_000) } })
      const answer = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, body)
      TestGateway.expectError(answer, 413, "payload_too_large")
      // A much larger one is refused from its Content-Length, before it is read.
      const huge = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, "x".repeat(8 * 1024 * 1024))
      TestGateway.expectError(huge, 413, "payload_too_large")
      const fits = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, { input: { name: "x".repeat(1_000) } })
      expect(fits.status).toBe(202)
    }).pipe(Effect.provide(gateway({ maxRequestBytes: 4_096 }))),
  )

  it.scopedLive("a chunked body (no Content-Length) over maxRequestBytes is a 413 too", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const chunked = (parts: ReadonlyArray<string>) =>
        TestGateway.request(`${url}/v1/actors/greet/jobs`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: new ReadableStream({
            start(controller) {
              for (const part of parts) controller.enqueue(new TextEncoder().encode(part))
              controller.close()
            },
          }),
          duplex: "half",
        } as RequestInit)
      const over = yield* chunked(['{"input":{"name":"', "x".repeat(3_000), "x".repeat(3_000), '"}}'])
      TestGateway.expectError(over, 413, "payload_too_large")
      const fits = yield* chunked(['{"input":{"name":"', "x".repeat(1_000), '"}}'])
      expect(fits.status).toBe(202)
    }).pipe(Effect.provide(gateway({ maxRequestBytes: 4_096 }))),
  )
})
