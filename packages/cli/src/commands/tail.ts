/**
 * `eddy tail`: follow the event log live, one readable line per event. One blocking read over
 * every partition's log; on a Redis Cluster, one per master node, rotating (see `NodeReads`).
 */

import { JobEvent, NodeReads, RedisClient, Settings } from "@eddy/core"
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import * as Connection from "../Connection.js"
import * as EventFormat from "../EventFormat.js"
import { type Cli, CliFailure, json } from "../Output.js"

/**
 * A start position: a stream id, milliseconds since the epoch, or a date/time. A date/time
 * without a zone is UTC, as the CLI prints times (`2024-05-01 12:00:00.000`): one copied from
 * `eddy tail` means the same instant on any machine (`Date.parse` would read it as local time).
 */
export const parseSince = (text: string): Option.Option<string> => {
  if (/^\d+-\d+$/.test(text)) return Option.some(text)
  if (/^\d+$/.test(text)) return Option.some(`${text}-0`)
  const zoneless = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text.trim())
  const ms = Date.parse(zoneless ? `${text.trim().replace(" ", "T")}Z` : text)
  return Number.isNaN(ms) ? Option.none() : Option.some(`${ms}-0`)
}

/**
 * Prints the events after `start` (an event id, or `$`: from now) that pass the filters, until
 * interrupted. A Redis outage does not end it: it reads on from where it was once Redis is back.
 */
const follow = (
  start: string,
  options: { readonly actor: Option.Option<string>; readonly job: Option.Option<string>; readonly json: boolean },
) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings.Settings
    const redis = yield* RedisClient.RedisClient
    const streams = keyspace.all.map((p) => p.events)
    // "$" is resolved to each log's newest id once, so nothing is missed between reads.
    const positions = yield* Effect.forEach(streams, (stream) =>
      start === "$"
        ? redis
            .run((c) => c.xrevrange(stream, "+", "-", "COUNT", 1))
            .pipe(Effect.map((entries) => entries[0]?.[0] ?? "0-0"))
        : Effect.succeed(start),
    )
    const keep = (event: JobEvent.JobEvent) =>
      Option.match(options.actor, { onNone: () => true, onSome: (a) => event.actor === a }) &&
      Option.match(options.job, { onNone: () => true, onSome: (j) => event.jobId === j })
    const at = new Map(streams.map((stream, index) => [stream, index]))
    // An outage is said once on stderr (stdout carries only events), and so is the way back.
    let down = false
    const onFailure = (error: RedisClient.RedisError) =>
      down
        ? Effect.void
        : Effect.zipRight(
            Effect.sync(() => {
              down = true
            }),
            Console.error(`eddy tail: Redis is unreachable (${error.message}); still trying`),
          )
    const backUp = Effect.suspend(() => {
      if (!down) return Effect.void
      down = false
      return Console.error("eddy tail: reading again")
    })
    return yield* NodeReads.followThroughOutages(
      redis,
      {
        keys: streams,
        read: (c, keys, blockMs) =>
          c.call(
            "xread",
            "COUNT",
            500,
            ...(blockMs === undefined ? [] : ["BLOCK", blockMs]),
            "STREAMS",
            ...keys,
            ...keys.map((key) => positions[at.get(key) ?? -1] ?? "$"),
          ),
        onReply: (reply) =>
          Effect.zipRight(
            backUp,
            Effect.forEach(reply ?? [], ([stream, entries]) =>
              Effect.forEach(entries, ([id, fields]) => {
                positions[at.get(stream) ?? -1] = id
                const event = JobEvent.fromEntry(id, fields)
                return Option.isSome(event) && keep(event.value)
                  ? Console.log(options.json ? JSON.stringify(event.value) : EventFormat.line(event.value))
                  : Effect.void
              }),
            ),
          ),
        blockFor: "2 seconds",
        channel: "tail",
        rotation: NodeReads.rotation(),
      },
      onFailure,
    )
  })

export const tail: Cli<"tail"> = Command.make(
  "tail",
  {
    actor: Options.text("actor").pipe(Options.withDescription("only this actor's events"), Options.optional),
    job: Options.text("job").pipe(Options.withDescription("only this job's events"), Options.optional),
    since: Options.text("since").pipe(
      Options.withDescription("start at a time (ISO 8601 or ms since the epoch) or an event id; default: now"),
      Options.optional,
    ),
    json,
  },
  (options) =>
    Effect.gen(function* () {
      const start = Option.isSome(options.since) ? parseSince(options.since.value) : Option.some("$")
      if (Option.isNone(start))
        return yield* new CliFailure({
          message: `--since ${Option.getOrElse(options.since, () => "")}: not a time or event id`,
        })
      return yield* follow(start.value, options).pipe(Effect.provide(Connection.layer))
    }),
).pipe(Command.withDescription("Follow the event log live, one line per event (Ctrl-C stops)"))
