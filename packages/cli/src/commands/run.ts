/**
 * `eddy start`, `eddy worker`, `eddy gateway`: run the system's processes.
 * Any number of workers and gateways can run against one Redis at once.
 */

import { StopSignals } from "@eddy/core"
import { Args, Command, Options } from "@effect/cli"
import { Effect, FiberRef, HashSet, Layer, Option } from "effect"
import * as Connection from "../Connection.js"
import * as Lazy from "../Lazy.js"
import * as Modules from "../Modules.js"
import type { Cli } from "../Output.js"

export const start: Cli<"start"> = Command.make("start", {}, () =>
  Effect.flatMap(
    Effect.promise(() => import("@eddy/examples/system")),
    // The program brings its own logger (as `npm start` runs it): without the CLI's, or every
    // line would be written twice.
    (system) => Effect.locally(system.program, FiberRef.currentLoggers, HashSet.empty()),
  ),
).pipe(Command.withDescription("Run the whole system in one process (as `npm start`): gateway and example worker"))

export const worker: Cli<"worker"> = Command.make(
  "worker",
  {
    module: Args.file({ name: "module", exists: "yes" }).pipe(
      Args.withDescription("a module whose default export is the array of handlers to host"),
    ),
    concurrency: Options.integer("concurrency").pipe(
      Options.withDescription("most jobs this process runs at once (default EDDY_WORKER_CONCURRENCY or 50)"),
      Options.optional,
    ),
  },
  ({ module, concurrency }) =>
    Effect.gen(function* () {
      const { Worker } = yield* Lazy.workers
      const handlers = yield* Modules.handlers(module)
      const releaseNow = yield* Worker.releaseOnSecondSignal
      const options = yield* Worker.optionsFromConfig({
        handlers,
        releaseNow,
        ...Option.match(concurrency, { onNone: () => ({}), onSome: (n) => ({ concurrency: n }) }),
      })
      return yield* Layer.launch(Worker.layer(options)).pipe(Effect.provide(Connection.serviceLayer))
    }),
).pipe(Command.withDescription("Run a worker hosting the handlers of a module"))

export const gateway: Cli<"gateway"> = Command.make(
  "gateway",
  {
    module: Args.file({ name: "module", exists: "yes" }).pipe(
      Args.withDescription("a module whose default export is the array of contracts to serve"),
      Args.optional,
    ),
  },
  ({ module }) =>
    Effect.gen(function* () {
      const { Auth, Gateway } = yield* Lazy.gateway
      // Copies of the stop signal (a terminal's Ctrl-C and npm's) must not kill it mid-shutdown.
      yield* StopSignals.second()
      const contracts = Option.isSome(module) ? yield* Modules.contracts(module.value) : []
      const options = yield* Gateway.serverOptions
      return yield* Layer.launch(
        Gateway.layer(contracts, options).pipe(
          Layer.provide(Auth.layerConfig),
          Layer.provide(Connection.serviceProducerLayer),
        ),
      )
    }),
).pipe(Command.withDescription("Run the HTTP gateway for the contracts of a module (EDDY_HTTP_HOST, EDDY_HTTP_PORT)"))
