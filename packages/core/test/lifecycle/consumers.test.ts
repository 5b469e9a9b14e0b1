import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as Deliveries from "../../src/Deliveries.js"
import { workerGroup } from "../../src/StreamKeys.js"
import { inbox, inboxKey, layer, redis, submit, take } from "./support.js"

const consumers = Effect.flatMap(inboxKey(), (key) =>
  redis((c) => c.xinfo("CONSUMERS", key, workerGroup) as Promise<Array<Array<string | number>>>),
).pipe(Effect.map((list) => list.map((fields) => String(fields[1])).sort()))

describe("prune-consumers", () => {
  it.live("removes idle consumers that hold nothing, never one with pending entries", () =>
    Effect.gen(function* () {
      yield* take("held-1", "busy") // "busy" holds a running job
      yield* submit("other-1")
      const key = yield* inboxKey()
      yield* redis((c) => c.xgroup("CREATECONSUMER", key, workerGroup, "idle")) // joins, holds nothing
      yield* Effect.sleep("30 millis")
      expect(yield* consumers).toEqual(["busy", "idle"])
      expect(yield* Deliveries.pruneConsumers(inbox, { minIdle: Duration.hours(1) })).toBe(0)
      expect(yield* Deliveries.pruneConsumers(inbox, { minIdle: Duration.millis(10) })).toBe(1)
      expect(yield* consumers).toEqual(["busy"])
      expect(yield* Deliveries.pruneConsumers(inbox, { minIdle: Duration.zero, only: "busy" })).toBe(0)
    }).pipe(Effect.provide(layer())),
  )
})
