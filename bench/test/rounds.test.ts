/**
 * `--repeat`: how the rounds of a scenario become one row (medians, the rounds' ratios), how the
 * table shows them, and the option itself. Pure functions: no Redis, no processes.
 */
import { describe, expect, it } from "vitest"
import * as Options from "../src/options.js"
import * as Report from "../src/report.js"
import type { Row } from "../src/scenarios/scenario.js"
import { medianOfRuns } from "../src/stats.js"
import * as Table from "../src/table.js"

const rate: Row = {
  key: "rate",
  label: "jobs",
  unit: "jobs/s",
  better: "higher",
  target: { kind: "ratioAtLeast", value: 1 },
}
const cpu: Row = { key: "cpu", label: "CPU per job", unit: "µs", better: "lower" }
const values = (rateValue: number, cpuValue: number) => [
  { ...rate, value: rateValue },
  { ...cpu, value: cpuValue },
]

const machine = { cpus: 2, cpuModel: "test", memoryGiB: 1, os: "test", node: "v20", redis: "7.0", bullmq: "6" }
const reportOf = (rows: ReadonlyArray<Report.ReportRow>, repeat: number): Report.Report => ({
  date: "2026-11-24T00:00:00.000Z",
  preset: "quick",
  repeat,
  machine,
  sizes: Options.quick,
  rows,
  details: {},
  notes: [],
  failures: [],
})

describe("medianOfRuns", () => {
  it("is the middle value, or the mean of the two middle ones, leaving out failed runs", () => {
    expect(medianOfRuns([3, 1, 2])).toBe(2)
    expect(medianOfRuns([4, 1, 3, 2])).toBe(2.5)
    expect(medianOfRuns([5, Number.NaN, 1])).toBe(3)
    expect(medianOfRuns([Number.POSITIVE_INFINITY, 1, 2])).toBe(2)
    expect(medianOfRuns([Number.NaN])).toBeNaN()
  })
})

describe("Report.merge", () => {
  it("reports the median of each system's rounds, their ratio, and every round's ratio", () => {
    const [row] = Report.merge(
      "process",
      [values(100, 10), values(300, 30), values(200, 20)],
      [values(100, 5), values(150, 5), values(400, 5)],
    )
    expect(row).toMatchObject({ scenario: "process", key: "rate", eddy: 200, bullmq: 150 })
    expect(row?.ratio).toBeCloseTo(200 / 150)
    expect(row?.met).toBe(true)
    expect(row?.rounds).toEqual({ eddy: [100, 300, 200], bullmq: [100, 150, 400], ratio: [1, 2, 0.5] })
  })

  it("keeps a failed round as NaN in its place and leaves it out of the median", () => {
    const rows = Report.merge("process", [values(100, 10), [], values(300, 30)], [values(100, 5), values(100, 5), []])
    expect(rows.map((row) => row.key)).toEqual(["rate", "cpu"])
    expect(rows[0]).toMatchObject({ eddy: 200, bullmq: 100 })
    expect(rows[0]?.rounds?.ratio[0]).toBe(1)
    expect(rows[0]?.rounds?.ratio[1]).toBeNaN()
    expect(rows[0]?.rounds?.ratio[2]).toBeNaN()
  })

  it("fails a target when any round had jobs fail under load (infinite), whatever the median", () => {
    const latency = (value: number) => [
      {
        key: "p99",
        label: "p99",
        unit: "ms",
        better: "lower" as const,
        target: { kind: "ratioAtMost" as const, value: 2 },
        value,
      },
    ]
    const [row] = Report.merge(
      "latency",
      [latency(1), latency(Number.POSITIVE_INFINITY), latency(1)],
      [latency(1), latency(1), latency(1)],
    )
    expect(row).toMatchObject({ eddy: 1, bullmq: 1, ratio: 1, met: false })
    const [fine] = Report.merge("latency", [latency(1), latency(3), latency(1)], [latency(1), latency(1), latency(1)])
    expect(fine?.met).toBe(true)
  })

  it("has no rounds for a single run", () => {
    const [row] = Report.merge("process", [values(100, 10)], [values(50, 5)])
    expect(row).toMatchObject({ eddy: 100, bullmq: 50, ratio: 2, met: true })
    expect(row?.rounds).toBeUndefined()
  })
})

describe("Table.results", () => {
  it("adds the range of the rounds' ratios when there are rounds", () => {
    const rows = Report.merge("process", [values(100, 10), values(300, 30)], [values(400, 5), values(200, 5)])
    const table = Table.results(reportOf(rows, 2))
    expect(table).toMatch(/\| eddy\/BullMQ \| +per round \|/)
    expect(table).toContain("0.25–1.50×")
    expect(Table.machine(reportOf(rows, 2))).toContain("rounds: 2 runs of each scenario per system")
  })

  it("keeps the single-run table as it was", () => {
    const table = Table.results(reportOf(Report.merge("process", [values(100, 10)], [values(50, 5)]), 1))
    expect(table).not.toContain("per round")
    expect(Table.machine(reportOf([], 1))).not.toContain("rounds:")
  })
})

describe("--repeat", () => {
  it("takes the runs per scenario and system, 1 by default", () => {
    expect(Options.parse([]).repeat).toBe(1)
    expect(Options.parse(["--repeat", "3", "--only", "process"]).repeat).toBe(3)
  })

  it("refuses what is not a whole number from 1 to 20, and profiling more than once", () => {
    for (const bad of [["--repeat"], ["--repeat", "0"], ["--repeat", "1.5"], ["--repeat", "21"], ["--repeat", "x"]])
      expect(() => Options.parse(bad)).toThrow(/--repeat takes the runs per scenario and system/)
    expect(() => Options.parse(["--repeat", "2", "--profile"])).toThrow(/--profile runs once/)
  })
})
