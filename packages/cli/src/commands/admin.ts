/** `eddy clear <actor> --yes`, `eddy pause|resume <actor>` and `eddy projection rebuild`. */

import { JobStore, ReadModel, RedisClient, Settings, StreamKeys } from "@eddy/core"
import { Args, Command, Options } from "@effect/cli"
import { Clock, Effect } from "effect"
import * as Connection from "../Connection.js"
import { type Cli, json, show, UsageFailure } from "../Output.js"

/**
 * Clears an actor's queue through the lifecycle scripts, so every job still ends with an event:
 * queued and delayed jobs are cancelled, running ones get a cancel request, dead letters are
 * purged.
 */
const clearActor = (actor: string) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings.Settings
    const redis = yield* RedisClient.RedisClient
    const waiting = new Set<string>()
    const dead = new Set<string>()
    for (const partition of keyspace.all) {
      for (const lane of StreamKeys.lanes) {
        const entries = yield* redis.run((c) => c.xrange(partition.inbox(actor, lane), "-", "+"))
        for (const [, fields] of entries) {
          const at = fields.indexOf("j")
          if (at >= 0 && fields[at + 1] !== undefined) waiting.add(fields[at + 1] as string)
        }
        for (const id of yield* redis.run((c) => c.zrange(partition.delayed(actor, lane), 0, -1))) waiting.add(id)
      }
      for (const [, fields] of yield* redis.run((c) => c.xrange(partition.dead(actor), "-", "+"))) {
        const at = fields.indexOf("j")
        if (at >= 0 && fields[at + 1] !== undefined) dead.add(fields[at + 1] as string)
      }
    }
    const outcomes = yield* Effect.forEach(
      waiting,
      (id) => JobStore.cancel(id).pipe(Effect.orElseSucceed(() => "gone" as const)),
      {
        concurrency: 16,
      },
    )
    yield* Effect.forEach(dead, (id) => JobStore.purge(id).pipe(Effect.ignore), { concurrency: 16, discard: true })
    return {
      actor,
      cancelled: outcomes.filter((o) => o === "cancelled").length,
      cancelRequested: outcomes.filter((o) => o === "cancelRequested").length,
      purged: dead.size,
    }
  })

export const clear: Cli<"clear"> = Command.make(
  "clear",
  {
    actor: Args.text({ name: "actor" }).pipe(Args.withDescription("the actor whose queue to clear")),
    yes: Options.boolean("yes").pipe(Options.withDescription("confirm: this cancels every waiting job of the actor")),
    json,
  },
  ({ actor, yes, json: asJson }) =>
    Effect.gen(function* () {
      // A usage error is told before (and without) connecting.
      if (!yes)
        return yield* new UsageFailure({ message: `clear cancels every waiting job of ${actor}: add --yes to confirm` })
      return yield* clearActor(actor).pipe(
        Effect.flatMap((result) =>
          show(
            result,
            asJson,
            () =>
              `${actor}: cancelled ${result.cancelled}, cancel requested for ${result.cancelRequested} running, purged ${result.purged} dead letter(s)`,
          ),
        ),
        Effect.provide(Connection.layer),
      )
    }),
).pipe(Command.withDescription("Cancel every waiting job of an actor and purge its dead letters"))

const rebuild = Command.make("rebuild", { json }, ({ json: asJson }) =>
  Effect.gen(function* () {
    const started = yield* Clock.currentTimeMillis
    const calls = yield* ReadModel.rebuild
    const ms = (yield* Clock.currentTimeMillis) - started
    return yield* show({ rebuilt: true, calls, ms }, asJson, () => `projection rebuilt in ${ms} ms (${calls} call(s))`)
  }).pipe(Effect.provide(Connection.layer)),
).pipe(
  Command.withDescription(
    "Clear the status projection (the inline read model) and fold the retained event log into it again; best run while the system is quiet",
  ),
)

export const projection: Cli<"projection"> = Command.make("projection").pipe(
  Command.withDescription("Manage the status projection"),
  Command.withSubcommands([rebuild]),
)

const actorArg = Args.text({ name: "actor" }).pipe(Args.withDescription("the actor's name"))

/** Pauses or resumes an actor everywhere, and says so. */
const steer = (paused: boolean) => (options: { readonly actor: string; readonly json: boolean }) =>
  (paused ? JobStore.pause(options.actor) : JobStore.resume(options.actor)).pipe(
    Effect.zipRight(
      show({ actor: options.actor, paused }, options.json, () =>
        paused
          ? `${options.actor} paused: no worker claims its jobs until \`eddy resume ${options.actor}\` (running ones finish)`
          : `${options.actor} resumed`,
      ),
    ),
    Effect.provide(Connection.layer),
  )

export const pause: Cli<"pause"> = Command.make("pause", { actor: actorArg, json }, steer(true)).pipe(
  Command.withDescription("Pause an actor: workers everywhere stop claiming its jobs until it is resumed"),
)

export const resume: Cli<"resume"> = Command.make("resume", { actor: actorArg, json }, steer(false)).pipe(
  Command.withDescription("Resume a paused actor"),
)
