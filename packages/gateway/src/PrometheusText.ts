/**
 * Renders metrics in the Prometheus text exposition format (version 0.0.4): the process's
 * Effect `Metric` registry (counters, gauges, histograms — the worker metrics when workers run
 * in this process) plus gauges sampled at scrape time.
 */
import { Effect, Metric, MetricState, Option } from "effect"

/** A gauge sampled at scrape time. */
export interface Sample {
  readonly name: string
  readonly help: string
  readonly labels?: Readonly<Record<string, string>>
  readonly value: number
}

// HELP text escapes backslash and newline; label values also escape the double quote.
const escapeHelp = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")
const escapeLabel = (value: string) => escapeHelp(value).replace(/"/g, '\\"')
// Names from the registry come from any library: keep them within the format's alphabet.
const metricName = (name: string) => name.replace(/[^a-zA-Z0-9_:]/g, "_").replace(/^(?=[0-9])/, "_")
const labelName = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, "_").replace(/^(?=[0-9])/, "_")
const labelText = (labels: Readonly<Record<string, string>>) => {
  const pairs = Object.entries(labels)
  return pairs.length === 0 ? "" : `{${pairs.map(([k, v]) => `${labelName(k)}="${escapeLabel(v)}"`).join(",")}}`
}
const number = (value: number | bigint) =>
  typeof value === "bigint"
    ? value.toString()
    : Number.isFinite(value)
      ? String(value)
      : Number.isNaN(value)
        ? "NaN"
        : value > 0
          ? "+Inf"
          : "-Inf"

/** The registry and the samples as exposition text; one HELP/TYPE block per metric name. */
export const render = (samples: ReadonlyArray<Sample>) =>
  Effect.map(Metric.snapshot, (pairs) => {
    const blocks = new Map<string, { help: string; type: string; lines: Array<string> }>()
    const block = (name: string, help: string, type: string) => {
      const existing = blocks.get(name)
      if (existing !== undefined) return existing.lines
      const created = { help, type, lines: [] as Array<string> }
      blocks.set(name, created)
      return created.lines
    }
    for (const pair of pairs) {
      const name = metricName(pair.metricKey.name)
      const help = Option.getOrElse(pair.metricKey.description, () => name)
      const labels: Record<string, string> = {}
      for (const tag of pair.metricKey.tags) labels[tag.key] = tag.value
      const state = pair.metricState
      if (MetricState.isCounterState(state))
        block(name, help, "counter").push(`${name}${labelText(labels)} ${number(state.count)}`)
      else if (MetricState.isGaugeState(state))
        block(name, help, "gauge").push(`${name}${labelText(labels)} ${number(state.value)}`)
      else if (MetricState.isHistogramState(state)) {
        const lines = block(name, help, "histogram")
        // Effect's boundaries end with +Inf already; that bucket is the one written below.
        for (const [bound, count] of state.buckets)
          if (Number.isFinite(bound))
            lines.push(`${name}_bucket${labelText({ ...labels, le: number(bound) })} ${count}`)
        lines.push(`${name}_bucket${labelText({ ...labels, le: "+Inf" })} ${state.count}`)
        lines.push(`${name}_sum${labelText(labels)} ${number(state.sum)}`)
        lines.push(`${name}_count${labelText(labels)} ${state.count}`)
      }
    }
    for (const sample of samples)
      block(sample.name, sample.help, "gauge").push(
        `${sample.name}${labelText(sample.labels ?? {})} ${number(sample.value)}`,
      )
    return [...blocks.entries()]
      .map(
        ([name, { help, type, lines }]) =>
          `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n${lines.join("\n")}`,
      )
      .join("\n")
      .concat("\n")
  })
