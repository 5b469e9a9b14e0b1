/**
 * `pnpm bench` (`npm run bench -- [options]`): eddy against BullMQ on the same embedded
 * redis-server (data in a temp directory, removed afterwards), one system after the other per
 * scenario, the server flushed before each run. Each system runs in a runner process of its
 * own. Prints a Markdown table with both systems, eddy/BullMQ and the targets; `--json` writes
 * the report as JSON; `--repeat <n>` runs each scenario n times per system, the systems taking
 * turns going first, and reports medians and the range of the rounds' ratios; `--profile` runs
 * eddy's process scenario under `node --cpu-prof` and summarises the profile instead;
 * `--only scale` adds eddy's scale scenario (one server, 1 and 3 cluster masters: `scale.ts`),
 * printed as a table of its own. See docs/benchmarks.md.
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { EmbeddedRedis } from "@eddy/core"
import { Effect, Exit, Fiber } from "effect"
import * as Children from "./children.js"
import * as Machine from "./machine.js"
import * as Options from "./options.js"
import * as Profile from "./profile.js"
import * as RedisProbe from "./redisProbe.js"
import * as Report from "./report.js"
import * as Scale from "./scale.js"
import type { Row, System } from "./scenarios/scenario.js"
import * as Table from "./table.js"

type Rows = ReadonlyArray<Row & { readonly value: number }>
interface Outcome {
  readonly rows: Rows
  readonly details: Record<string, unknown>
  readonly notes: ReadonlyArray<string>
  readonly error?: string
}

const options = (() => {
  try {
    return Options.parse(process.argv.slice(2))
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error))
    process.exit(2)
  }
})()

const progress = (line: string) => process.stderr.write(`bench: ${line}\n`)

/** A runner process for one system; stopped (normally, so a CPU profile gets written) with the scope. */
const runner = (system: System, profileDir: string | undefined) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const child = Children.start(
        "runner.ts",
        [system],
        profileDir === undefined ? {} : { execArgv: ["--cpu-prof", "--cpu-prof-dir", profileDir] },
      )
      await child.next((message) => message.type === "ready", 120_000)
      return child
    }),
    (child) =>
      Effect.promise(async () => {
        child.send({ type: "exit" })
        const timer = setTimeout(() => child.process.kill("SIGKILL"), 15_000)
        await child.exited
        clearTimeout(timer)
      }),
  )

/**
 * Builds eddy's packages into `dist/`, which the runners load, as an application would load the
 * published packages. (Through tsx, each module is also compiled onto one line, which left every
 * profile frame at line 1, and every function is named at run time, a cost of its own.)
 */
const buildPackages = () => {
  progress("building eddy's packages (tsc -b): they run from dist/, as published")
  const steps = [
    [
      join(Children.root, "node_modules/typescript/bin/tsc"),
      "-b",
      "packages/core",
      "packages/workers",
      "packages/gateway",
    ],
    [join(Children.root, "scripts/copy-assets.mjs")],
  ]
  for (const args of steps) {
    const result = spawnSync(process.execPath, args, { cwd: Children.root, stdio: ["ignore", 2, 2] })
    if (result.status !== 0) throw new Error(`${args.join(" ")} failed`)
  }
}

let nextId = 0
/** Runs one scenario on a runner; a runner that crashes fails the run (and every later one on it). */
const runScenario = (child: Children.Child, scenario: string, url: string): Promise<Outcome> => {
  const id = nextId++
  child.send({ type: "run", id, scenario, url, sizes: options.sizes })
  return child
    .next((message) => message.id === id, 30 * 60_000)
    .then(
      (message) =>
        message.type === "done"
          ? {
              rows: message.rows as Rows,
              details: message.details as Record<string, unknown>,
              notes: message.notes as ReadonlyArray<string>,
            }
          : { rows: [], details: {}, notes: [], error: String(message.error) },
      (error: unknown) => ({ rows: [], details: {}, notes: [], error: String(error) }),
    )
}

