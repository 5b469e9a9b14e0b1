/**
 * An actor's job lists and pause/resume over real HTTP, against the inline read model in a real
 * Redis: newest first with cursor paging, clear 400s for a bad query, admin-only pause, and a
 * paused actor's jobs left queued until it is resumed.
 */
import { Deliveries, StreamKeys } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Actors from "./support/Actors.js"
import * as TestGateway from "./support/TestGateway.js"

const admin = { authorization: "Bearer admin-key" }
const reader = { authorization: "Bearer read-key" }

const gateway = () =>
  TestGateway.layer({
    contracts: Actors.contracts,
    apiKeys: "admin-key:admin,read-key:read,submit-key:submit",
  })

interface Page {
  jobs: Array<{ jobId: string; actor: string; state: string; attempt: number; submittedAt: number }>
  nextCursor?: string
}

const submitParked = (url: string, ns: ReadonlyArray<number>) =>
  Effect.forEach(ns, (i) =>
    TestGateway.post(`${url}/v1/actors/parked/jobs`, { input: { i } }, admin).pipe(
      Effect.tap(() => Effect.sleep("2 millis")),
      Effect.map((answer) => (answer.body as { jobId: string }).jobId),
    ),
  )

describe("actor job lists", () => {
  it.scopedLive("GET /v1/actors/{actor}/jobs lists a state newest first, a page at a time", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const ids = yield* submitParked(url, [1, 2, 3, 4, 5])
      const pages: Array<Page> = []
      let query = "state=queued&limit=2"
      for (;;) {
        const answer = yield* TestGateway.request(`${url}/v1/actors/parked/jobs?${query}`, { headers: reader })
        expect(answer.status).toBe(200)
        const page = answer.body as Page
        pages.push(page)
        if (page.nextCursor === undefined) break
        query = `state=queued&limit=2&cursor=${page.nextCursor}`
      }
      expect(pages.map((page) => page.jobs.length)).toEqual([2, 2, 1])
      expect(pages.flatMap((page) => page.jobs.map((job) => job.jobId))).toEqual([...ids].reverse())
      expect(pages[0]?.jobs[0]).toMatchObject({ jobId: ids[4], actor: "parked", state: "queued", attempt: 1 })
      // The default page holds them all; another state has none.
      const all = (yield* TestGateway.request(`${url}/v1/actors/parked/jobs?state=queued`, { headers: reader }))
        .body as Page
      expect(all).toEqual({ jobs: pages.flatMap((page) => page.jobs) })
      expect(
        (yield* TestGateway.request(`${url}/v1/actors/parked/jobs?state=succeeded`, { headers: reader })).body,
      ).toEqual({ jobs: [] })
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("a bad state, limit or cursor answers 400 with what is wrong; no key answers 401", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const get = (query: string) => TestGateway.request(`${url}/v1/actors/parked/jobs?${query}`, { headers: reader })
      const state = TestGateway.expectError(yield* get("state=running"), 400, "invalid_query")
      expect(state.message).toContain("state must be one of queued, delayed, active")
      for (const limit of ["0", "501", "ten", "-1"]) {
        const error = TestGateway.expectError(yield* get(`state=queued&limit=${limit}`), 400, "invalid_query")
        expect(error.message).toContain("limit must be an integer from 1 to 500")
      }
      const cursor = TestGateway.expectError(yield* get("state=queued&cursor=bogus!"), 400, "invalid_query")
      expect(cursor.message).toBe("cursor is not one this API returned")
      TestGateway.expectError(yield* get(""), 400)
      TestGateway.expectError(yield* TestGateway.request(`${url}/v1/actors/parked/jobs?state=queued`), 401)
    }).pipe(Effect.provide(gateway())),
  )
})

describe("pause and resume", () => {
  it.scopedLive("POST pause/resume (admin only): a paused actor's jobs stay queued, and are claimed after resume", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const forbidden = yield* TestGateway.post(`${url}/v1/actors/parked/pause`, "", reader)
      TestGateway.expectError(forbidden, 403)
      const paused = yield* TestGateway.post(`${url}/v1/actors/parked/pause`, "", admin)
      expect(paused.status).toBe(200)
      expect(paused.body).toEqual({ actor: "parked", paused: true })

      const [jobId] = yield* submitParked(url, [7])
      const actors = (yield* TestGateway.request(`${url}/v1/actors`, { headers: reader })).body as Array<{
        name: string
        paused: boolean
      }>
      expect(actors.find((actor) => actor.name === "parked")?.paused).toBe(true)
      expect(actors.find((actor) => actor.name === "greet")?.paused).toBe(false)

      for (const lane of StreamKeys.lanes) yield* Deliveries.ensureGroup(0, "parked", lane)
      expect(yield* Deliveries.claim(0, "parked", "w1", 10)).toEqual([])
      const queued = yield* TestGateway.request(`${url}/v1/jobs/${jobId}`, { headers: reader })
      expect(queued.body).toMatchObject({ state: "queued" })

      const resumed = yield* TestGateway.post(`${url}/v1/actors/parked/resume`, "", admin)
      expect(resumed.body).toEqual({ actor: "parked", paused: false })
      const claimed = yield* Deliveries.claim(0, "parked", "w1", 10)
      expect(claimed.map((c) => c.delivery.jobId)).toEqual([jobId])
      const listed = (yield* TestGateway.request(`${url}/v1/actors/parked/jobs?state=active`, { headers: reader }))
        .body as Page
      expect(listed.jobs.map((job) => job.jobId)).toEqual([jobId])
    }).pipe(Effect.provide(gateway())),
  )
})
