/**
 * What a scenario is: the rows it reports (with the target each is judged against) and one
 * implementation per system doing the same work. Implementations run in that system's runner
 * process, on a server flushed just before.
 */
import type { Sizes } from "../options.js"

export type System = "eddy" | "bullmq"
export const systems: ReadonlyArray<System> = ["eddy", "bullmq"]

/** What a row is judged against; eddy's value, or eddy's value over BullMQ's. */
export type Target =
  | { readonly kind: "ratioAtLeast"; readonly value: number }
  | { readonly kind: "ratioAtMost"; readonly value: number }
  | { readonly kind: "eddyAtMost"; readonly value: number }

/** One reported measure. */
export interface Row {
  readonly key: string
  readonly label: string
  readonly unit: string
  readonly better: "higher" | "lower"
  readonly target?: Target
}

export interface Context {
  readonly url: string
  readonly sizes: Sizes
}

/** A run's values by row key, and anything else worth keeping in the JSON. */
export interface Measures {
  readonly values: Record<string, number>
  readonly details?: Record<string, unknown>
  /** What a reader of the table must know about this run (printed under it, prefixed with the system). */
  readonly notes?: ReadonlyArray<string>
}

export interface Scenario {
  readonly name: string
  readonly rows: (sizes: Sizes) => ReadonlyArray<Row>
  readonly run: Record<System, (context: Context) => Promise<Measures>>
}

/** `[from, to)` as an array. */
export const range = (from: number, to: number): Array<number> => Array.from({ length: to - from }, (_, i) => from + i)
