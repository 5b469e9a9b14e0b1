import { describe, expect, it } from "@effect/vitest"
import * as StreamKeys from "../src/StreamKeys.js"

describe("StreamKeys.stableHash", () => {
  it("is 32-bit FNV-1a of the UTF-8 bytes (published test vectors)", () => {
    expect(StreamKeys.stableHash("")).toBe(0x811c9dc5)
    expect(StreamKeys.stableHash("a")).toBe(0xe40c292c)
    expect(StreamKeys.stableHash("foobar")).toBe(0xbf9cf968)
  })

  it("hashes non-ASCII text by its UTF-8 bytes, as other languages' clients would", () => {
    const byBytes = (value: string) => {
      let hash = 0x811c9dc5
      for (const byte of Buffer.from(value, "utf8")) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0
      return hash
    }
    for (const value of ["é", "order-é-42", "注文", "emoji-🎉", "mixed ascii then ü"])
      expect(StreamKeys.stableHash(value)).toBe(byBytes(value))
  })
})

describe("StreamKeys.make", () => {
  it("places every job in the one partition when there is one, and spreads them over several", () => {
    const single = StreamKeys.make("p", 1)
    expect(single.partitionOf("any-id").index).toBe(0)
    expect(single.partitionOf("any-id", "key").index).toBe(0)
    const eight = StreamKeys.make("p", 8)
    const used = new Set(Array.from({ length: 200 }, (_, i) => eight.partitionOf(`job-${i}`).index))
    expect(used.size).toBe(8)
    // A partition key decides, not the job id.
    expect(eight.partitionOf("a", "customer-7").index).toBe(eight.partitionOf("b", "customer-7").index)
  })
})