const describeValues = (rows: Rows) =>
  rows.map((row) => `${row.key} ${Number.isFinite(row.value) ? row.value.toFixed(2) : "—"} ${row.unit}`).join(", ")

const program = Effect.gen(function* () {
  const server = yield* EmbeddedRedis.start({ ephemeral: true })
  const admin = yield* Effect.acquireRelease(
    Effect.sync(() => RedisProbe.connect(server.url, "admin")),
    (redis) => Effect.promise(() => redis.quit()).pipe(Effect.ignore),
  )
  const redisVersion = yield* Effect.promise(() => RedisProbe.version(admin))
  const others = Machine.otherRedisServers(server.pid)
  const crowded =
    others.length === 0
      ? []
      : [
          `${others.length} other redis-server process(es) were running (pid ${others.slice(0, 5).join(", ")}${others.length > 5 ? ", …" : ""}): they share the cores with what is measured`,
        ]
  for (const note of crowded) progress(`warning: ${note}`)
  const profileDir = options.profile === undefined ? undefined : resolve(options.profile)
  const systems: ReadonlyArray<System> = profileDir === undefined ? ["eddy", "bullmq"] : ["eddy"]
  const scenarioNames: ReadonlyArray<Options.ScenarioName> = profileDir === undefined ? options.only : ["process"]
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true })
  buildPackages()

  progress(
    `redis-server ${redisVersion} at ${server.url}; starting ${systems.join(" and ")} runners (${options.preset} sizes)`,
  )
  const runners = new Map(
    yield* Effect.forEach(
      systems,
      (system) => Effect.map(runner(system, profileDir), (child) => [system, child] as const),
      { concurrency: "unbounded" },
    ),
  )

  // Per scenario and system, one outcome per round. Within a round the two systems run back to
  // back; they take turns going first, so that neither always runs on the heels of the other.
  const outcomes = new Map<string, Array<Outcome>>()
  const rounds = profileDir === undefined ? options.repeat : 1
  for (const scenario of scenarioNames)
    for (let round = 0; round < rounds; round++)
      for (const system of round % 2 === 0 ? systems : [...systems].reverse()) {
        yield* Effect.promise(() => RedisProbe.flush(admin))
        const name = rounds > 1 ? `${scenario} (round ${round + 1} of ${rounds})` : scenario
        progress(`${name}: ${system} …`)
        const started = Date.now()
        const outcome = yield* Effect.promise(() =>
          runScenario(runners.get(system) as Children.Child, scenario, server.url),
        )
        const key = `${scenario}/${system}`
        outcomes.set(key, [...(outcomes.get(key) ?? []), outcome])
        progress(
          outcome.error === undefined
            ? `${name}: ${system} ${describeValues(outcome.rows)} (${((Date.now() - started) / 1000).toFixed(1)} s)`
            : `${name}: ${system} FAILED\n${outcome.error}`,
        )
      }
  const runsOf = (scenario: string, system: System) => outcomes.get(`${scenario}/${system}`) ?? []
  // Notes and failures name their round when there are several.
  const labelled = [...outcomes.entries()].flatMap(([key, runs]) => {
    const [scenario = key, system = ""] = key.split("/")
    return runs.map((outcome, i) => ({
      system,
      where: rounds > 1 ? `${scenario} (round ${i + 1})` : scenario,
      outcome,
    }))
  })

  const report: Report.Report = {
    date: new Date().toISOString(),
    preset: options.preset,
    repeat: rounds,
    machine: Machine.describe(redisVersion),
    sizes: options.sizes,
    rows: scenarioNames.flatMap((scenario) =>
      Report.merge(
        scenario,
        runsOf(scenario, "eddy").map((outcome) => outcome.rows),
        runsOf(scenario, "bullmq").map((outcome) => outcome.rows),
      ),
    ),
    details: Object.fromEntries(
      scenarioNames.map((scenario) => [
        scenario,
        Object.fromEntries(
          systems.map((system) => [system, runsOf(scenario, system).map((outcome) => outcome.details)]),
        ),
      ]),
    ),
    notes: [
      ...crowded,
      ...labelled.flatMap(({ system, where, outcome }) => outcome.notes.map((note) => `${system} ${where}: ${note}`)),
    ],
    failures: labelled.flatMap(({ system, where, outcome }) =>
      outcome.error === undefined ? [] : [{ scenario: where, system, error: outcome.error }],
    ),
  }

  // Runners stop as the scope closes, before `output` runs: a profiled runner has written its profile.
  return { report, profileDir, profiledPid: runners.get("eddy")?.pid }
}).pipe(Effect.scoped)

