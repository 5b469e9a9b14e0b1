/**
 * The dashboard's endpoints over real HTTP: bulk retry and purge of dead letters (filtered by
 * actor and reason), cancelling an actor's waiting jobs, search by job id, idempotency key and
 * correlation id, the events tail (JSON and SSE), the overview stream, the key's session, and
 * the `/ui` pages.
 */
import { Actor } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Schema } from "effect"
import * as Worker from "../../workers/src/Worker.js"
import * as Actors from "./support/Actors.js"
import * as TestGateway from "./support/TestGateway.js"

const admin = { authorization: "Bearer admin-key" }
const reader = { authorization: "Bearer read-key" }

/** Sends one `greet` from inside its job, so the child carries the parent's correlation id. */
const Fanout = Actor.define("fanout", {
  input: Schema.Struct({ name: Schema.String }),
  output: Schema.Struct({ child: Schema.String }),
})
const fanout = Worker.handle(Fanout, ({ name }, context) =>
  context.send(Actors.Greet, { name }).pipe(Effect.map((sent) => ({ child: sent.jobId }))),
)

const gateway = () =>
  TestGateway.layer({
    contracts: [...Actors.contracts, Fanout],
    handlers: [...Actors.handlers, fanout],
    apiKeys: "admin-key:admin,read-key:read",
  })

const submit = (url: string, actor: string, body: unknown) =>
  TestGateway.post(`${url}/v1/actors/${actor}/jobs`, body, admin).pipe(
    Effect.map((answer) => (answer.body as { jobId: string }).jobId),
  )

const ended = (url: string, jobId: string) =>
  TestGateway.request(`${url}/v1/jobs/${jobId}?waitMs=10000`, { headers: reader }).pipe(
    Effect.map((answer) => answer.body as { state: string; output?: { child: string } }),
  )

const bulk = (url: string, path: string, body: unknown = {}, headers = admin) =>
  TestGateway.post(`${url}${path}`, body, headers)

