import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import * as JobStatus from "../src/JobStatus.js"

const stored = (fields: Record<string, unknown>) =>
  JSON.stringify({ a: "echo", s: "active", n: 1, m: 3, i: '{"x":1}', t: 1_000_000, ...fields })

describe("JobStatus.fromRecord", () => {
  it("takes the id from the hash field and fills in what the store leaves out", () => {
    const status = Option.getOrThrow(JobStatus.fromRecord("j1", stored({ s: "succeeded", o: "2" })))
    expect(status).toMatchObject({ jobId: "j1", lane: "normal", state: "succeeded", progress: 1, output: 2 })
    const high = Option.getOrThrow(JobStatus.fromRecord("j2", stored({ l: "high", p: 0.5 })))
    expect(high).toMatchObject({ jobId: "j2", lane: "high", progress: 0.5 })
  })

  it("expands the history (ms after submission : seq) into event ids, and reads full ids as they are", () => {
    const compact = Option.getOrThrow(JobStatus.fromRecord("j1", stored({ h: "0:0,17:0,250:3" })))
    expect(compact.eventIds).toEqual(["1000000-0", "1000017-0", "1000250-3"])
    const legacy = Option.getOrThrow(JobStatus.fromRecord("j1", stored({ h: "1000000-0,1000017-1" })))
    expect(legacy.eventIds).toEqual(["1000000-0", "1000017-1"])
    // A clock that stepped back gives an id before the submission.
    const earlier = Option.getOrThrow(JobStatus.fromRecord("j1", stored({ h: "0:0,-5:0" })))
    expect(earlier.eventIds).toEqual(["1000000-0", "999995-0"])
  })

  it("reads start, finish and due times kept as offsets from the submission (absolute ones as they are)", () => {
    const status = Option.getOrThrow(JobStatus.fromRecord("j1", stored({ st: 40, ft: 90, due: 5 })))
    expect(status).toMatchObject({
      submittedAt: 1_000_000,
      startedAt: 1_000_040,
      finishedAt: 1_000_090,
      dueAt: 1_000_005,
    })
    const legacy = Option.getOrThrow(
      JobStatus.fromRecord("j1", stored({ t: 1_795_000_000_000, st: 1_795_000_000_040 })),
    )
    expect(legacy.startedAt).toBe(1_795_000_000_040)
  })

  it("is None for what the scripts never wrote", () => {
    expect(JobStatus.fromRecord("j1", "not json")).toEqual(Option.none())
    expect(JobStatus.fromRecord("j1", JSON.stringify({ s: "active" }))).toEqual(Option.none())
  })

  it("is None, not a throw, for a record whose input or output is not JSON text", () => {
    expect(JobStatus.fromRecord("j1", stored({ i: "{not json" }))).toEqual(Option.none())
    expect(JobStatus.fromRecord("j1", stored({ s: "succeeded", o: "{not json" }))).toEqual(Option.none())
  })
})

describe("JobStatus.stateOfRecord", () => {
  it("reads the state alone, and nothing from what is not a record", () => {
    expect(JobStatus.stateOfRecord(stored({ s: "queued" }))).toBe("queued")
    expect(JobStatus.stateOfRecord(stored({ s: "deadLettered" }))).toBe("deadLettered")
    expect(JobStatus.stateOfRecord(JSON.stringify({ s: "finished" }))).toBeUndefined()
    expect(JobStatus.stateOfRecord(JSON.stringify({ a: "echo" }))).toBeUndefined()
    expect(JobStatus.stateOfRecord("null")).toBeUndefined()
    expect(JobStatus.stateOfRecord("not json")).toBeUndefined()
  })
})
