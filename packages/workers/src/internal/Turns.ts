/**
 * One batch of claimed jobs per turn of Node's event loop. Two claims' answers often arrive in one
 * socket read; run together, their jobs' completions would leave in one write and come back
 * together, and the worker and Redis would take turns on one batch instead of working on two at
 * once. Here the first batch runs at once and each further one waits for a turn of its own
 * (`setImmediate`: Effect's scheduler runs woken fibers in microtasks, so the first batch's
 * completion is written only once the current turn's work is done). Figures: docs/benchmarks.md,
 * "Batches in turns".
 */
export interface Turns {
  /** Whether a batch already ran in the current turn of the event loop. */
  taken: boolean
  readonly waiting: Array<() => void>
}

export const make = (): Turns => ({ taken: false, waiting: [] })

/** Runs `batch` now if no batch ran in this turn yet, otherwise in a later turn of its own. */
export const run = (turns: Turns, batch: () => void): void => {
  if (turns.taken) {
    turns.waiting.push(batch)
    return
  }
  turns.taken = true
  batch()
  setImmediate(() => next(turns))
}

const next = (turns: Turns): void => {
  const batch = turns.waiting.shift()
  if (batch === undefined) {
    turns.taken = false
    return
  }
  batch()
  setImmediate(() => next(turns))
}
