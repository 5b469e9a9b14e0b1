import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import * as JobId from "../src/JobId.js"

describe("JobId.generate", () => {
  it("makes valid, distinct ids, across many refills of its random pool", () => {
    // 20,000 ids draw 320,000 random bytes: about 78 refills of the 4 KiB pool.
    const ids = Array.from({ length: 20_000 }, () => JobId.generate(1_763_944_000_000))
    expect(new Set(ids).size).toBe(ids.length)
    for (const id of ids.slice(0, 300)) {
      expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/)
      expect(Schema.is(JobId.JobId)(id)).toBe(true)
    }
  })

  it("sorts by time: the first ten characters encode the millisecond", () => {
    const earlier = JobId.generate(1_763_944_000_000)
    const later = JobId.generate(1_763_944_000_001)
    expect(earlier.slice(0, 10) < later.slice(0, 10)).toBe(true)
    expect(JobId.generate(0).slice(0, 10)).toBe("0000000000")
  })

  it("spreads its random characters over the whole alphabet", () => {
    const counts = new Map<string, number>()
    for (let i = 0; i < 2_000; i++)
      for (const char of JobId.generate().slice(10)) counts.set(char, (counts.get(char) ?? 0) + 1)
    // 32,000 characters over 32 symbols: 1,000 expected each; a stuck or biased pool would not pass.
    expect(counts.size).toBe(32)
    for (const count of counts.values()) expect(count).toBeGreaterThan(800)
  })
})
