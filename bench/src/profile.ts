/**
 * Reads a V8 CPU profile (`node --cpu-prof`) and says where the time went: self time per function,
 * time per area (eddy's packages, Effect, ioredis, Node, GC, idle), and inclusive time of eddy's
 * own functions. Only samples inside `window` (monotonic µs, the profile's clock) count, so a
 * scenario's set-up does not blur the picture of its measured part.
 */
import { readFileSync } from "node:fs"
import { root } from "./children.js"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}
interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly startTime: number
  readonly endTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

export interface Entry {
  readonly name: string
  readonly ms: number
  readonly share: number
}

export interface Summary {
  readonly file: string
  /** Milliseconds of samples counted. */
  readonly totalMs: number
  /** False when no sample fell inside the window (then every sample counts). */
  readonly windowed: boolean
  readonly areas: ReadonlyArray<Entry>
  readonly self: ReadonlyArray<Entry>
  /** eddy's functions (packages/*) by time spent in them and what they call. */
  readonly eddyInclusive: ReadonlyArray<Entry>
}

/** A short place for a frame: path under the repo or under its package in node_modules. */
const where = (frame: CallFrame): string => {
  if (frame.url === "") return ""
  const path = frame.url.replace(/^file:\/\//, "")
  const short = path.includes("/node_modules/")
    ? path.slice(path.lastIndexOf("/node_modules/") + "/node_modules/".length)
    : path.startsWith(`${root}/`)
      ? path.slice(root.length + 1)
      : path
  return `${short}:${frame.lineNumber + 1}`
}

const nameOf = (frame: CallFrame): string => {
  const place = where(frame)
  const fn = frame.functionName === "" ? "(anonymous)" : frame.functionName
  return place === "" ? fn : `${fn} ${place}`
}

const areaOf = (frame: CallFrame): string => {
  const { functionName, url } = frame
  if (functionName === "(idle)") return "idle"
  if (functionName === "(garbage collector)") return "garbage collector"
  if (functionName === "(program)" || functionName === "(root)") return "V8 / native (program)"
  if (/\/packages\/(core|workers|gateway)\//.test(url)) return `eddy ${/\/packages\/(\w+)\//.exec(url)?.[1]}`
  if (url.includes("/node_modules/effect/")) return "effect"
  if (url.includes("/node_modules/ioredis/") || url.includes("/node_modules/redis-parser/")) return "ioredis"
  if (url.includes("/bench/src/")) return "bench harness"
  if (url.startsWith("node:") || url === "") return "Node internals / builtins"
  return "other dependencies"
}

const top = (times: Map<string, number>, total: number, count: number): Array<Entry> =>
  [...times.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, ms: us / 1000, share: total > 0 ? us / total : 0 }))

/** Summarises the profile in `file`, counting the samples inside `window` when given. */
export const analyse = (
  file: string,
  window?: { readonly fromUs: number; readonly toUs: number },
  count = 25,
): Summary => {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const parentOf = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id)

  // Sample i lasts until sample i + 1.
  const stamps: Array<number> = []
  let at = profile.startTime
  for (const delta of profile.timeDeltas) {
    at += delta
    stamps.push(at)
  }
  const durationOf = (i: number) => ((stamps[i + 1] ?? profile.endTime) - (stamps[i] ?? profile.endTime)) | 0
  const inWindow = (i: number) =>
    window === undefined || ((stamps[i] ?? 0) >= window.fromUs && (stamps[i] ?? 0) <= window.toUs)
  const windowed = window !== undefined && profile.samples.some((_, i) => inWindow(i))

  const self = new Map<string, number>()
  const areas = new Map<string, number>()
  const inclusive = new Map<string, number>()
  let total = 0
  profile.samples.forEach((id, i) => {
    if (windowed && !inWindow(i)) return
    const node = nodes.get(id)
    if (node === undefined) return
    const us = durationOf(i)
    total += us
    self.set(nameOf(node.callFrame), (self.get(nameOf(node.callFrame)) ?? 0) + us)
    const area = areaOf(node.callFrame)
    areas.set(area, (areas.get(area) ?? 0) + us)
    const seen = new Set<string>()
    for (let cursor: number | undefined = id; cursor !== undefined; cursor = parentOf.get(cursor)) {
      const frame = nodes.get(cursor)?.callFrame
      if (frame === undefined || !areaOf(frame).startsWith("eddy ")) continue
      const name = nameOf(frame)
      if (seen.has(name)) continue
      seen.add(name)
      inclusive.set(name, (inclusive.get(name) ?? 0) + us)
    }
  })
  return {
    file,
    totalMs: total / 1000,
    windowed,
    areas: top(areas, total, 20),
    self: top(self, total, count),
    eddyInclusive: top(inclusive, total, 15),
  }
}

const section = (title: string, entries: ReadonlyArray<Entry>) =>
  [
    title,
    ...entries.map(
      (entry) => `${entry.ms.toFixed(0).padStart(8)} ms ${(entry.share * 100).toFixed(1).padStart(5)} %  ${entry.name}`,
    ),
  ].join("\n")

/** The summary as text. */
export const render = (summary: Summary): string =>
  [
    `CPU profile ${summary.file}`,
    `${summary.totalMs.toFixed(0)} ms of samples ${summary.windowed ? "inside the measured window (first pick-up to last completion)" : "(whole run: no sample fell inside the window)"}`,
    "",
    section("By area (self time)", summary.areas),
    "",
    section("Top functions by self time", summary.self),
    "",
    section("eddy functions by inclusive time", summary.eddyInclusive),
  ].join("\n")
