import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as Deliveries from "../../src/Deliveries.js"
import * as JobStore from "../../src/JobStore.js"
import { failure, inbox, layer, take } from "./support.js"

describe("a new attempt starts clean", () => {
  it.live("a retry and a release reset progress, worker and start time", () =>
    Effect.gen(function* () {
      const first = yield* take("reset-1", "c1")
      yield* Deliveries.progress(first, "c1", 0.7)
      yield* Deliveries.fail(first, "c1", failure("flaky"))
      const retried = yield* JobStore.status("reset-1")
      expect(retried).toMatchObject({ state: "retrying", attempt: 2, progress: 0 })
      expect(retried.worker).toBeUndefined()
      expect(retried.startedAt).toBeUndefined()

      const second = yield* take("reset-2", "c1")
      yield* Deliveries.progress(second, "c1", 0.4)
      yield* Deliveries.release(second, "c1")
      const released = yield* JobStore.status("reset-2")
      expect(released).toMatchObject({ state: "queued", attempt: 1, progress: 0 })
      expect(released.worker).toBeUndefined()
    }).pipe(Effect.provide(layer())),
  )

  it.live("reclaiming with no room takes nothing", () =>
    Effect.gen(function* () {
      yield* take("room-1", "c1")
      const reclaimed = yield* Deliveries.reclaim(inbox, "c2", { minIdle: Duration.zero, count: 0, maxDeliveries: 3 })
      expect(reclaimed.deliveries).toEqual([])
    }).pipe(Effect.provide(layer())),
  )
})
