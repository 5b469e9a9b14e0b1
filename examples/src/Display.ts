/**
 * The demo's terminal view: a progress bar per actor redrawn in place on a terminal, plain
 * lines otherwise, and the summary at the end.
 */
import type { JobStatus } from "@eddy/core"

export interface ActorProgress {
  readonly actor: string
  readonly total: number
  readonly succeeded: number
  readonly deadLettered: number
  readonly retried: number
  readonly active: number
}

const bar = (done: number, total: number, width = 28) => {
  const filled = total === 0 ? width : Math.round((done / total) * width)
  return `${"█".repeat(filled)}${"░".repeat(width - filled)}`
}

const line = (p: ActorProgress) =>
  `${p.actor.padEnd(18)} ${bar(p.succeeded + p.deadLettered, p.total)} ${String(p.succeeded + p.deadLettered).padStart(4)}/${p.total}` +
  `  ok ${p.succeeded}  retried ${p.retried}  dead ${p.deadLettered}  running ${p.active}`

/** Renders progress: in place on a TTY (returns the lines drawn), as plain lines otherwise. */
export const makeRenderer = (out: NodeJS.WriteStream) => {
  let drawn = 0
  let lastPlain = ""
  return (progress: ReadonlyArray<ActorProgress>) => {
    const lines = progress.map(line)
    if (out.isTTY) {
      if (drawn > 0) out.write(`\x1b[${drawn}A`)
      for (const text of lines) out.write(`\x1b[2K${text}\n`)
      drawn = lines.length
    } else {
      const plain = lines.join("\n")
      if (plain !== lastPlain) out.write(`${plain}\n`)
      lastPlain = plain
    }
  }
}

/** Progress of one actor from its jobs' statuses. */
export const progressOf = (actor: string, statuses: ReadonlyArray<JobStatus.JobStatus>): ActorProgress => ({
  actor,
  total: statuses.length,
  succeeded: statuses.filter((s) => s.state === "succeeded").length,
  deadLettered: statuses.filter((s) => s.state === "deadLettered").length,
  retried: statuses.filter((s) => s.attempt > 1).length,
  active: statuses.filter((s) => s.state === "active").length,
})

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0)

/** The summary: totals, throughput and latency from submission to the end. */
export const summary = (progress: ReadonlyArray<ActorProgress>, statuses: ReadonlyArray<JobStatus.JobStatus>) => {
  const finished = statuses.filter((s) => s.finishedAt !== undefined)
  const latencies = finished.map((s) => (s.finishedAt ?? 0) - s.submittedAt).sort((a, b) => a - b)
  const first = Math.min(...statuses.map((s) => s.submittedAt))
  const last = Math.max(...finished.map((s) => s.finishedAt ?? 0))
  const seconds = Math.max(0.001, (last - first) / 1000)
  const sum = (f: (p: ActorProgress) => number) => progress.reduce((total, p) => total + f(p), 0)
  return [
    "",
    "Summary",
    `  jobs          ${statuses.length}`,
    `  succeeded     ${sum((p) => p.succeeded)}`,
    `  retried       ${sum((p) => p.retried)} (succeeded or ended after more than one attempt)`,
    `  dead-lettered ${sum((p) => p.deadLettered)}`,
    `  throughput    ${(finished.length / seconds).toFixed(1)} jobs/s`,
    `  latency       p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms (submitted → finished, retries included)`,
  ].join("\n")
}
