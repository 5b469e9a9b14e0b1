/**
 * `eddy`: the operator's command line. Exit codes: 0 ok, 1 failed (one line on stderr), 2 usage.
 * Redis comes from `EDDY_REDIS_URL` (or `EDDY_REDIS_CLUSTER`), or from a running `npm start` in this directory.
 */

import { Logging } from "@eddy/core"
import { Command, ValidationError } from "@effect/cli"
// The modules, not the package's index: that would load its HTTP, socket and cluster support too.
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Console, Effect, Exit, LogLevel } from "effect"
import { clear, pause, projection, resume } from "./commands/admin.js"
import { dlq } from "./commands/dlq.js"
import { cancel, jobs, status, submit } from "./commands/jobs.js"
import { monitor, queues } from "./commands/queues.js"
import { replay } from "./commands/replay.js"
import { gateway, start, worker } from "./commands/run.js"
import { tail } from "./commands/tail.js"
import { describeFailure } from "./Output.js"

const eddy = Command.make("eddy").pipe(
  Command.withDescription("eddy: an event-driven actor system over Redis Streams"),
  Command.withSubcommands([
    start,
    worker,
    gateway,
    submit,
    status,
    cancel,
    jobs,
    tail,
    replay,
    dlq,
    queues,
    monitor,
    clear,
    pause,
    resume,
    projection,
  ]),
)

const run = Command.run(eddy, { name: "eddy", version: "0.0.0" })

// Operator commands log warnings and worse unless EDDY_LOG_LEVEL asks for more.
const logging =
  process.env.EDDY_LOG_LEVEL === undefined
    ? Logging.layer({ level: LogLevel.Warning, pretty: process.stderr.isTTY === true })
    : Logging.layerConfig

const exitCode = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return 0
  const failure = Cause.squash(exit.cause)
  return ValidationError.isValidationError(failure) || (failure as { _tag?: string })._tag === "UsageFailure" ? 2 : 1
}

run(process.argv).pipe(
  // @effect/cli has already printed usage errors; everything else gets one line.
  Effect.tapError((error) =>
    ValidationError.isValidationError(error) ? Effect.void : Console.error(`eddy: ${describeFailure(error)}`),
  ),
  Effect.tapDefect((defect) => Console.error(`eddy: unexpected failure: ${String(defect)}`)),
  Effect.provide(NodeContext.layer),
  Effect.provide(logging),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    disablePrettyLogger: true,
    teardown: (exit, onExit) => onExit(exitCode(exit)),
  }),
)
