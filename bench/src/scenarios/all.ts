/** Every scenario by name (the names and their order are in `options.ts`). */
import type { ScenarioName } from "../options.js"
import { connections } from "./connections.js"
import { enqueue } from "./enqueue.js"
import { latency } from "./latency.js"
import { memory } from "./memory.js"
import { processing } from "./process.js"
import type { Scenario } from "./scenario.js"
import { stall } from "./stall.js"

export const scenarios: Record<ScenarioName, Scenario> = {
  enqueue,
  process: processing,
  latency,
  connections,
  stall,
  memory,
}
