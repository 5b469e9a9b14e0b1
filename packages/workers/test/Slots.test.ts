/**
 * The slots' bound: what a worker has started and not yet recorded never passes its concurrency,
 * so a worker that dies re-runs at most that many jobs elsewhere. A job holds its slot until its
 * outcome is recorded, whenever its handler ended; room promised to a call on the wire is not handed out
 * twice. Pure bookkeeping: nothing here lives in Redis.
 */
import type { Deliveries } from "@eddy/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Slots from "../src/internal/Slots.js"

const delivery = (n: number, actor = "work"): Deliveries.Delivery => ({
  partition: 0,
  actor,
  lane: "normal",
  entryId: `1-${n}`,
  jobId: `job-${n}`,
})

const startAll = (slots: Slots.Slots) => Slots.startable(slots, () => true)

describe("Slots", () => {
  it.effect("an overfilled buffer starts no more than the concurrency, counting jobs whose outcome is on its way", () =>
    Effect.gen(function* () {
      const slots = yield* Slots.make(5, new Map([["work", 5]]))
      // One more than there is room for, as a read over more streams than room may bring.
      Slots.hold(
        slots,
        Array.from({ length: 6 }, (_, n) => delivery(n)),
      )
      const first = startAll(slots)
      expect(first).toHaveLength(5)
      expect(Slots.buffered(slots)).toBe(1)

      // A handler may end, but until its outcome is recorded the job keeps its slot: the sixth waits.
      expect(startAll(slots)).toEqual([])
      expect(Slots.inFlightCount(slots)).toBe(5)

      // Recorded: its slot is free, and the sixth starts in it.
      Slots.remove(slots, first[0]!)
      const second = startAll(slots)
      expect(second.map((job) => job.delivery.jobId)).toEqual(["job-5"])
      expect(Slots.inFlightCount(slots)).toBe(5)
    }),
  )

  it.effect("an actor's limit counts its jobs whose outcome is on its way too", () =>
    Effect.gen(function* () {
      const slots = yield* Slots.make(10, new Map([["work", 2]]))
      Slots.hold(slots, [delivery(0), delivery(1), delivery(2)])
      const first = startAll(slots)
      expect(first).toHaveLength(2)
      expect(startAll(slots)).toEqual([])
      Slots.remove(slots, first[0]!)
      expect(startAll(slots)).toHaveLength(1)
    }),
  )

  it.effect("room reserved for a call on the wire is not offered again until it is given back", () =>
    Effect.gen(function* () {
      const slots = yield* Slots.make(5, new Map([["work", 5]]))
      Slots.hold(slots, [delivery(0)])
      expect(Slots.roomFor(slots, "work")).toBe(4)
      Slots.reserve(slots, "work", 3)
      expect(Slots.room(slots)).toBe(1)
      expect(Slots.roomFor(slots, "work")).toBe(1)
      Slots.unreserve(slots, "work", 3)
      expect(Slots.roomFor(slots, "work")).toBe(4)
    }),
  )
})