/** The scale scenario after the others (it starts servers of its own), when `--only` names it. */
const everything = Effect.gen(function* () {
  const standard = options.only.length > 0 ? yield* program : undefined
  if (!options.scale) return { standard, scale: undefined }
  if (standard === undefined) buildPackages()
  const scale = yield* Effect.promise(() => Scale.run(options.sizes, progress))
  return { standard, scale }
})

/** The scale table; with `--json`, its rows as JSON too (beside the report's when there is one). */
const outputScale = (scale: ReadonlyArray<Scale.ScaleRow>, report: Report.Report | undefined) => {
  const text = `${Scale.table(scale, options.sizes)}\n`
  if (options.json === "-") {
    process.stderr.write(text)
    if (report === undefined) process.stdout.write(`${JSON.stringify({ sizes: options.sizes, scale }, null, 2)}\n`)
    return
  }
  console.log(text)
  if (options.json === undefined) return
  const json =
    report === undefined ? { date: new Date().toISOString(), sizes: options.sizes, scale } : { ...report, scale }
  writeFileSync(options.json, `${JSON.stringify(json, null, 2)}\n`)
  progress(`JSON report (with the scale rows) written to ${options.json}`)
}

const output = ({
  report,
  profileDir,
  profiledPid,
}: {
  readonly report: Report.Report
  readonly profileDir: string | undefined
  readonly profiledPid: number | undefined
}) => {
  if (profileDir !== undefined) {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (tsx's
    // loader hooks run on a thread of their own and get a profile too).
    const newest = readdirSync(profileDir)
      .filter((name) => name.endsWith(".cpuprofile") && name.includes(`.${profiledPid}.0.`))
      .map((name) => join(profileDir, name))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
    if (newest === undefined) throw new Error(`no .cpuprofile in ${profileDir}`)
    // A profile is of one round.
    const window = (report.details.process?.eddy?.[0] as { window?: { fromUs: number; toUs: number } } | undefined)
      ?.window
    const text = Profile.render(Profile.analyse(newest, window))
    writeFileSync(newest.replace(/\.cpuprofile$/, ".txt"), `${text}\n`)
    console.log(`${Table.results(report)}\n\n${text}`)
    return
  }
  const text = `${Table.results(report)}\n\n${Table.machine(report)}\n`
  if (options.json === "-") {
    process.stderr.write(text)
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  } else {
    console.log(text)
    if (options.json !== undefined) {
      writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`)
      progress(`JSON report written to ${options.json}`)
    }
  }
  for (const failure of report.failures) console.error(`bench: ${failure.scenario} (${failure.system}) failed`)
}

const fiber = Effect.runFork(everything)
// Ctrl-C or a TERM: interrupting closes the scope, which stops the runners and the server.
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    progress(`${signal}: stopping`)
    Effect.runFork(Fiber.interrupt(fiber))
  })
fiber.addObserver((exit) => {
  if (Exit.isSuccess(exit)) {
    const { standard, scale } = exit.value
    if (standard !== undefined) output(standard)
    if (scale !== undefined) outputScale(scale, standard?.report)
    process.exitCode = (standard?.report.failures.length ?? 0) > 0 ? 1 : 0
  } else {
    console.error(Exit.isInterrupted(exit) ? "bench: interrupted" : `bench: failed\n${String(exit.cause)}`)
    process.exitCode = 1
  }
  Children.killAll()
})
