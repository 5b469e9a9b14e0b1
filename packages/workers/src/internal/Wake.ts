/**
 * The reader's wake-up: anyone may `notify` (a slot freed, a claim answered, a stop); the reader
 * `wait`s for it up to a time. As a sliding queue of one with a timed take, but without the two
 * fibers `Effect.timeout` forks for every wait: the reader waits once per claim answer or freed
 * slot, thousands of times a second (docs/benchmarks.md, "the reader's wait and start without forks").
 */
import { Effect } from "effect"

export interface Wake {
  /** Wakes the waiting reader, or the next wait at once when none waits. */
  readonly notify: () => void
  /** Until notified or `ms` passed. One waiter at a time: the reader. */
  readonly wait: (ms: number) => Effect.Effect<void>
}

export const make = (): Wake => {
  let pending = false
  let waiter: (() => void) | undefined
  return {
    notify: () => {
      if (waiter === undefined) {
        pending = true
        return
      }
      const wakeUp = waiter
      waiter = undefined
      wakeUp()
    },
    wait: (ms) =>
      Effect.async<void>((resume) => {
        if (pending) {
          pending = false
          resume(Effect.void)
          return
        }
        const timer = setTimeout(() => {
          waiter = undefined
          resume(Effect.void)
        }, ms)
        waiter = () => {
          clearTimeout(timer)
          resume(Effect.void)
        }
        return Effect.sync(() => {
          clearTimeout(timer)
          waiter = undefined
        })
      }),
  }
}
