/**
 * What the lifecycle property asserts after a scenario ran: the records, the event log, the inbox,
 * the delayed set and the dead letters tell one consistent story, and the inline read model
 * matches the records and a rebuild from the log.
 */

import { expect } from "@effect/vitest"
import { Effect } from "effect"
import * as JobEvent from "../../src/JobEvent.js"
import * as JobStatus from "../../src/JobStatus.js"
import * as JobStore from "../../src/JobStore.js"
import * as ReadModel from "../../src/ReadModel.js"
import { actor, keys, lane, listedAt, log, modelSnapshot, pending, record, redis } from "./support.js"

/** The state a job is in right after an event; undefined for events that change no state. */
const stateAfter = (event: JobEvent.JobEvent): JobStatus.State | undefined => {
  switch (event.type) {
    case "submitted":
      return event.delayUntil === undefined ? "queued" : "delayed"
    case "started":
      return "active"
    case "failed":
      // A final failure is followed by its deadLettered in the same call.
      return event.willRetry ? "retrying" : undefined
    case "succeeded":
    case "deadLettered":
    case "cancelled":
      return event.type
    case "released":
    case "requeued":
      return "queued"
    default:
      return undefined
  }
}

/**
 * The inline read model lists every job with a record in exactly its record's state, and no job
 * without one; a rebuild from the log gives the same model, scores and rates included.
 */
export const checkReadModel = Effect.gen(function* () {
  const p = yield* keys()
  const before = yield* modelSnapshot
  const records = yield* redis((c) => c.hgetallBuffer(p.jobs))
  const where = new Map<string, string>()
  for (const [state, pairs] of Object.entries(before.lists))
    for (const [id] of pairs) {
      expect(where.has(id)).toBe(false)
      where.set(id, state)
    }
  expect(new Set(where.keys())).toEqual(new Set(Object.keys(records)))
  for (const [id, raw] of Object.entries(records)) expect(where.get(id)).toBe(JobStatus.stateOfRecord(raw))
  yield* ReadModel.rebuild
  expect(yield* modelSnapshot).toEqual(before)
})

/** What must hold after any interleaving of the workers' calls (`submitted`: the job ids submitted). */
export const checkConsistency = (submitted: ReadonlySet<string>) =>
  Effect.gen(function* () {
    const p = yield* keys()
    const entries = yield* log()
    const inboxIds = (yield* redis((c) => c.xrange(p.inbox(actor, lane), "-", "+"))).map(([id]) => id)
    const delayed = new Map<string, number>()
    const flat = yield* redis((c) => c.zrange(p.delayed(actor, lane), 0, -1, "WITHSCORES"))
    for (let i = 0; i + 1 < flat.length; i += 2) delayed.set(flat[i] as string, Number(flat[i + 1]))
    const rows = yield* pending()
    const live = new Set<string>()
    const deadIds = (yield* redis((c) => c.xrange(p.dead(actor), "-", "+"))).map(([id]) => id)
    let deadLettered = 0

    // Only submitted jobs have events.
    for (const entry of entries) expect(submitted.has(entry.fields.job ?? "")).toBe(true)

    for (const id of submitted) {
      const job = yield* record(id)
      if (job === undefined) return expect.unreachable(`${id} has no record`)
      const status = yield* JobStore.status(id)
      expect(JobStatus.State.literals).toContain(status.state)
      expect(job.n).toBeGreaterThanOrEqual(1)
      expect(job.n).toBeLessThanOrEqual(job.m)

      // The job's history is exactly its events in the partition log, in order.
      const own = entries.filter((entry) => entry.fields.job === id)
      expect(status.eventIds).toEqual(own.map((entry) => entry.id))
      for (let i = 1; i < status.eventIds.length; i++)
        expect(JobEvent.compareIds(status.eventIds[i - 1] as string, status.eventIds[i] as string)).toBeLessThan(0)
      const events = own.map((entry) => JobEvent.fromEntry(entry.id, entry.flat))
      const decoded = events.flatMap((event) => (event._tag === "Some" ? [event.value] : []))
      expect(decoded).toHaveLength(own.length)
      expect(decoded[0]?.type).toBe("submitted")

      // Exactly one terminal event for a finished job, none for another, and it is the last word.
      const terminal = decoded.filter(JobEvent.isTerminal)
      expect(terminal.length).toBe(JobStatus.isFinished(status.state) ? 1 : 0)
      if (terminal[0] !== undefined) expect(decoded.at(-1)).toBe(terminal[0])

      // The record agrees with the last event that changed the state.
      const states = decoded.flatMap((event) => {
        const state = stateAfter(event)
        return state === undefined ? [] : [state]
      })
      expect(states.at(-1)).toBe(status.state)

      // A requested cancel can only end in cancelled.
      const requested = decoded.some((event) => event.type === "cancelRequested")
      if (requested && JobStatus.isFinished(status.state)) expect(status.state).toBe("cancelled")
      if (status.cancelRequested) {
        expect(status.state).toBe("active")
        expect(requested).toBe(true)
      }

      // Each retry counts one attempt, nothing else does.
      const retries = decoded.filter((event) => event.type === "failed" && event.willRetry).length
      expect(job.n).toBe(1 + retries)

      // Where the job waits matches its state; finished jobs leave nothing behind.
      switch (status.state) {
        case "active":
        case "queued":
          // A running job's entry is held: by the consumer that started it, or by a reclaimer since.
          if (status.state === "active") expect(rows.map((row) => row.entryId)).toContain(job.x)
          expect(inboxIds).toContain(job.x)
          live.add(job.x as string)
          expect(delayed.has(id)).toBe(false)
          break
        case "delayed":
        case "retrying":
          expect(job.x).toBeUndefined()
          expect(delayed.get(id)).toBe(job.due)
          break
        default: {
          expect(job.x).toBeUndefined()
          expect(delayed.has(id)).toBe(false)
          // Listed in how it ended since it ended: the list is also its expiry index.
          expect(yield* listedAt(p.list(actor, status.state), id)).toBe(job.ft)
          if (status.state === "deadLettered") {
            expect(deadIds).toContain(job.dl)
            deadLettered += 1
          }
        }
      }
    }
    // One dead letter per dead-lettered job (nothing is requeued or purged here).
    expect(deadIds).toHaveLength(deadLettered)
    // Every inbox entry and every pending delivery belongs to a waiting or running job.
    expect(inboxIds.every((entryId) => live.has(entryId))).toBe(true)
    expect(rows.every((row) => live.has(row.entryId))).toBe(true)
  })
