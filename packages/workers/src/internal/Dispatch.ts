/**
 * Starts what a worker holds: deliveries wait in the buffer (see `Slots`) until their actor has a
 * free slot, and are launched (see `JobRunner`) high lane first. Shared by the reader, the claims
 * and the maintenance (reclaims, resumes).
 */
import type { Deliveries } from "@eddy/core"
import { Effect } from "effect"
import * as JobRunner from "./JobRunner.js"
import * as Slots from "./Slots.js"
import type * as WorkerState from "./WorkerState.js"

/**
 * Starts what the buffer allows, high lane first (see `Slots.startable`): each job's handler is
 * launched before this returns.
 */
export const dispatch = (state: WorkerState.WorkerState): void => {
  if (state.stopping) return
  for (const job of Slots.startable(state.slots, (actor) => !state.paused.has(actor))) JobRunner.launch(state, job)
}

/** Adds deliveries to the buffer (skipping any already held) and dispatches; `claimed` gives the starts `claim` made. */
export const accept = (
  state: WorkerState.WorkerState,
  deliveries: ReadonlyArray<Deliveries.Delivery>,
  claimed?: ReadonlyMap<string, Slots.Claimed>,
): Effect.Effect<void> =>
  Effect.sync(() => {
    Slots.hold(state.slots, deliveries, claimed)
    dispatch(state)
  })