describe("dashboard endpoints", () => {
  it.scopedLive("bulk retry and purge act on the dead letters that match actor and reason", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const ids = yield* Effect.forEach([201, 202, 203], (n) => submit(url, "poison", { input: { n } }))
      for (const id of ids) expect((yield* ended(url, id)).state).toBe("deadLettered")

      const none = yield* bulk(url, "/v1/dead-letters/retry", { actor: "poison", reason: "attemptsExhausted" })
      expect(none.body).toEqual({ matched: 0, done: 0, failed: [], more: false })
      const refused = yield* bulk(url, "/v1/dead-letters/retry", {}, reader)
      TestGateway.expectError(refused, 403, "forbidden")

      Actors.healed.add(201)
      Actors.healed.add(202)
      Actors.healed.add(203)
      const purged = yield* TestGateway.request(`${url}/v1/dead-letters/${ids[2]}`, {
        method: "DELETE",
        headers: admin,
      })
      expect(purged.status).toBe(200)
      const retried = yield* bulk(url, "/v1/dead-letters/retry", { actor: "poison", reason: "nonRetryable" })
      expect(retried.body).toEqual({ matched: 2, done: 2, failed: [], more: false })
      expect((yield* ended(url, ids[0] as string)).state).toBe("succeeded")
      expect((yield* ended(url, ids[1] as string)).state).toBe("succeeded")

      Actors.healed.delete(204)
      const again = yield* submit(url, "poison", { input: { n: 204 } })
      expect((yield* ended(url, again)).state).toBe("deadLettered")
      const purgedAll = yield* bulk(url, "/v1/dead-letters/purge", { actor: "poison" })
      expect(purgedAll.body).toMatchObject({ matched: 1, done: 1 })
      const gone = yield* TestGateway.request(`${url}/v1/jobs/${again}`, { headers: reader })
      TestGateway.expectError(gone, 404, "job_not_found")
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("cancel-waiting cancels an actor's queued and delayed jobs, and nothing else", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const queued = yield* Effect.forEach([1, 2, 3], (i) => submit(url, "parked", { input: { i } }))
      const delayed = yield* submit(url, "parked", { input: { i: 4 }, delayMs: 60_000 })
      const other = yield* submit(url, "anything", { input: 1 })
      const answer = yield* bulk(url, "/v1/actors/parked/cancel-waiting")
      expect(answer.body).toEqual({ matched: 4, done: 4, failed: [], more: false })
      for (const id of [...queued, delayed]) expect((yield* ended(url, id)).state).toBe("cancelled")
      const untouched = yield* TestGateway.request(`${url}/v1/jobs/${other}`, { headers: reader })
      expect(untouched.body).toMatchObject({ state: "queued" })
      const unknown = yield* bulk(url, "/v1/actors/nobody/cancel-waiting")
      TestGateway.expectError(unknown, 404, "unknown_actor")
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("search finds a job by id, by idempotency key and by correlation id", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const keyed = yield* submit(url, "greet", { input: { name: "Ada" }, idempotencyKey: "order-42" })
      const root = yield* submit(url, "fanout", { input: { name: "Lin" } })
      const child = (yield* ended(url, root)).output?.child as string
      yield* ended(url, child)
      const search = (q: string) =>
        TestGateway.request(`${url}/v1/search?q=${encodeURIComponent(q)}`, { headers: reader }).pipe(
          Effect.map((answer) => answer.body as { matches: Array<{ jobId: string; matchedBy: string }> }),
        )
      expect((yield* search("order-42")).matches).toEqual([
        expect.objectContaining({ jobId: keyed, matchedBy: "idempotencyKey" }),
      ])
      expect((yield* search(keyed)).matches).toEqual([expect.objectContaining({ jobId: keyed, matchedBy: "jobId" })])
      const correlated = (yield* search(root)).matches
      expect(correlated).toHaveLength(2)
      expect(correlated).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ jobId: root, matchedBy: "jobId" }),
          expect.objectContaining({ jobId: child, matchedBy: "correlationId" }),
        ]),
      )
      expect((yield* search("no-such-thing")).matches).toEqual([])
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("the events tail filters by actor and type, and streams the newest events then new ones", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const first = yield* submit(url, "greet", { input: { name: "one" } })
      yield* ended(url, first)
      yield* submit(url, "parked", { input: { i: 1 } })
      const recent = yield* TestGateway.request(`${url}/v1/events?actor=greet&type=succeeded,started`, {
        headers: reader,
      })
      const events = recent.body as Array<{ type: string; actor: string; jobId: string }>
      expect(events.map((e) => [e.type, e.jobId])).toEqual([
        ["started", first],
        ["succeeded", first],
      ])

      const stream = yield* Effect.fork(
        TestGateway.sse(`${url}/v1/events?actor=greet&type=succeeded`, reader, "2 seconds"),
      )
      yield* Effect.sleep("500 millis")
      const second = yield* submit(url, "greet", { input: { name: "two" } })
      yield* submit(url, "parked", { input: { i: 2 } })
      const { messages } = yield* Fiber.join(stream)
      expect(messages.map((m) => [m.event, (JSON.parse(m.data) as { jobId: string }).jobId])).toEqual([
        ["succeeded", first],
        ["succeeded", second],
      ])
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("the overview is pushed every second with counts, per-minute outcomes and the version", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const job = yield* submit(url, "greet", { input: { name: "x" } })
      yield* ended(url, job)
      yield* submit(url, "parked", { input: { i: 1 } })
      const { messages, contentType } = yield* TestGateway.sse(`${url}/v1/overview`, reader, "2500 millis")
      expect(contentType).toContain("text/event-stream")
      expect(messages.length).toBeGreaterThanOrEqual(2)
      const last = JSON.parse(messages[messages.length - 1]?.data ?? "{}") as {
        version: string
        redis: { up: boolean }
        actors: Array<{
          name: string
          depth: number
          oldestWaitingMs?: number
          perMinute: Array<{ succeeded: number }>
        }>
        workers: Array<{ heartbeatAt?: number }>
      }
      expect(last.version).toMatch(/^\d+\.\d+\.\d+/)
      expect(last.redis.up).toBe(true)
      const greet = last.actors.find((a) => a.name === "greet")
      expect(greet?.perMinute).toHaveLength(60)
      expect(greet?.perMinute.reduce((sum, m) => sum + m.succeeded, 0)).toBe(1)
      const parked = last.actors.find((a) => a.name === "parked")
      expect(parked?.depth).toBe(1)
      expect(parked?.oldestWaitingMs).toBeGreaterThanOrEqual(0)
      expect(last.workers[0]?.heartbeatAt).toBeGreaterThan(0)
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("a session names the key's scopes; / redirects to the dashboard, which is served", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const asReader = yield* TestGateway.request(`${url}/v1/session`, { headers: reader })
      expect(asReader.body).toEqual({ auth: "key", scopes: ["read"] })
      const asAdmin = yield* TestGateway.request(`${url}/v1/session`, { headers: admin })
      expect(asAdmin.body).toEqual({ auth: "key", scopes: ["submit", "read", "admin"] })
      TestGateway.expectError(yield* TestGateway.request(`${url}/v1/session`), 401, "unauthorized")

      const root = yield* TestGateway.request(`${url}/`, { redirect: "manual" })
      expect(root.status).toBe(302)
      expect(root.headers.get("location")).toBe("/ui/")
      const page = yield* TestGateway.request(`${url}/ui/`)
      expect(page.status).toBe(200)
      expect(page.headers.get("content-type")).toContain("text/html")
      expect(page.text).toContain('<div id="app">')
      const outside = yield* TestGateway.request(`${url}/ui/..%2f..%2fpackage.json`)
      expect(outside.status).toBe(404)
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("with Redis down the overview says so instead of failing; the other calls answer 503", () =>
    Effect.gen(function* () {
      const redis = yield* TestGateway.stoppableRedis
      yield* Effect.gen(function* () {
        const url = yield* TestGateway.baseUrl
        const up = yield* TestGateway.request(`${url}/v1/overview`)
        expect(up.body).toMatchObject({ redis: { up: true } })
        yield* redis.stop
        // The snapshot is read at most once a second: the next one says Redis is down.
        const down = yield* TestGateway.eventually(
          TestGateway.request(`${url}/v1/overview`),
          (answer) => (answer.body as { redis: { up: boolean } }).redis.up === false,
        )
        expect(down.status).toBe(200)
        const body = down.body as { redis: { up: boolean; error?: string }; actors: Array<{ name: string }> }
        expect(body.redis.up).toBe(false)
        expect(body.redis.error).toBeTruthy()
        expect(body.actors.map((a) => a.name)).toContain("greet")
        TestGateway.expectError(yield* TestGateway.request(`${url}/v1/search?q=x`), 503, "redis_unavailable")
        TestGateway.expectError(yield* TestGateway.post(`${url}/v1/dead-letters/retry`, {}), 503, "redis_unavailable")
      }).pipe(Effect.provide(TestGateway.layer({ contracts: Actors.contracts, url: redis.url })))
    }),
  )
})
