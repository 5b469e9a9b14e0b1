import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as JobStore from "../../src/JobStore.js"
import { actor, keys, lane, layer, redis, submit, typesOf } from "./support.js"

const request = (jobId: string, delayMs = 0): JobStore.SubmitRequest => ({
  jobId,
  actor,
  lane,
  input: JSON.stringify({ id: jobId }),
  maxAttempts: 3,
  delayMs,
})

describe("submit-many", () => {
  it.live("writes many jobs in one call each: in order, duplicates found, delays honoured, events appended", () =>
    Effect.gen(function* () {
      yield* submit("many-existing")
      const results = yield* JobStore.submitMany([
        request("many-1"),
        request("many-existing"),
        request("many-2", 60_000),
        request("many-1"),
        ...Array.from({ length: 450 }, (_, i) => request(`bulk-${i}`)),
      ])
      expect(results.slice(0, 4)).toEqual([
        { jobId: "many-1", duplicate: false, state: "queued" },
        { jobId: "many-existing", duplicate: true, state: "queued" },
        { jobId: "many-2", duplicate: false, state: "delayed" },
        { jobId: "many-1", duplicate: true, state: "queued" },
      ])
      expect(results).toHaveLength(454)
      expect(results.slice(4).every((r, i) => r.jobId === `bulk-${i}` && !r.duplicate)).toBe(true)
      const p = yield* keys()
      expect(yield* redis((c) => c.xlen(p.inbox(actor, lane)))).toBe(1 + 1 + 450)
      expect(yield* redis((c) => c.zcard(p.delayed(actor, lane)))).toBe(1)
      expect(yield* typesOf("many-1")).toEqual(["submitted"])
      expect((yield* JobStore.status("bulk-449")).input).toEqual({ id: "bulk-449" })
    }).pipe(Effect.provide(layer())),
  )
})
