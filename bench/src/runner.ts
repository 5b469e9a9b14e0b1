/**
 * A system's runner: a process of its own per system, so that neither system runs in a heap or
 * JIT state the other left behind. `main.ts` starts one per system and asks it, scenario by
 * scenario, over IPC: `run` (scenario name, server URL, sizes) → `done` (the scenario's rows with
 * this system's values, and details) or `failed`. `exit` ends it normally, which is when
 * `--cpu-prof` writes its profile.
 *
 * Argument: the system, `eddy` or `bullmq`.
 */
import { parent } from "./children.js"
import type { ScenarioName, Sizes } from "./options.js"
import { scenarios } from "./scenarios/all.js"
import type { System } from "./scenarios/scenario.js"

const system = process.argv[2] as System
parent.exitWithParent()
// A stray rejection (a scenario's background promise) is reported, not fatal: the scenario's own
// result says whether the run is usable.
process.on("unhandledRejection", (error) => process.stderr.write(`runner ${system}: unhandled ${String(error)}\n`))

parent.onMessage((message) => {
  if (message.type === "exit") process.exit(0)
  if (message.type !== "run") return
  const scenario = scenarios[message.scenario as ScenarioName]
  const sizes = message.sizes as Sizes
  scenario.run[system]({ url: String(message.url), sizes }).then(
    (measures) =>
      parent.send({
        type: "done",
        id: message.id,
        rows: scenario.rows(sizes).map((row) => ({ ...row, value: measures.values[row.key] ?? Number.NaN })),
        details: measures.details ?? {},
        notes: measures.notes ?? [],
      }),
    (error: unknown) =>
      parent.send({
        type: "failed",
        id: message.id,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      }),
  )
})

parent.send({ type: "ready", pid: process.pid })
