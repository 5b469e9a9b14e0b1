/**
 * `npm start`: the whole system in one process on an embedded Redis (unless `EDDY_REDIS_URL`
 * or `EDDY_REDIS_CLUSTER` is set). It submits a demo workload through its own HTTP API, shows live progress per actor,
 * prints a summary and the URLs to try, and serves until Ctrl-C, when it shuts down gracefully.
 */
import { NodeRuntime } from "@effect/platform-node"
import { program } from "./system.js"

program.pipe(NodeRuntime.runMain({ disablePrettyLogger: true }))
