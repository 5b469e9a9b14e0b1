import { describe, expect, it } from "@effect/vitest"
import * as JobEvent from "../src/JobEvent.js"

describe("JobEvent.compareIds", () => {
  it("orders stream ids by time, then sequence, as numbers", () => {
    expect(JobEvent.compareIds("9-0", "10-0")).toBeLessThan(0)
    expect(JobEvent.compareIds("5-9", "5-10")).toBeLessThan(0)
    expect(JobEvent.compareIds("5-10", "5-9")).toBeGreaterThan(0)
    expect(JobEvent.compareIds("1700000000000-3", "1700000000000-3")).toBe(0)
    // A bare time is its first sequence.
    expect(JobEvent.compareIds("7", "7-0")).toBe(0)
    expect(JobEvent.compareIds("7", "7-1")).toBeLessThan(0)
    const ids = ["12-1", "3-0", "12-0", "100-0", "3-11", "3-2"]
    expect([...ids].sort(JobEvent.compareIds)).toEqual(["3-0", "3-2", "3-11", "12-0", "12-1", "100-0"])
  })
})
