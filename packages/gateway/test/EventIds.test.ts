import { JobEvent } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import * as FoldEvent from "../src/internal/foldEvent.js"

describe("event ids in the gateway", () => {
  it("are compared with core's one comparison, not a copy of it", () => {
    expect(FoldEvent.compareIds).toBe(JobEvent.compareIds)
  })
})
