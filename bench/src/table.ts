/** The report as a Markdown table (readable in a terminal, pasted as is into docs/benchmarks.md). */
import type { Report } from "./report.js"
import { describeTarget } from "./report.js"

const number = (value: number): string => {
  if (Number.isNaN(value)) return "—"
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "-∞"
  const magnitude = Math.abs(value)
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2
  return value.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

const ratio = (value: number): string =>
  Number.isNaN(value) ? "—" : Number.isFinite(value) ? `${value.toFixed(2)}×` : `${number(value)}×`

/** Aligns cells into a Markdown table; the listed columns are right-aligned. */
const markdown = (
  header: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  right: ReadonlySet<number>,
) => {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    `| ${cells.map((cell, i) => (right.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join(" | ")} |`
  const rule = `|${widths.map((width, i) => (right.has(i) ? `${"-".repeat(width + 1)}:` : "-".repeat(width + 2))).join("|")}|`
  return [line(header), rule, ...rows.map(line)].join("\n")
}

/** The lowest and highest ratio of a row's rounds, e.g. "0.31–0.39×". */
const ratioRange = (ratios: ReadonlyArray<number>): string => {
  const known = ratios.filter((value) => !Number.isNaN(value))
  if (known.length === 0) return "—"
  const low = Math.min(...known)
  const high = Math.max(...known)
  return low === high ? ratio(low) : `${ratio(low).slice(0, -1)}–${ratio(high)}`
}

/** The results table; with rounds (`--repeat`), a column with the range of the rounds' ratios. */
export const results = (report: Report): string => {
  const rounds = report.repeat > 1
  return markdown(
    [
      "scenario",
      "measure",
      "unit",
      "eddy",
      "BullMQ",
      "eddy/BullMQ",
      ...(rounds ? ["per round"] : []),
      "target (eddy)",
      "met",
    ],
    report.rows.map((row) => [
      row.scenario,
      row.label,
      row.unit,
      number(row.eddy),
      number(row.bullmq),
      ratio(row.ratio),
      ...(rounds ? [ratioRange(row.rounds?.ratio ?? [])] : []),
      row.target === undefined ? "" : describeTarget(row.target, row.unit),
      row.met === undefined ? "" : row.met ? "yes" : "**no**",
    ]),
    new Set(rounds ? [3, 4, 5, 6] : [3, 4, 5]),
  )
}

/** The machine and run, as a list under the table. */
export const machine = (report: Report): string =>
  [
    `- date: ${report.date}`,
    `- machine: ${report.machine.cpus} CPUs (${report.machine.cpuModel}), ${report.machine.memoryGiB} GiB memory, ${report.machine.os}`,
    `- Node ${report.machine.node}, redis-server ${report.machine.redis} (embedded, AOF everysec), BullMQ ${report.machine.bullmq}`,
    `- sizes: ${report.preset}`,
    ...(report.repeat > 1
      ? [
          `- rounds: ${report.repeat} runs of each scenario per system, the systems taking turns going first; eddy and BullMQ are the medians of the runs, "per round" the range of eddy/BullMQ between runs made back to back`,
        ]
      : []),
    ...report.notes.map((note) => `- note: ${note}`),
    ...report.failures.map(
      (failure) => `- FAILED: ${failure.scenario} (${failure.system}): ${failure.error.split("\n")[0]}`,
    ),
  ].join("\n")
