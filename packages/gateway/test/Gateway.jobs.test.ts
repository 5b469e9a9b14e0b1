/**
 * Jobs over real HTTP against a real worker and redis-server: submit, follow (SSE and JSON),
 * idempotency, delays, lanes, waiting, batches and cancel.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Actors from "./support/Actors.js"
import * as TestGateway from "./support/TestGateway.js"

const gateway = (options: Partial<TestGateway.Options> = {}) =>
  TestGateway.layer({ contracts: Actors.contracts, handlers: Actors.handlers, ...options })

type Submitted = { jobId: string; status: string; duplicate?: boolean }

const submit = (url: string, actor: string, body: unknown) => TestGateway.post(`${url}/v1/actors/${actor}/jobs`, body)

describe("jobs", () => {
  it.scopedLive("a submitted job is followed over SSE to its end, then read with its output", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const submitted = yield* submit(url, "slow", { input: { ms: 400 } })
      expect(submitted.status).toBe(202)
      expect(submitted.body).toEqual({ jobId: expect.any(String), status: "queued" })
      const { jobId } = submitted.body as Submitted

      const stream = yield* TestGateway.sse(`${url}/v1/jobs/${jobId}/events`)
      expect(stream.status).toBe(200)
      expect(stream.contentType).toContain("text/event-stream")
      expect(stream.closed).toBe(true)
      const types = stream.messages.map((message) => message.event)
      expect(types).toEqual(["submitted", "started", "progress", "succeeded"])
      for (const message of stream.messages) {
        const event = JSON.parse(message.data) as { type: string; jobId: string; id: string }
        expect(event.type).toBe(message.event)
        expect(event.jobId).toBe(jobId)
        expect(message.id).toBe(event.id)
      }
      const progress = JSON.parse(stream.messages[2]?.data ?? "{}")
      expect(progress).toMatchObject({ type: "progress", fraction: 0.5, note: "half way" })

      const status = yield* TestGateway.request(`${url}/v1/jobs/${jobId}`)
      expect(status.status).toBe(200)
      expect(status.body).toMatchObject({
        jobId,
        actor: "slow",
        state: "succeeded",
        input: { ms: 400 },
        output: { slept: 400 },
        progress: 1,
      })

      const history = yield* TestGateway.request(`${url}/v1/jobs/${jobId}/events`)
      expect(history.status).toBe(200)
      expect(history.headers.get("content-type")).toContain("application/json")
      expect((history.body as Array<{ type: string }>).map((event) => event.type)).toEqual(types)
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("the SSE stream of a finished job replays its history and closes", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const { jobId } = (yield* submit(url, "greet", { input: { name: "Ada" } })).body as Submitted
      yield* TestGateway.request(`${url}/v1/jobs/${jobId}?waitMs=10000`)
      const stream = yield* TestGateway.sse(`${url}/v1/jobs/${jobId}/events`, {}, "5 seconds")
      expect(stream.closed).toBe(true)
      expect(stream.messages.map((message) => message.event)).toEqual(["submitted", "started", "succeeded"])
      expect(JSON.parse(stream.messages[2]?.data ?? "{}")).toMatchObject({ output: { greeting: "hello Ada" } })
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("the same idempotency key answers 200 with the same job and duplicate: true", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const first = yield* submit(url, "parked", { input: { i: 1 }, idempotencyKey: "order-77" })
      expect(first.status).toBe(202)
      const again = yield* submit(url, "parked", { input: { i: 1 }, idempotencyKey: "order-77" })
      expect(again.status).toBe(200)
      expect(again.body).toEqual({ jobId: (first.body as Submitted).jobId, status: "queued", duplicate: true })
      const other = yield* submit(url, "parked", { input: { i: 1 }, idempotencyKey: "order-78" })
      expect(other.status).toBe(202)
      expect((other.body as Submitted).jobId).not.toBe((first.body as Submitted).jobId)
      // The key belongs to the actor: the same key for another actor is another job.
      const elsewhere = yield* submit(url, "greet", { input: { name: "x" }, idempotencyKey: "order-77" })
      expect(elsewhere.status).toBe(202)
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("delayMs leaves the job delayed until it is due", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const before = Date.now()
      const submitted = yield* submit(url, "greet", { input: { name: "later" }, delayMs: 60_000 })
      expect(submitted.status).toBe(202)
      expect(submitted.body).toMatchObject({ status: "delayed" })
      const status = yield* TestGateway.status(url, (submitted.body as Submitted).jobId)
      expect(status.state).toBe("delayed")
      expect(status.dueAt).toBeGreaterThanOrEqual(before + 60_000)
      const actors = yield* TestGateway.request(`${url}/v1/actors`)
      expect((actors.body as Array<{ name: string; delayed: number }>).find((a) => a.name === "greet")?.delayed).toBe(1)
      // A short delay runs.
      const soon = yield* submit(url, "greet", { input: { name: "soon" }, delayMs: 300 })
      expect(soon.body).toMatchObject({ status: "delayed" })
      const done = yield* TestGateway.status(url, (soon.body as Submitted).jobId, "?waitMs=10000")
      expect(done).toMatchObject({ state: "succeeded", output: { greeting: "hello soon" } })
      expect(done.startedAt as number).toBeGreaterThanOrEqual((done.submittedAt as number) + 300)
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("every lane is accepted and served; an unknown lane is a 400 at its path", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      for (const lane of ["high", "normal", "low"]) {
        const submitted = yield* submit(url, "greet", { input: { name: lane }, lane })
        expect(submitted.status).toBe(202)
        const status = yield* TestGateway.status(url, (submitted.body as Submitted).jobId, "?waitMs=10000")
        expect(status).toMatchObject({ lane, state: "succeeded", output: { greeting: `hello ${lane}` } })
      }
      const bad = yield* submit(url, "greet", { input: { name: "x" }, lane: "urgent" })
      const error = TestGateway.expectError(bad, 400, "invalid_request")
      expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: ["lane"] })]))
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("waitMs holds the answer until the job ends", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const { jobId } = (yield* submit(url, "slow", { input: { ms: 800 } })).body as Submitted
      const answer = yield* TestGateway.request(`${url}/v1/jobs/${jobId}?waitMs=20000`)
      expect(answer.status).toBe(200)
      expect(answer.body).toMatchObject({ state: "succeeded", output: { slept: 800 } })
      // Held for the job (about 800 ms), not for the whole 20 s.
      expect(answer.ms).toBeGreaterThan(500)
      expect(answer.ms).toBeLessThan(10_000)
      // A finished job answers at once, even with the largest wait.
      const again = yield* TestGateway.request(`${url}/v1/jobs/${jobId}?waitMs=60000`)
      expect(again.status).toBe(200)
      expect(again.ms).toBeLessThan(1_000)
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("waitMs answers after about waitMs when the job does not end", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const { jobId } = (yield* submit(url, "parked", { input: { i: 1 } })).body as Submitted
      const answer = yield* TestGateway.request(`${url}/v1/jobs/${jobId}?waitMs=700`)
      expect(answer.status).toBe(200)
      expect(answer.body).toMatchObject({ jobId, state: "queued" })
      expect(answer.ms).toBeGreaterThanOrEqual(650)
      expect(answer.ms).toBeLessThan(700 + 1_500)
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("waitMs over 60000 (or not a whole number) is a 400", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const { jobId } = (yield* submit(url, "parked", { input: { i: 1 } })).body as Submitted
      for (const waitMs of ["60001", "-1", "1.5", "soon"]) {
        const answer = yield* TestGateway.request(`${url}/v1/jobs/${jobId}?waitMs=${waitMs}`)
        const error = TestGateway.expectError(answer, 400, "invalid_request")
        expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: ["waitMs"] })]))
        expect(answer.ms).toBeLessThan(1_000)
      }
    }).pipe(Effect.provide(gateway())),
  )
})

describe("batches", () => {
  it.scopedLive("a batch of 1000 answers one result per item, in order, with per-item errors", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const isInvalid = (i: number) => i % 100 === 7
      const jobs = Array.from({ length: 1000 }, (_, i) =>
        i === 500
          ? { input: { i: 500, note: "x".repeat(100) } } // over maxPayloadBytes
          : i === 2 || i === 3
            ? { input: { i: 2 }, idempotencyKey: "twice" }
            : { input: isInvalid(i) ? { i: `${i}` } : { i }, ...(i === 999 ? { lane: "high" } : {}) },
      )
      const answer = yield* TestGateway.post(`${url}/v1/actors/parked/jobs/batch`, { jobs })
      expect(answer.status).toBe(202)
      const { results } = answer.body as {
        results: Array<Submitted & { error?: { code: string; message: string; details?: unknown } }>
      }
      expect(results).toHaveLength(1000)
      results.forEach((result, i) => {
        if (isInvalid(i)) {
          expect(TestGateway.isErrorShape(result)).toBe(true)
          expect(result.error).toMatchObject({ code: "invalid_input", details: [{ path: ["i"] }] })
        } else if (i === 500) {
          expect(TestGateway.isErrorShape(result)).toBe(true)
          expect(result.error).toMatchObject({ code: "payload_too_large", details: { limit: 64 } })
        } else
          expect(result).toEqual({
            jobId: expect.any(String),
            status: "queued",
            duplicate: i === 2 || i === 3 ? expect.any(Boolean) : false,
          })
      })
      // The two items with one key are one job, written once.
      expect(results[2]?.jobId).toBe(results[3]?.jobId)
      expect([results[2]?.duplicate, results[3]?.duplicate].sort()).toEqual([false, true])
      // In order: each result is its item's job.
      const sample = yield* TestGateway.status(url, results[42]?.jobId ?? "")
      expect(sample.input).toEqual({ i: 42 })
      const last = yield* TestGateway.status(url, results[999]?.jobId ?? "")
      expect(last).toMatchObject({ input: { i: 999 }, lane: "high" })
      const written = 1000 - 10 - 1 - 1
      const actors = yield* TestGateway.request(`${url}/v1/actors`)
      expect((actors.body as Array<{ name: string; depth: number }>).find((a) => a.name === "parked")?.depth).toBe(
        written,
      )
    }).pipe(Effect.provide(gateway({ settings: { maxPayloadBytes: 64 } }))),
  )

  it.scopedLive("a batch over 1000 items is a 400 and writes nothing", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const jobs = Array.from({ length: 1001 }, (_, i) => ({ input: { i } }))
      const answer = yield* TestGateway.post(`${url}/v1/actors/parked/jobs/batch`, { jobs })
      const error = TestGateway.expectError(answer, 400, "invalid_request")
      expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: ["jobs"] })]))
      const actors = yield* TestGateway.request(`${url}/v1/actors`)
      expect((actors.body as Array<{ name: string; depth: number }>).find((a) => a.name === "parked")?.depth).toBe(0)
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("a batch item that does not decode fails only itself, with its error at its path", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const jobs = [{ input: { i: 1 } }, { input: { i: 2 }, delayMs: -5 }, "not an envelope", { input: { i: 4 } }]
      const answer = yield* TestGateway.post(`${url}/v1/actors/parked/jobs/batch`, { jobs })
      expect(answer.status).toBe(202)
      const { results } = answer.body as {
        results: Array<{ jobId?: string; error?: { code: string; details?: unknown } }>
      }
      expect(results).toHaveLength(4)
      expect(results[0]).toMatchObject({ jobId: expect.any(String), status: "queued" })
      expect(TestGateway.isErrorShape(results[1])).toBe(true)
      expect(results[1]?.error).toMatchObject({ code: "invalid_request" })
      expect(results[1]?.error?.details).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: ["delayMs"] })]),
      )
      expect(results[2]?.error).toMatchObject({ code: "invalid_request" })
      expect(results[3]).toMatchObject({ jobId: expect.any(String), status: "queued" })
      const actors = yield* TestGateway.request(`${url}/v1/actors`)
      expect((actors.body as Array<{ name: string; depth: number }>).find((a) => a.name === "parked")?.depth).toBe(2)
      // The API description says so: a batch item is a SubmitRequest or anything, answered in place.
      const openapi = yield* TestGateway.request(`${url}/openapi.json`)
      const spec = openapi.body as { components: { schemas: Record<string, unknown> } }
      expect(JSON.stringify(spec.components.schemas.BatchRequest)).toContain(
        "answered with its own invalid_request error",
      )
      expect(JSON.stringify(spec.components.schemas.BatchRequest)).toContain("#/components/schemas/SubmitRequest")
      expect(spec.components.schemas.SubmitRequest).toBeDefined()
    }).pipe(Effect.provide(gateway())),
  )
})

describe("cancel", () => {
  it.scopedLive("cancelling a queued job answers 202 cancelled", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      for (const body of [{ input: { i: 1 } }, { input: { i: 2 }, delayMs: 60_000 }]) {
        const { jobId } = (yield* submit(url, "parked", body)).body as Submitted
        const answer = yield* TestGateway.request(`${url}/v1/jobs/${jobId}/cancel`, { method: "POST" })
        expect(answer.status).toBe(202)
        expect(answer.body).toEqual({ jobId, status: "cancelled" })
        const status = yield* TestGateway.status(url, jobId)
        expect(status.state).toBe("cancelled")
      }
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("cancelling a running job answers 202 cancelRequested and the job ends cancelled", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const { jobId } = (yield* submit(url, "slow", { input: { ms: 30_000 } })).body as Submitted
      yield* TestGateway.eventually(TestGateway.status(url, jobId), (status) => status.state === "active")
      const answer = yield* TestGateway.request(`${url}/v1/jobs/${jobId}/cancel`, { method: "POST" })
      expect(answer.status).toBe(202)
      expect(answer.body).toEqual({ jobId, status: "cancelRequested" })
      const ended = yield* TestGateway.request(`${url}/v1/jobs/${jobId}?waitMs=15000`)
      expect(ended.body).toMatchObject({ state: "cancelled" })
      // Stopped by the cancel, long before the handler's 30 s.
      expect(ended.ms).toBeLessThan(10_000)
      const history = yield* TestGateway.request(`${url}/v1/jobs/${jobId}/events`)
      const types = (history.body as Array<{ type: string }>).map((event) => event.type)
      expect(types.slice(-2)).toEqual(["cancelRequested", "cancelled"])
      expect(types).not.toContain("succeeded")
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("cancelling a finished job is a 409", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const { jobId } = (yield* submit(url, "greet", { input: { name: "done" } })).body as Submitted
      yield* TestGateway.request(`${url}/v1/jobs/${jobId}?waitMs=10000`)
      const answer = yield* TestGateway.request(`${url}/v1/jobs/${jobId}/cancel`, { method: "POST" })
      const error = TestGateway.expectError(answer, 409, "job_finished")
      expect(error.details).toEqual({ state: "succeeded" })
      const status = yield* TestGateway.status(url, jobId)
      expect(status.state).toBe("succeeded")
    }).pipe(Effect.provide(gateway())),
  )
})
