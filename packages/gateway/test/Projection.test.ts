/**
 * The projection's pure parts: how the projector reads log entries (it must agree with
 * `JobEvent.fromEntry` on everything the fold uses) and how views are stored.
 */
import { JobEvent } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import fc from "fast-check"
import { decodeEntry } from "../src/internal/foldEvent.js"
import * as Projection from "../src/Projection.js"

const at = 1_795_000_000_000
/** An entry as writers send it: every field, an empty string for an absent one. */
const entry = (type: string, fields: Record<string, string> = {}): ReadonlyArray<string> =>
  Object.entries({
    v: "1",
    type,
    job: "j1",
    actor: "task",
    n: "2",
    at: String(at),
    w: "",
    c: "",
    k: "",
    d: "",
    ...fields,
  }).flat()
/** The same without its empty fields, as older writers sent it. */
const sparse = (flat: ReadonlyArray<string>) => flat.filter((value, i) => value !== "" && flat[i + 1] !== "")

const error = { tag: "Bad", message: "no", data: { field: "x" } }
/** One entry of every type, as the lifecycle scripts write them (and some with the optional fields). */
const entries: ReadonlyArray<ReadonlyArray<string>> = [
  entry("submitted", { d: '{"input":{"n":1},"lane":"normal","maxAttempts":3}', c: "corr" }),
  entry("submitted", { d: '{"input":{"delayUntil":"no"},"lane":"low","maxAttempts":3,"delayUntil":1795000000500}' }),
  entry("started", { w: "w1" }),
  entry("progress", { w: "w1", d: '{"fraction":0.5,"note":"half"}' }),
  entry("succeeded", { w: "w1", d: '{"output":{"n":2}}' }),
  entry("failed", { w: "w1", d: JSON.stringify({ error, willRetry: true, retryAt: at + 10 }) }),
  entry("stalled", { w: "w1", d: '{"deliveries":2}' }),
  entry("deadLettered", { w: "w1", d: JSON.stringify({ reason: "nonRetryable", error }) }),
  entry("deadLettered", { d: '{"reason":"stalled"}' }),
  entry("cancelRequested"),
  entry("cancelled", { w: "w1" }),
  entry("released", { w: "w1" }),
  entry("requeued", { d: '{"from":"retry"}' }),
  entry("purged"),
]

/** What the fold reads of a decoded event. */
const folded = (event: JobEvent.JobEvent) => {
  const {
    input: _input,
    output: _output,
    note: _note,
    lane: _lane,
    maxAttempts: _maxAttempts,
    retryAt: _retryAt,
    deliveries: _deliveries,
    from: _from,
    correlationId: _correlationId,
    causationId: _causationId,
    ...read
  } = event as Record<string, unknown>
  return read
}

describe("the projector's entry decoder", () => {
  it("reads every type as JobEvent.fromEntry does, for every field the fold uses", () => {
    for (const [i, wire] of entries.entries())
      for (const fields of [wire, sparse(wire)]) {
        const full = JobEvent.fromEntry(`${at}-${i}`, fields)
        expect(Option.isSome(full)).toBe(true)
        expect(decodeEntry(`${at}-${i}`, fields)).toEqual(folded(Option.getOrThrow(full)))
      }
  })

  it("skips what fromEntry skips: unknown types, data that does not decode", () => {
    const bad = [
      entry("renamed"),
      entry("progress", { d: "{not json" }),
      entry("progress", { d: '{"fraction":"half"}' }),
      entry("failed", { d: '{"error":{"tag":1},"willRetry":false}' }),
      entry("deadLettered", { d: '{"reason":"tired"}' }),
      entry("submitted", { d: '{"delayUntil":"later"}' }),
    ]
    for (const fields of bad) {
      expect(Option.isNone(JobEvent.fromEntry("1-0", fields))).toBe(true)
      expect(decodeEntry("1-0", fields)).toBeUndefined()
    }
  })

  it("takes an empty worker or data field as absent", () => {
    expect(sparse(entry("started"))).not.toContain("w")
    expect(decodeEntry("1-0", entry("started"))).toEqual(decodeEntry("1-0", sparse(entry("started"))))
    expect(decodeEntry("1-0", entry("started"))).not.toHaveProperty("worker")
  })
})

const view = fc.record(
  {
    jobId: fc.string({ minLength: 1 }),
    actor: fc.string(),
    state: fc.constantFrom(...Projection.JobView.fields.state.literals),
    attempt: fc.nat(),
    progress: fc.integer({ min: 0, max: 100 }).map((n) => n / 100),
    cancelRequested: fc.boolean(),
    worker: fc.string(),
    submittedAt: fc.integer({ min: 0, max: 2 ** 42 }),
    startedAt: fc.integer({ min: 0, max: 2 ** 42 }),
    finishedAt: fc.integer({ min: 0, max: 2 ** 42 }),
    queueMs: fc.nat(),
    runMs: fc.nat(),
    error: fc.record(
      { tag: fc.string(), message: fc.string(), data: fc.json().map((text) => JSON.parse(text) as unknown) },
      { requiredKeys: ["tag", "message"] },
    ),
    deadLetterReason: fc.constantFrom(...JobEvent.DeadLetterReason.literals),
    lastEventId: fc.tuple(fc.nat(), fc.nat()).map(([ms, seq]) => `${ms}-${seq}`),
  },
  {
    requiredKeys: ["jobId", "actor", "state", "attempt", "progress", "cancelRequested", "submittedAt", "lastEventId"],
  },
)

describe("stored views", () => {
  it("decode to the view that was encoded", () => {
    fc.assert(
      fc.property(view, (v) => {
        expect(Projection.decodeView(v.jobId, Projection.encodeView(v))).toEqual(v)
      }),
    )
  })

  it("store last event id, actor and state first, which the Lua scripts read", () => {
    const v: Projection.JobView = {
      jobId: "j1",
      actor: "task",
      state: "active",
      attempt: 1,
      progress: 0,
      cancelRequested: false,
      submittedAt: at,
      lastEventId: `${at}-3`,
    }
    const stored = JSON.parse(Projection.encodeView(v)) as unknown
    expect(stored).toEqual([`${at}-3`, "task", "active", 1, 0, 0, at])
  })

  it("take well under half the space of the view's JSON", () => {
    const finished: Projection.JobView = {
      jobId: "01M857SKGD720T4237VXRR62RB",
      actor: "task",
      state: "succeeded",
      attempt: 1,
      progress: 1,
      cancelRequested: false,
      worker: "host-1234-0a1b2c3d",
      submittedAt: at,
      startedAt: at + 12,
      finishedAt: at + 15,
      queueMs: 12,
      runMs: 3,
      lastEventId: `${at + 15}-4`,
    }
    expect(Projection.encodeView(finished).length).toBeLessThan(JSON.stringify(finished).length * 0.45)
  })

  it("that are not views read as absent", () => {
    for (const text of ["{", '{"jobId":"j1"}', "[]", '["1-0","task","lost",1,0,0,5]', '["1-0","task","active",1]'])
      expect(Projection.decodeView("j1", text)).toBeUndefined()
  })
})
