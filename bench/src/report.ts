/**
 * The report: both systems' values side by side per row, eddy/BullMQ, and whether eddy meets the
 * row's target. The targets are the project's goals, reported here and never asserted in tests.
 */
import type { Machine } from "./machine.js"
import type { Sizes } from "./options.js"
import type { Row, Target } from "./scenarios/scenario.js"
import { medianOfRuns } from "./stats.js"

/** With `--repeat`: each round's values, in the order they ran, and each round's eddy/BullMQ. */
export interface Rounds {
  readonly eddy: ReadonlyArray<number>
  readonly bullmq: ReadonlyArray<number>
  readonly ratio: ReadonlyArray<number>
}

/**
 * One row of the report. `ratio` is eddy / BullMQ; `met` is unset for rows without a target.
 * With more than one round, `eddy` and `bullmq` are the medians of the rounds, `ratio` is theirs,
 * and `rounds` keeps every round.
 */
export interface ReportRow extends Row {
  readonly scenario: string
  readonly eddy: number
  readonly bullmq: number
  readonly ratio: number
  readonly met?: boolean
  readonly rounds?: Rounds
}

export interface Report {
  readonly date: string
  readonly preset: string
  /** Runs of each scenario per system (`--repeat`). */
  readonly repeat: number
  readonly machine: Machine
  readonly sizes: Sizes
  readonly rows: ReadonlyArray<ReportRow>
  /** Per scenario and system, one per round: what a run kept besides its values (samples, names, windows). */
  readonly details: Record<string, Record<string, ReadonlyArray<Record<string, unknown>>>>
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

type Values = ReadonlyArray<Row & { readonly value: number }>

/**
 * Puts one scenario's rows of both systems together: per system, the rows of each round (a failed
 * run has none, and leaves its values NaN). Round `i` of the two systems ran back to back.
 */
export const merge = (
  scenario: string,
  eddy: ReadonlyArray<Values>,
  bullmq: ReadonlyArray<Values>,
): Array<ReportRow> => {
  const template = [...eddy, ...bullmq].find((rows) => rows.length > 0) ?? []
  const valuesOf = (rounds: ReadonlyArray<Values>, key: string) =>
    rounds.map((rows) => rows.find((r) => r.key === key)?.value ?? Number.NaN)
  return template.map((row) => {
    const { value: _value, ...meta } = row
    const eddyRuns = valuesOf(eddy, row.key)
    const bullmqRuns = valuesOf(bullmq, row.key)
    const e = medianOfRuns(eddyRuns)
    const b = medianOfRuns(bullmqRuns)
    const ratio = e / b
    // An infinite value (jobs that failed under load) is judged, and fails its target in any round,
    // whatever the median says; a missing one (a failed run) is not judged.
    const failedUnderLoad = eddyRuns.some((value) => value === Number.POSITIVE_INFINITY)
    const judged =
      row.target !== undefined && !Number.isNaN(e) ? { met: !failedUnderLoad && meets(row.target, e, ratio) } : {}
    const rounds =
      eddyRuns.length > 1 || bullmqRuns.length > 1
        ? {
            rounds: {
              eddy: eddyRuns,
              bullmq: bullmqRuns,
              ratio: eddyRuns.map((value, i) => value / (bullmqRuns[i] ?? Number.NaN)),
            },
          }
        : {}
    return { ...meta, scenario, eddy: e, bullmq: b, ratio, ...judged, ...rounds }
  })
}
