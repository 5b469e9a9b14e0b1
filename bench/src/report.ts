/**
 * The report: both systems' values side by side per row, eddy/BullMQ, and whether eddy meets the
 * row's target. The targets are the project's goals, reported here and never asserted in tests.
 */
import type { Machine } from "./machine.js"
import type { Sizes } from "./options.js"
import type { Row, Target } from "./scenarios/scenario.js"

/** One row of the report. `ratio` is eddy / BullMQ; `met` is unset for rows without a target. */
export interface ReportRow extends Row {
  readonly scenario: string
  readonly eddy: number
  readonly bullmq: number
  readonly ratio: number
  readonly met?: boolean
}

export interface Report {
  readonly date: string
  readonly preset: string
  readonly machine: Machine
  readonly sizes: Sizes
  readonly rows: ReadonlyArray<ReportRow>
  /** Per scenario and system: what the run kept besides its values (samples, names, windows). */
  readonly details: Record<string, Record<string, unknown>>
  /** What a reader must know about a run, e.g. jobs that failed under load. */
  readonly notes: ReadonlyArray<string>
  /** Scenario runs that failed, with their error. */
  readonly failures: ReadonlyArray<{ readonly scenario: string; readonly system: string; readonly error: string }>
}

/** Whether eddy's value meets the target. */
export const meets = (target: Target, eddy: number, ratio: number): boolean => {
  switch (target.kind) {
    case "ratioAtLeast":
      return ratio >= target.value
    case "ratioAtMost":
      return ratio <= target.value
    case "eddyAtMost":
      return eddy <= target.value
  }
}

/** The target in words, e.g. "≥ 5× BullMQ", "≤ 2 conns". */
export const describeTarget = (target: Target, unit: string): string => {
  switch (target.kind) {
    case "ratioAtLeast":
      return `≥ ${target.value}× BullMQ`
    case "ratioAtMost":
      return target.value === 1 ? "≤ BullMQ" : `≤ ${target.value}× BullMQ`
    case "eddyAtMost":
      return `≤ ${target.value} ${unit}`
  }
}

/** Puts one scenario's rows of both systems together (a failed run leaves its values NaN). */
export const merge = (
  scenario: string,
  eddy: ReadonlyArray<Row & { readonly value: number }>,
  bullmq: ReadonlyArray<Row & { readonly value: number }>,
): Array<ReportRow> => {
  const template = eddy.length > 0 ? eddy : bullmq
  return template.map((row) => {
    const { value: _value, ...meta } = row
    const e = eddy.find((r) => r.key === row.key)?.value ?? Number.NaN
    const b = bullmq.find((r) => r.key === row.key)?.value ?? Number.NaN
    const ratio = e / b
    // An infinite value (jobs that failed under load) is judged, and fails its target; a missing one is not.
    const judged = row.target !== undefined && !Number.isNaN(e) ? { met: meets(row.target, e, ratio) } : {}
    return { ...meta, scenario, eddy: e, bullmq: b, ratio, ...judged }
  })
}
