/**
 * The read-only surface: actors with their contracts and live counts, workers, health,
 * readiness, the OpenAPI document, the docs page, and /metrics parsed as Prometheus text.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import parsePrometheusTextFormat from "parse-prometheus-text-format"
import * as Actors from "./support/Actors.js"
import * as TestGateway from "./support/TestGateway.js"

const gateway = () => TestGateway.layer({ contracts: Actors.contracts, handlers: Actors.handlers })

interface ActorInfo {
  name: string
  input: Record<string, unknown>
  output: Record<string, unknown>
  policy: Record<string, unknown>
  counts: Record<string, number>
  rates: Record<string, number>
  depth: number
  delayed: number
  workers: number
}

describe("system", () => {
  it.scopedLive("GET /v1/actors gives each contract's JSON Schema, examples, policy and live counts", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const submitted = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, { input: { name: "Ada" } })
      const { jobId } = submitted.body as { jobId: string }
      yield* TestGateway.request(`${url}/v1/jobs/${jobId}?waitMs=10000`)
      yield* TestGateway.post(`${url}/v1/actors/parked/jobs`, { input: { i: 1 } })

      // Counts come from the read model, which the completion itself updated: no wait.
      const actors = (yield* TestGateway.request(`${url}/v1/actors`)).body as Array<ActorInfo>
      expect(actors.find((actor) => actor.name === "greet")?.counts.succeeded).toBe(1)
      expect(actors.map((actor) => actor.name)).toEqual(["anything", "greet", "order", "parked", "poison", "slow"])
      const greet = actors.find((actor) => actor.name === "greet")
      expect(greet?.input).toMatchObject({
        $schema: "http://json-schema.org/draft-07/schema#",
        type: "object",
        required: ["name"],
        properties: { name: { type: "string" } },
        examples: [{ name: "Ada" }],
      })
      expect(greet?.output).toMatchObject({ type: "object", required: ["greeting"] })
      expect(greet?.policy).toEqual({
        attempts: 4,
        backoff: { type: "exponential", baseMs: 5_000, factor: 3, maxMs: 45_000, jitter: true },
        timeoutMs: 600_000,
        leaseMs: 30_000,
        maxDeliveries: 3,
        concurrency: 10,
        rateLimit: null,
      })
      expect(greet?.rates).toMatchObject({ succeeded: 1 })
      expect(greet?.workers).toBe(1)
      const slow = actors.find((actor) => actor.name === "slow")
      expect(slow?.policy).toMatchObject({ attempts: 1, leaseMs: 3_000 })
      const parked = actors.find((actor) => actor.name === "parked")
      expect(parked).toMatchObject({ depth: 1, delayed: 0, workers: 0 })
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("GET /v1/workers lists the running worker and its actors", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const workers = yield* TestGateway.eventually(
        TestGateway.request(`${url}/v1/workers`).pipe(
          Effect.map((answer) => answer.body as Array<{ actors: Array<string> }>),
        ),
        (list) => list.length > 0,
      )
      expect(workers).toHaveLength(1)
      expect(workers[0]).toMatchObject({
        id: expect.any(String),
        pid: process.pid,
        actors: ["greet", "slow", "poison", "order"],
        concurrency: 20,
        inFlight: 0,
      })
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("/healthz and /readyz answer 200", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const health = yield* TestGateway.request(`${url}/healthz`)
      expect(health.status).toBe(200)
      expect(health.body).toEqual({ status: "ok" })
      const ready = yield* TestGateway.request(`${url}/readyz`)
      expect(ready.status).toBe(200)
      expect(ready.body).toEqual({ status: "ready", redisMs: expect.any(Number) })
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("/openapi.json is the API's OpenAPI document and /docs an HTML page", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const openapi = yield* TestGateway.request(`${url}/openapi.json`)
      expect(openapi.status).toBe(200)
      expect(openapi.headers.get("content-type")).toContain("application/json")
      const document = JSON.parse(openapi.text) as {
        openapi: string
        info: { title: string }
        paths: Record<string, Record<string, unknown>>
      }
      expect(document.openapi).toMatch(/^3\./)
      expect(document.info.title).toBe("eddy gateway")
      expect(Object.keys(document.paths).sort()).toEqual(
        [
          "/healthz",
          "/metrics",
          "/readyz",
          "/v1/actors",
          "/v1/actors/{actor}/jobs",
          "/v1/actors/{actor}/jobs/batch",
          "/v1/actors/{actor}/pause",
          "/v1/actors/{actor}/resume",
          "/v1/dead-letters",
          "/v1/dead-letters/{jobId}",
          "/v1/dead-letters/{jobId}/retry",
          "/v1/jobs/{jobId}",
          "/v1/jobs/{jobId}/cancel",
          "/v1/jobs/{jobId}/events",
          "/v1/workers",
          "/v1/session",
          "/v1/overview",
          "/v1/search",
          "/v1/events",
          "/v1/dead-letters/retry",
          "/v1/dead-letters/purge",
          "/v1/actors/{actor}/cancel-waiting",
        ].sort(),
      )
      expect(Object.keys(document.paths["/v1/actors/{actor}/jobs"] ?? {}).sort()).toEqual(["get", "post"])
      expect(Object.keys(document.paths["/v1/dead-letters/{jobId}"] ?? {})).toEqual(["delete"])

      const docs = yield* TestGateway.request(`${url}/docs`)
      expect(docs.status).toBe(200)
      expect(docs.headers.get("content-type")).toContain("text/html")
      expect(docs.text).toMatch(/<html/i)
      expect(docs.text).toContain("eddy gateway")
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("/metrics parses as Prometheus text with the queue, job, paused, Redis and duration families", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const { jobId } = (yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, { input: { name: "m" } })).body as {
        jobId: string
      }
      yield* TestGateway.request(`${url}/v1/jobs/${jobId}?waitMs=10000`)
      yield* TestGateway.post(`${url}/v1/actors/parked/jobs`, { input: { i: 1 }, delayMs: 60_000 })
      yield* TestGateway.post(`${url}/v1/actors/parked/jobs`, { input: { i: 2 } })

      type Family = {
        name: string
        type: string
        help: string
        metrics: Array<{
          value?: string
          labels?: Record<string, string>
          buckets?: Record<string, string>
          count?: string
          sum?: string
        }>
      }
      const scrape = TestGateway.request(`${url}/metrics`).pipe(
        Effect.map((answer) => {
          expect(answer.status).toBe(200)
          expect(answer.headers.get("content-type")).toContain("text/plain")
          return parsePrometheusTextFormat(answer.text) as Array<Family>
        }),
      )
      const families = yield* TestGateway.eventually(scrape, (parsed) =>
        parsed.some(
          (family) =>
            family.name === "eddy_jobs" &&
            family.metrics.some(
              (m) => m.labels?.actor === "greet" && m.labels.state === "succeeded" && m.value === "1",
            ),
        ),
      )
      const family = (name: string) => {
        const found = families.find((candidate) => candidate.name === name)
        expect(found, `no ${name} family`).toBeDefined()
        return found as Family
      }
      const sample = (name: string, labels: Record<string, string>) =>
        family(name).metrics.find((metric) => Object.entries(labels).every(([k, v]) => metric.labels?.[k] === v))

      // One family per name.
      expect(new Set(families.map((f) => f.name)).size).toBe(families.length)

      expect(family("eddy_queue_depth").type).toBe("GAUGE")
      expect(sample("eddy_queue_depth", { actor: "parked" })?.value).toBe("1")
      expect(sample("eddy_queue_delayed", { actor: "parked" })?.value).toBe("1")
      expect(sample("eddy_queue_depth", { actor: "greet" })?.value).toBe("0")
      expect(sample("eddy_jobs", { actor: "greet", state: "succeeded" })?.value).toBe("1")
      expect(family("eddy_jobs").help).toBe("Jobs per state (status projection)")
      expect(families.some((f) => f.name === "eddy_projector_lag")).toBe(false)
      expect(sample("eddy_actor_paused", { actor: "greet" })?.value).toBe("0")
      expect(family("eddy_redis_up").metrics[0]?.value).toBe("1")

      // The worker runs in this process: its attempt durations are a histogram. (The parser
      // folds the series of a labelled histogram into one; each series is checked below.)
      const duration = family("eddy_job_duration_seconds")
      expect(duration.type).toBe("HISTOGRAM")
      const bounds = Object.keys(duration.metrics[0]?.buckets ?? {})
      expect(bounds.at(-1)).toBe("+Inf")
      expect(bounds.map(Number)).toEqual([...bounds.map(Number)].sort((a, b) => a - b))

      // The greet series, as parsed on its own: one bucket per bound (+Inf once), cumulative,
      // +Inf equal to the count. (The registry is the process's: earlier tests count too.)
      const text = (yield* TestGateway.request(`${url}/metrics`)).text
      const series = text
        .split("\n")
        .filter((line) => line.startsWith("eddy_job_duration_seconds_") && line.includes('actor="greet"'))
        .join("\n")
      const [greet] = parsePrometheusTextFormat(
        `# TYPE eddy_job_duration_seconds histogram\n${series.replaceAll('actor="greet",', "").replaceAll('{actor="greet"}', "")}\n`,
      ) as Array<Family>
      const only = greet?.metrics[0]
      const count = Number(only?.count)
      expect(count).toBeGreaterThanOrEqual(1)
      expect(Number(only?.sum)).toBeGreaterThan(0)
      const buckets = Object.entries(only?.buckets ?? {})
      expect(series.split("\n").filter((line) => line.startsWith("eddy_job_duration_seconds_bucket"))).toHaveLength(
        buckets.length,
      )
      expect(buckets.at(-1)).toEqual(["+Inf", String(count)])
      const counts = buckets.map(([, n]) => Number(n))
      expect(counts).toEqual([...counts].sort((a, b) => a - b))
    }).pipe(Effect.provide(gateway())),
  )
})
