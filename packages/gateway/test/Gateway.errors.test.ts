/**
 * Every error status over real HTTP, each answer exactly `{"error":{"code","message","details"?}}`:
 * 400 (invalid input, malformed JSON, too deep, multipart), 404 (actor, job, route), 413 (input,
 * body by length, chunked body), 401, 403, 429 and 503 with Retry-After.
 */
import { EmbeddedRedis, RedisClient, Settings } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Scope } from "effect"
import * as Actors from "./support/Actors.js"
import * as TestGateway from "./support/TestGateway.js"

const gateway = (options: Partial<TestGateway.Options> = {}) =>
  TestGateway.layer({ contracts: Actors.contracts, handlers: Actors.handlers, ...options })

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

describe("503", () => {
  it.scopedLive("with Redis down, answers are a quick 503 with Retry-After, never a hang or a stack", () =>
    Effect.gen(function* () {
      const redisScope = yield* Scope.make()
      const redis = yield* EmbeddedRedis.start({ ephemeral: true, stopGrace: "2 seconds" }).pipe(
        Scope.extend(redisScope),
      )
      yield* Effect.gen(function* () {
        const url = yield* TestGateway.baseUrl
        const ready = yield* TestGateway.request(`${url}/readyz`)
        expect(ready.status).toBe(200)
        expect(ready.body).toEqual({ status: "ready", redisMs: expect.any(Number) })
        const before = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, { input: { name: "a" } })
        expect(before.status).toBe(202)
        const { jobId } = before.body as { jobId: string }

        yield* Scope.close(redisScope, Exit.void)

        // The client's bound is 1 s (TestGateway); allow 1.5 s more for a loaded machine.
        const bound = 2_500
        const down = [
          () => TestGateway.post(`${url}/v1/actors/greet/jobs`, { input: { name: "b" } }),
          () => TestGateway.post(`${url}/v1/actors/greet/jobs/batch`, { jobs: [{ input: { name: "c" } }] }),
          () => TestGateway.request(`${url}/v1/jobs/${jobId}`),
          () => TestGateway.request(`${url}/v1/jobs/${jobId}?waitMs=5000`),
          () => TestGateway.request(`${url}/v1/jobs/${jobId}/events`),
          () => TestGateway.request(`${url}/v1/jobs/${jobId}/events`, { headers: { accept: "text/event-stream" } }),
          () => TestGateway.request(`${url}/v1/jobs/${jobId}/cancel`, { method: "POST" }),
          () => TestGateway.request(`${url}/v1/actors`),
          () => TestGateway.request(`${url}/v1/workers`),
          () => TestGateway.request(`${url}/v1/dead-letters`),
          () => TestGateway.request(`${url}/readyz`),
        ]
        const answers = yield* Effect.forEach(down, (call) => call(), { concurrency: "unbounded" })
        for (const answer of answers) {
          const error = TestGateway.expectError(answer, 503)
          expect(error.code).toBe("redis_unavailable")
          expect(answer.headers.get("retry-after")).toBe("2")
          expect(answer.ms).toBeLessThan(bound)
        }
        // Liveness and metrics still answer.
        expect((yield* TestGateway.request(`${url}/healthz`)).status).toBe(200)
        const metrics = yield* TestGateway.request(`${url}/metrics`)
        expect(metrics.status).toBe(200)
        expect(metrics.text).toMatch(/^eddy_redis_up 0$/m)
      }).pipe(Effect.provide(TestGateway.layer({ contracts: Actors.contracts, url: redis.url })))
    }),
  )

  it.scopedLive("a submission no replica confirmed (EDDY_SUBMIT_REPLICAS) is a 503 saying the job may exist", () =>
    Effect.gen(function* () {
      // A server of its own, with no replica (the run's cluster has one per master): the WAIT
      // answers 0 after its timeout.
      const redis = yield* EmbeddedRedis.start({ ephemeral: true, stopGrace: "2 seconds" })
      yield* Effect.gen(function* () {
        const url = yield* TestGateway.baseUrl
        const single = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, {
          input: { name: "a" },
          idempotencyKey: "order-9",
        })
        const error = TestGateway.expectError(single, 503, "submit_not_replicated")
        expect(error.message).toContain("may exist")
        expect(error.message).toContain("same idempotency key")
        expect(error.details).toMatchObject({ replicas: 1, confirmed: 0 })
        expect(single.headers.get("retry-after")).toBe("2")
        // The whole batch is one 503 (one WAIT), naming every job it wrote.
        const batch = yield* TestGateway.post(`${url}/v1/actors/greet/jobs/batch`, {
          jobs: [{ input: { name: "b" } }, { input: { name: "c" } }, { input: { name: 3 } }],
        })
        const batchError = TestGateway.expectError(batch, 503, "submit_not_replicated")
        expect((batchError.details as { jobIds: Array<string> }).jobIds).toHaveLength(2)
        // The job was written: it can be looked up.
        const jobId = (error.details as { jobIds: Array<string> }).jobIds[0]
        expect((yield* TestGateway.request(`${url}/v1/jobs/${jobId}`)).status).toBe(200)
      }).pipe(
        Effect.provide(
          gateway({ url: redis.url, settings: { submitReplicas: 1, submitReplicasTimeout: Duration.millis(200) } }),
        ),
      )
    }),
  )
})

describe("500", () => {
  it.scopedLive("a gateway with another partition count than its deployment refuses to submit, saying why", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const { keyspace } = yield* Settings.Settings
      // Another process started this deployment with 7 partitions; this gateway has 1.
      yield* Effect.flatMap(RedisClient.RedisClient, (redis) =>
        redis.run((c) => c.hset(keyspace.meta, "partitions", "7")),
      )
      const answer = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, { input: { name: "a" } })
      const error = TestGateway.expectError(answer, 500, "partition_count_mismatch")
      expect(error.message).toContain("EDDY_PARTITIONS is 1")
      expect(error.message).toContain("started with 7 partition(s)")
      const batch = yield* TestGateway.post(`${url}/v1/actors/greet/jobs/batch`, { jobs: [{ input: { name: "b" } }] })
      TestGateway.expectError(batch, 500, "partition_count_mismatch")
      const written = yield* Effect.flatMap(RedisClient.RedisClient, (redis) =>
        redis.run((c) => c.hlen(keyspace.partition(0).jobs)),
      )
      expect(written).toBe(0)
      // No worker here: a worker's start would have checked (and recorded) the count first.
    }).pipe(Effect.provide(TestGateway.layer({ contracts: Actors.contracts }))),
  )
})
