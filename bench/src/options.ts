/**
 * The command line: which scenarios, how big, where the JSON goes, whether to profile.
 *
 *   pnpm bench [--quick | --scale <f>] [--rate <n>] [--only a,b] [--repeat <n>] [--json [path]] [--profile [dir]]
 *
 * `--only scale` (alone or with others) adds the scale scenario, which runs only when named:
 * eddy alone, on one server and on Redis Clusters it starts (see `scale.ts`).
 */

/** Every scenario, in the order they run and are reported. */
export const scenarioNames = ["enqueue", "process", "latency", "connections", "stall", "memory"] as const
export type ScenarioName = (typeof scenarioNames)[number]

/** How much work each scenario does. */
export interface Sizes {
  readonly enqueueJobs: number
  /** Jobs per `submitMany` / `addBulk` call. */
  readonly batch: number
  readonly processJobs: number
  readonly concurrency: number
  /** Submissions per second, one by one. */
  readonly latencyRate: number
  readonly latencySeconds: number
  readonly actors: number
  /** eddy's lease; BullMQ's lockDuration and stalledInterval. */
  readonly stallLeaseMs: number
  readonly stallTrials: number
  readonly memoryJobs: number
}

/** The sizes of the report in docs/benchmarks.md (3 to 6 minutes on 2 shared cores). */
export const full: Sizes = {
  enqueueJobs: 50_000,
  batch: 1_000,
  processJobs: 20_000,
  concurrency: 50,
  latencyRate: 500,
  latencySeconds: 10,
  actors: 11,
  stallLeaseMs: 5_000,
  stallTrials: 3,
  memoryJobs: 20_000,
}

/** Tiny sizes for the smoke test: every code path, in well under a minute. A 1 s lease keeps stall short. */
export const quick: Sizes = {
  enqueueJobs: 1_000,
  batch: 250,
  processJobs: 500,
  concurrency: 50,
  latencyRate: 100,
  latencySeconds: 1,
  actors: 11,
  stallLeaseMs: 1_000,
  stallTrials: 1,
  memoryJobs: 500,
}

export interface Options {
  readonly sizes: Sizes
  readonly preset: string
  readonly only: ReadonlyArray<ScenarioName>
  /** Run the scale scenario (`--only scale`): eddy on one server, on 1 and on 3 cluster masters. */
  readonly scale: boolean
  /**
   * Runs of each scenario per system. Above 1, the two systems take turns going first, each row
   * reports the median of its runs, and the eddy/BullMQ ratio of every round (the two runs made
   * back to back) is kept: on a shared machine one run can land in a slow phase for one system.
   */
  readonly repeat: number
  /** Unset: no JSON; "-": stdout; else a file path. */
  readonly json: string | undefined
  /** Set: profile eddy's process scenario with `--cpu-prof`, writing the profile into this directory. */
  readonly profile: string | undefined
}

/** The full sizes with job counts and the latency run scaled by `factor` (never below one). */
const scaled = (factor: number): Sizes => {
  const count = (n: number) => Math.max(1, Math.round(n * factor))
  return {
    ...full,
    enqueueJobs: count(full.enqueueJobs),
    processJobs: count(full.processJobs),
    latencySeconds: Math.max(1, full.latencySeconds * factor),
    memoryJobs: count(full.memoryJobs),
  }
}

const usage = `usage: pnpm bench [--quick | --scale <factor>] [--rate <latency submissions/s>] [--only ${scenarioNames.join(",")},scale] [--repeat <runs>] [--json [path]] [--profile [dir]]`

/** Parses the arguments; throws with the usage line on a bad one. */
export const parse = (argv: ReadonlyArray<string>): Options => {
  let sizes = full
  let preset = "full"
  let only: ReadonlyArray<ScenarioName> = scenarioNames
  let scale = false
  let json: string | undefined
  let profile: string | undefined
  let latencyRate: number | undefined
  let repeat = 1
  const valueAfter = (i: number) => {
    const value = argv[i + 1]
    return value !== undefined && !value.startsWith("--") ? value : undefined
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    switch (arg) {
      case "--quick":
        sizes = quick
        preset = "quick"
        break
      case "--scale": {
        const factor = Number(valueAfter(i))
        if (!(factor > 0 && factor <= 10)) throw new Error(`--scale takes a number in (0, 10]\n${usage}`)
        sizes = scaled(factor)
        preset = `scale ${factor}`
        i++
        break
      }
      case "--rate": {
        const rate = Number(valueAfter(i))
        if (!(Number.isInteger(rate) && rate > 0 && rate <= 100_000))
          throw new Error(`--rate takes submissions per second (a whole number)\n${usage}`)
        latencyRate = rate
        i++
        break
      }
      case "--only": {
        const names = (valueAfter(i) ?? "").split(",").filter((name) => name !== "")
        const unknown = names.filter(
          (name) => name !== "scale" && !(scenarioNames as ReadonlyArray<string>).includes(name),
        )
        if (names.length === 0 || unknown.length > 0)
          throw new Error(`--only takes scenario names, got ${JSON.stringify(unknown)}\n${usage}`)
        only = scenarioNames.filter((name) => names.includes(name))
        scale = names.includes("scale")
        i++
        break
      }
      case "--repeat": {
        const runs = Number(valueAfter(i))
        if (!(Number.isInteger(runs) && runs >= 1 && runs <= 20))
          throw new Error(`--repeat takes the runs per scenario and system (1 to 20)\n${usage}`)
        repeat = runs
        i++
        break
      }
      case "--json":
        json = valueAfter(i) ?? "-"
        if (json !== "-") i++
        break
      case "--profile":
        profile = valueAfter(i) ?? "bench/profiles"
        if (valueAfter(i) !== undefined) i++
        break
      case "--help":
      case "-h":
        throw new Error(usage)
      default:
        throw new Error(`unknown argument ${arg}\n${usage}`)
    }
  }
  if (latencyRate !== undefined) {
    sizes = { ...sizes, latencyRate: latencyRate }
    preset = `${preset}, latency at ${latencyRate}/s`
  }
  if (profile !== undefined && repeat > 1) throw new Error(`--profile runs once; leave out --repeat\n${usage}`)
  if (profile !== undefined && scale)
    throw new Error(`--profile profiles the process scenario; leave out scale\n${usage}`)
  return { sizes, preset, only, scale, repeat, json, profile }
}
