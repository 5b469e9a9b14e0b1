/**
 * Trouble behind the gateway over real HTTP, each answer exactly `{"error":{"code","message"}}`:
 * 503 with Retry-After when Redis is down or no replica confirmed a submission, and 500 when the
 * deployment has another partition count.
 */
import { EmbeddedRedis, RedisClient, Settings } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as Actors from "./support/Actors.js"
import * as TestGateway from "./support/TestGateway.js"

describe("503", () => {
  it.scopedLive("with Redis down, answers are a quick 503 with Retry-After, never a hang or a stack", () =>
    Effect.gen(function* () {
      const redis = yield* TestGateway.stoppableRedis
      yield* Effect.gen(function* () {
        const url = yield* TestGateway.baseUrl
        const ready = yield* TestGateway.request(`${url}/readyz`)
        expect(ready.status).toBe(200)
        expect(ready.body).toEqual({ status: "ready", redisMs: expect.any(Number) })
        const before = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, { input: { name: "a" } })
        expect(before.status).toBe(202)
        const { jobId } = before.body as { jobId: string }

        yield* redis.stop

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
          Actors.gateway({
            url: redis.url,
            settings: { submitReplicas: 1, submitReplicasTimeout: Duration.millis(200) },
          }),
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
