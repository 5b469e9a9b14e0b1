/**
 * `eddy replay <jobId>`: a job's timeline from the log.
 * `eddy replay --actor A --since T [--until T] [--state …] --handlers M [--resubmit]`: re-run
 * recorded inputs through new handler code locally and compare with what was recorded.
 */

import { DurableSubmit, JobEvent, JobStore, Producer } from "@eddy/core"
import type { Handler } from "@eddy/workers"
import { Args, Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import * as Connection from "../Connection.js"
import * as Modules from "../Modules.js"
import { type Cli, CliFailure, json, show, UsageFailure } from "../Output.js"
import * as Replay from "../Replay.js"
import * as Timeline from "../Timeline.js"
import { parseSince } from "./tail.js"

const timeOf = (label: string, text: string) => {
  const id = parseSince(text)
  return Option.isSome(id)
    ? Effect.succeed(JobEvent.timeOf(id.value))
    : Effect.fail(new CliFailure({ message: `${label} ${text}: not a time` }))
}

const rerunAll = (options: {
  readonly actor: string
  readonly since: string
  readonly until: Option.Option<string>
  readonly state: string
  readonly handlers: string
  readonly resubmit: boolean
  readonly json: boolean
}) =>
  Effect.gen(function* () {
    // The module and the times are checked before connecting.
    const handlers = yield* Modules.handlers(options.handlers)
    const handler = handlers.find((h) => h.contract.name === options.actor)
    if (handler === undefined)
      return yield* new CliFailure({ message: `${options.handlers} has no handler for ${options.actor}` })
    const since = yield* timeOf("--since", options.since)
    const until = Option.isSome(options.until) ? yield* timeOf("--until", options.until.value) : Date.now()
    return yield* compare(handler, since, until, options).pipe(Effect.provide(Connection.layer))
  })

const compare = (
  handler: Handler.Any,
  since: number,
  until: number,
  options: { readonly actor: string; readonly state: string; readonly resubmit: boolean; readonly json: boolean },
) =>
  Effect.gen(function* () {
    const all = yield* Replay.recorded(options.actor, since, until)
    const chosen = all.filter(
      (job) =>
        options.state === "any" ||
        (options.state === "failed" && job.outcome.kind === "failed") ||
        (options.state === "succeeded" && job.outcome.kind === "succeeded"),
    )
    const results = yield* Effect.forEach(
      chosen,
      (job) => Replay.rerun(handler, job, handler.contract.policy.timeout),
      {
        concurrency: 4,
      },
    )
    const resubmitted = options.resubmit
      ? yield* Effect.forEach(chosen, (job) =>
          Producer.prepareUnknown(handler.contract, job.input, {
            causationId: job.jobId,
            correlationId: `replayOf:${job.jobId}`,
          }).pipe(
            Effect.flatMap(DurableSubmit.submit),
            Effect.map((submitted) => ({ replayOf: job.jobId, jobId: submitted.jobId })),
          ),
        )
      : []
    const totals: Record<string, number> = {}
    for (const result of results) totals[result.verdict] = (totals[result.verdict] ?? 0) + 1
    return yield* show({ results, totals, resubmitted }, options.json, () =>
      [
        ...results.flatMap((r) => [
          `${r.jobId}  ${r.verdict}${r.error === undefined ? "" : `: ${r.error}`}${r.attempts > 1 ? ` (after ${r.attempts} attempts)` : ""}`,
          ...(r.diff ?? []).map((line) => `    ${line}`),
          ...(r.sent ?? []).map((s) => `    would send ${s.actor} ${JSON.stringify(s.input)}`),
        ]),
        ...resubmitted.map((r) => `resubmitted ${r.replayOf} as ${r.jobId} (replayOf ${r.replayOf})`),
        `${results.length} job(s) replayed: ${
          Object.entries(totals)
            .map(([verdict, n]) => `${n} ${verdict}`)
            .join(", ") || "none"
        }; nothing was written to the live streams${options.resubmit ? " except the resubmissions" : ""}`,
      ].join("\n"),
    )
  })

export const replay: Cli<"replay"> = Command.make(
  "replay",
  {
    jobId: Args.text({ name: "jobId" }).pipe(Args.withDescription("show this job's timeline"), Args.optional),
    actor: Options.text("actor").pipe(Options.withDescription("re-run this actor's recorded inputs"), Options.optional),
    since: Options.text("since").pipe(
      Options.withDescription("recorded from (time or ms since the epoch)"),
      Options.optional,
    ),
    until: Options.text("until").pipe(Options.withDescription("recorded until (default: now)"), Options.optional),
    state: Options.choice("state", ["failed", "succeeded", "any"]).pipe(
      Options.withDescription("only jobs that ended so (failed: dead-lettered; default any)"),
      Options.withDefault("any"),
    ),
    handlers: Options.file("handlers").pipe(
      Options.withDescription("module exporting the new handlers"),
      Options.optional,
    ),
    resubmit: Options.boolean("resubmit").pipe(
      Options.withDescription("also submit the inputs as new jobs marked replayOf"),
    ),
    json,
  },
  (options) =>
    Effect.gen(function* () {
      if (Option.isSome(options.jobId))
        return yield* JobStore.history(options.jobId.value).pipe(
          Effect.flatMap((events) => show(events, options.json, () => Timeline.lines(events).join("\n"))),
          Effect.provide(Connection.layer),
        )
      if (Option.isNone(options.actor) || Option.isNone(options.since) || Option.isNone(options.handlers))
        return yield* new UsageFailure({
          message: "give a jobId, or --actor, --since and --handlers to re-run recorded inputs",
        })
      return yield* rerunAll({
        actor: options.actor.value,
        since: options.since.value,
        until: options.until,
        state: options.state,
        handlers: options.handlers.value,
        resubmit: options.resubmit,
        json: options.json,
      })
    }),
).pipe(Command.withDescription("A job's timeline, or re-run recorded inputs through new handler code and compare"))
