/**
 * Dead letters over real HTTP: a poison input (the handler fails with `NonRetryable`) is listed
 * with paging, retried (and then runs with the healed handler), and purged.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Actors from "./support/Actors.js"
import * as TestGateway from "./support/TestGateway.js"

const admin = { authorization: "Bearer admin-key" }
const reader = { authorization: "Bearer read-key" }

const gateway = () =>
  TestGateway.layer({
    contracts: Actors.contracts,
    handlers: Actors.handlers,
    apiKeys: "admin-key:admin,read-key:read,submit-key:submit",
  })

interface DeadLetter {
  jobId: string
  actor: string
  reason: string
  attempt: number
  at: number
  error?: { tag: string; message: string }
  cursor: string
}
interface Page {
  items: Array<DeadLetter>
  nextCursor?: string
}

/** Submits poison inputs and waits until each is dead-lettered. */
const poisoned = (url: string, ns: ReadonlyArray<number>) =>
  Effect.forEach(ns, (n) =>
    Effect.gen(function* () {
      const submitted = yield* TestGateway.post(`${url}/v1/actors/poison/jobs`, { input: { n } }, admin)
      const { jobId } = submitted.body as { jobId: string }
      const status = yield* TestGateway.request(`${url}/v1/jobs/${jobId}?waitMs=10000`, { headers: reader })
      expect(status.body).toMatchObject({ state: "deadLettered", deadLetterReason: "nonRetryable", attempt: 1 })
      return jobId
    }),
  )

const page = (url: string, query: string) =>
  TestGateway.request(`${url}/v1/dead-letters?${query}`, { headers: reader }).pipe(
    Effect.tap((answer) => expect(answer.status).toBe(200)),
    Effect.map((answer) => answer.body as Page),
  )

describe("dead letters", () => {
  it.scopedLive("poison inputs are listed newest first, paged with limit and cursor", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const ids = yield* poisoned(url, [101, 102, 103])

      const first = yield* page(url, "actor=poison&limit=2")
      expect(first.items).toHaveLength(2)
      expect(first.nextCursor).toBe(first.items[1]?.cursor)
      const second = yield* page(url, `actor=poison&limit=2&cursor=${first.nextCursor}`)
      expect(second.items).toHaveLength(1)
      expect(second.nextCursor).toBeUndefined()

      const all = [...first.items, ...second.items]
      // Newest first: the order the dead letters were written in, reversed.
      expect(all.map((item) => item.jobId)).toEqual([...ids].reverse())
      expect(new Set(all.map((item) => item.cursor)).size).toBe(3)
      for (const item of all)
        expect(item).toMatchObject({
          actor: "poison",
          reason: "nonRetryable",
          attempt: 1,
          error: { tag: "NonRetryable", message: expect.stringMatching(/^poison input 10[123]$/) },
        })
      // Without an actor: every actor's dead letters.
      const everything = yield* page(url, "limit=10")
      expect(everything.items.map((item) => item.jobId)).toEqual([...ids].reverse())
      // Other actors have none.
      expect((yield* page(url, "actor=greet")).items).toEqual([])
      // A bad limit or cursor is a 400; an unknown actor a 404.
      const badLimit = yield* TestGateway.request(`${url}/v1/dead-letters?limit=0`, { headers: reader })
      TestGateway.expectError(badLimit, 400, "invalid_request")
      const badCursor = yield* TestGateway.request(`${url}/v1/dead-letters?cursor=yesterday`, { headers: reader })
      TestGateway.expectError(badCursor, 400, "invalid_request")
      const unknown = yield* TestGateway.request(`${url}/v1/dead-letters?actor=nobody`, { headers: reader })
      TestGateway.expectError(unknown, 404, "unknown_actor")
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("a retried dead letter runs again and leaves the list", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const [jobId = ""] = yield* poisoned(url, [201])
      // Retrying needs the admin scope.
      const forbidden = yield* TestGateway.request(`${url}/v1/dead-letters/${jobId}/retry`, {
        method: "POST",
        headers: { authorization: "Bearer submit-key" },
      })
      TestGateway.expectError(forbidden, 403, "forbidden")

      Actors.healed.add(201)
      const retried = yield* TestGateway.request(`${url}/v1/dead-letters/${jobId}/retry`, {
        method: "POST",
        headers: admin,
      })
      expect(retried.status).toBe(202)
      expect(retried.body).toEqual({ jobId, status: "queued" })
      const status = yield* TestGateway.request(`${url}/v1/jobs/${jobId}?waitMs=10000`, { headers: reader })
      expect(status.body).toMatchObject({ state: "succeeded", output: { n: 201 } })
      const history = yield* TestGateway.request(`${url}/v1/jobs/${jobId}/events`, { headers: reader })
      expect((history.body as Array<{ type: string }>).map((event) => event.type)).toEqual([
        "submitted",
        "started",
        "failed",
        "deadLettered",
        "requeued",
        "started",
        "succeeded",
      ])
      expect((yield* page(url, "actor=poison")).items).toEqual([])
      // Only a dead-lettered job can be retried.
      const again = yield* TestGateway.request(`${url}/v1/dead-letters/${jobId}/retry`, {
        method: "POST",
        headers: admin,
      })
      TestGateway.expectError(again, 409)
      const unknown = yield* TestGateway.request(`${url}/v1/dead-letters/no-such-job/retry`, {
        method: "POST",
        headers: admin,
      })
      TestGateway.expectError(unknown, 404, "job_not_found")
    }).pipe(Effect.provide(gateway())),
  )

  it.scopedLive("a purged dead letter is gone: its job answers 404", () =>
    Effect.gen(function* () {
      const url = yield* TestGateway.baseUrl
      const [purged = "", kept = ""] = yield* poisoned(url, [301, 302])
      const answer = yield* TestGateway.request(`${url}/v1/dead-letters/${purged}`, {
        method: "DELETE",
        headers: admin,
      })
      expect(answer.status).toBe(200)
      expect(answer.body).toEqual({ jobId: purged, purged: true })
      const status = yield* TestGateway.request(`${url}/v1/jobs/${purged}`, { headers: reader })
      TestGateway.expectError(status, 404, "job_not_found")
      const events = yield* TestGateway.request(`${url}/v1/jobs/${purged}/events`, { headers: reader })
      TestGateway.expectError(events, 404, "job_not_found")
      expect((yield* page(url, "actor=poison")).items.map((item) => item.jobId)).toEqual([kept])
      // Twice: nothing left to purge.
      const again = yield* TestGateway.request(`${url}/v1/dead-letters/${purged}`, { method: "DELETE", headers: admin })
      TestGateway.expectError(again, 404, "job_not_found")
      // A job that is not dead-lettered cannot be purged.
      const done = yield* TestGateway.post(`${url}/v1/actors/greet/jobs`, { input: { name: "x" } }, admin)
      const { jobId } = done.body as { jobId: string }
      yield* TestGateway.request(`${url}/v1/jobs/${jobId}?waitMs=10000`, { headers: reader })
      const wrong = yield* TestGateway.request(`${url}/v1/dead-letters/${jobId}`, { method: "DELETE", headers: admin })
      TestGateway.expectError(wrong, 409)
      // Purging needs the admin scope.
      const forbidden = yield* TestGateway.request(`${url}/v1/dead-letters/${kept}`, {
        method: "DELETE",
        headers: reader,
      })
      TestGateway.expectError(forbidden, 403, "forbidden")
    }).pipe(Effect.provide(gateway())),
  )
})
