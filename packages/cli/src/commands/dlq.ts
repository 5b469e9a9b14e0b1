/** `eddy dlq list|show|retry|purge`: inspect and steer dead letters. */

import { JobStore, type RedisClient, type Settings } from "@eddy/core"
import type * as DeadLetters from "@eddy/gateway/DeadLettersHandlers"
import { Args, Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import * as Actors from "../Actors.js"
import * as Connection from "../Connection.js"
import * as Lazy from "../Lazy.js"
import { type Cli, json, show, time, UsageFailure } from "../Output.js"
import { describeStatus } from "./jobs.js"

const actorOption = Options.text("actor").pipe(
  Options.withDescription("only this actor's dead letters"),
  Options.optional,
)

const actorsOf = (actor: Option.Option<string>) =>
  Option.match(actor, { onNone: () => Actors.discover, onSome: (a) => Effect.succeed([a]) })

type DeadLetterItem = Effect.Effect.Success<ReturnType<typeof DeadLetters.list>>["items"][number]

/** Every dead letter of the actors, newest first. */
const everything = (actors: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const deadLetters = yield* Lazy.deadLetters
    const items: Array<DeadLetterItem> = []
    let cursor: string | undefined
    while (true) {
      const page = yield* deadLetters.list(actors, 1000, cursor)
      items.push(...page.items)
      if (page.nextCursor === undefined) return items
      cursor = page.nextCursor
    }
  })

const list = Command.make(
  "list",
  {
    actor: actorOption,
    limit: Options.integer("limit").pipe(
      Options.withDescription("most dead letters to list (default 50)"),
      Options.withDefault(50),
    ),
    json,
  },
  (options) =>
    Effect.gen(function* () {
      const deadLetters = yield* Lazy.deadLetters
      const actors = yield* actorsOf(options.actor)
      const page = yield* deadLetters.list(actors, options.limit)
      return yield* show(page, options.json, () =>
        page.items.length === 0
          ? "no dead letters"
          : page.items
              .map((item) => {
                const error = item.error as { tag?: string; message?: string } | undefined
                return `${time(item.at)}  ${item.actor.padEnd(18)} ${item.jobId}  ${item.reason}${error?.message ? `  ${error.tag}: ${error.message}` : ""}`
              })
              .join("\n"),
      )
    }).pipe(Effect.provide(Connection.layer)),
).pipe(Command.withDescription("List dead letters, newest first"))

const showOne = Command.make(
  "show",
  { jobId: Args.text({ name: "jobId" }).pipe(Args.withDescription("the dead-lettered job to show")), json },
  ({ jobId, json: asJson }) =>
    JobStore.status(jobId).pipe(
      Effect.flatMap((status) =>
        show(status, asJson, () => `${describeStatus(status)}\n  input     ${JSON.stringify(status.input)}`),
      ),
      Effect.provide(Connection.layer),
    ),
).pipe(Command.withDescription("Show a dead-lettered job: its error, input and attempts"))

/** `retry` and `purge` share their shape: one job, or --all (of an actor). */
const steer = (
  name: "retry" | "purge",
  act: (jobId: string) => Effect.Effect<void, unknown, RedisClient.RedisClient | Settings.Settings>,
  done: string,
) =>
  Command.make(
    name,
    {
      jobId: Args.text({ name: "jobId" }).pipe(Args.withDescription(`the dead-lettered job to ${name}`), Args.optional),
      all: Options.boolean("all").pipe(Options.withDescription("every dead letter (of --actor, if given)")),
      actor: actorOption,
      json,
    },
    (options) =>
      Effect.gen(function* () {
        // A usage error is told before (and without) connecting.
        if (Option.isNone(options.jobId) && !options.all)
          return yield* new UsageFailure({ message: `dlq ${name} needs a jobId or --all` })
        const jobId = options.jobId
        return yield* Effect.gen(function* () {
          const jobIds = Option.isSome(jobId)
            ? [jobId.value]
            : (yield* everything(yield* actorsOf(options.actor))).map((item) => item.jobId)
          yield* Effect.forEach(jobIds, act, { concurrency: 16, discard: true })
          return yield* show({ [done]: jobIds }, options.json, () => `${done} ${jobIds.length} job(s)`)
        }).pipe(Effect.provide(Connection.layer))
      }),
  )

export const dlq: Cli<"dlq"> = Command.make("dlq").pipe(
  Command.withDescription("Inspect and steer dead letters"),
  Command.withSubcommands([
    list,
    showOne,
    steer("retry", JobStore.requeue, "requeued").pipe(
      Command.withDescription("Send dead-lettered jobs back to their inbox with a fresh attempt budget"),
    ),
    steer("purge", JobStore.purge, "purged").pipe(Command.withDescription("Delete dead-lettered jobs")),
  ]),
)
