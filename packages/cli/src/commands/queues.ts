/** `eddy queues` (a table) and `eddy monitor` (a live view refreshed in place). */
import { Command, Options } from "@effect/cli"
import { Effect, Schedule } from "effect"
import * as Connection from "../Connection.js"
import { type Cli, json, show } from "../Output.js"
import * as QueueView from "../QueueView.js"

export const queues: Cli<"queues"> = Command.make("queues", { json }, ({ json: asJson }) =>
  QueueView.rows.pipe(
    Effect.flatMap((rows) => show(rows, asJson, () => QueueView.table(rows))),
    Effect.provide(Connection.layer),
  ),
).pipe(Command.withDescription("Per actor: depth, delayed, active, dead-lettered, workers, rate"))

export const monitor: Cli<"monitor"> = Command.make(
  "monitor",
  {
    interval: Options.integer("interval").pipe(
      Options.withDescription("milliseconds between refreshes (default 1000)"),
      Options.withDefault(1000),
    ),
  },
  ({ interval }) =>
    QueueView.rows.pipe(
      // Home the cursor and clear: the screen is redrawn in place.
      Effect.flatMap((rows) =>
        Effect.sync(() => process.stdout.write(`\x1b[H\x1b[2J${QueueView.screen(rows, new Date())}\n`)),
      ),
      Effect.repeat(Schedule.spaced(interval)),
      Effect.provide(Connection.layer),
    ),
).pipe(Command.withDescription("A live view of every actor: depth and rate bars, refreshed in place"))
