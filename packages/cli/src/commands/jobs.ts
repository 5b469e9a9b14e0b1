/** `eddy submit`, `eddy status`, `eddy cancel`, `eddy jobs`. */
import { readFileSync } from "node:fs"
import { DurableSubmit, JobStatus, JobStore, Producer, ReadModel } from "@eddy/core"
import { Args, Command, Options } from "@effect/cli"
import { Duration, Effect, Option } from "effect"
import * as Connection from "../Connection.js"
import * as Modules from "../Modules.js"
import { type Cli, CliFailure, duration, json, show, time } from "../Output.js"

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** The input: JSON text, or `@path` to a file holding it. An unreadable file is not "invalid JSON". */
const readInput = (text: string) => {
  const path = text.startsWith("@") ? text.slice(1) : undefined
  return Effect.try({
    try: () => (path === undefined ? text : readFileSync(path, "utf8")),
    catch: (error) => new CliFailure({ message: `cannot read the input file ${path}: ${reason(error)}` }),
  }).pipe(
    Effect.flatMap((json) =>
      Effect.try({
        try: () => JSON.parse(json) as unknown,
        catch: (error) =>
          new CliFailure({
            message: `the input is not valid JSON${path === undefined ? "" : ` (${path})`}: ${reason(error)}`,
          }),
      }),
    ),
  )
}

const contractsOption = Options.file("contracts").pipe(
  Options.withDescription("module exporting the contracts (default: EDDY_CONTRACTS, else the example actors)"),
  Options.optional,
)

const loadContracts = (path: Option.Option<string>) =>
  Option.orElse(path, () => Option.fromNullable(process.env.EDDY_CONTRACTS)).pipe(
    Option.match({
      onSome: Modules.contracts,
      onNone: () => Effect.promise(() => import("@eddy/examples/contracts").then((m) => m.all)),
    }),
  )

/** The status document as a few readable lines. */
export const describeStatus = (s: JobStatus.JobStatus): string =>
  [
    `job ${s.jobId}`,
    `  actor     ${s.actor} (lane ${s.lane})`,
    `  state     ${s.state}${s.cancelRequested ? " (cancel requested)" : ""}`,
    `  attempt   ${s.attempt} of ${s.maxAttempts}`,
    `  progress  ${Math.round(s.progress * 100)}%`,
    `  submitted ${time(s.submittedAt)}`,
    ...(s.startedAt === undefined ? [] : [`  started   ${time(s.startedAt)}${s.worker ? ` on ${s.worker}` : ""}`]),
    ...(s.finishedAt === undefined
      ? []
      : [`  finished  ${time(s.finishedAt)} (${duration(s.finishedAt - s.submittedAt)} after submission)`]),
    ...(s.dueAt === undefined ? [] : [`  due       ${time(s.dueAt)}`]),
    ...(s.correlationId === undefined ? [] : [`  corr. id  ${s.correlationId}`]),
    ...(s.causationId === undefined ? [] : [`  caused by ${s.causationId}`]),
    ...(s.error === undefined ? [] : [`  error     ${s.error.tag}: ${s.error.message}`]),
    ...(s.output === undefined ? [] : [`  output    ${JSON.stringify(s.output)}`]),
  ].join("\n")

export const submit: Cli<"submit"> = Command.make(
  "submit",
  {
    actor: Args.text({ name: "actor" }).pipe(Args.withDescription("the actor's name (see --contracts)")),
    input: Args.text({ name: "json | @file" }).pipe(Args.withDescription("the input as JSON, or @path to a JSON file")),
    wait: Options.boolean("wait").pipe(Options.withDescription("wait for the result and print it")),
    timeout: Options.integer("timeout").pipe(
      Options.withDescription("seconds to wait with --wait (default 60)"),
      Options.withDefault(60),
    ),
    lane: Options.choice("lane", ["high", "normal", "low"]).pipe(
      Options.withDescription("the lane to queue in (default normal)"),
      Options.optional,
    ),
    idempotencyKey: Options.text("idempotency-key").pipe(
      Options.withDescription("a key that makes resubmitting the same job a no-op (reports the existing job)"),
      Options.optional,
    ),
    contracts: contractsOption,
    json,
  },
  (args) =>
    Effect.gen(function* () {
      const contracts = yield* loadContracts(args.contracts)
      const contract = contracts.find((c) => c.name === args.actor)
      if (contract === undefined)
        return yield* new CliFailure({
          message: `unknown actor ${args.actor}; known: ${contracts.map((c) => c.name).join(", ") || "none"}`,
        })
      const input = yield* readInput(args.input)
      const request = yield* Producer.prepareUnknown(contract, input, {
        ...Option.match(args.lane, { onNone: () => ({}), onSome: (lane) => ({ lane }) }),
        ...Option.match(args.idempotencyKey, { onNone: () => ({}), onSome: (idempotencyKey) => ({ idempotencyKey }) }),
      })
      const submitted = yield* DurableSubmit.submit(request)
      if (!args.wait)
        return yield* show(
          submitted,
          args.json,
          () => `${submitted.jobId} ${submitted.duplicate ? `already exists (${submitted.state})` : submitted.state}`,
        )
      const producer = yield* Producer.Producer
      const output = yield* producer.result(submitted.jobId, { timeout: Duration.seconds(args.timeout) })
      return yield* show(
        { jobId: submitted.jobId, output },
        args.json,
        () => `${submitted.jobId} succeeded: ${JSON.stringify(output)}`,
      )
    }).pipe(Effect.provide(Connection.producerLayer)),
).pipe(Command.withDescription("Submit a job (validated with the actor's contract); --wait prints its result"))

export const status: Cli<"status"> = Command.make(
  "status",
  { jobId: Args.text({ name: "jobId" }).pipe(Args.withDescription("the job to show")), json },
  ({ jobId, json: asJson }) =>
    JobStore.status(jobId).pipe(
      Effect.flatMap((s) => show(s, asJson, () => describeStatus(s))),
      Effect.provide(Connection.layer),
    ),
).pipe(Command.withDescription("Show a job's status"))

export const cancel: Cli<"cancel"> = Command.make(
  "cancel",
  { jobId: Args.text({ name: "jobId" }).pipe(Args.withDescription("the job to cancel")), json },
  ({ jobId, json: asJson }) =>
    JobStore.cancel(jobId).pipe(
      Effect.flatMap((outcome) =>
        show({ jobId, status: outcome }, asJson, () =>
          outcome === "cancelled"
            ? `${jobId} cancelled`
            : `${jobId} is running: cancel requested, its worker will stop it`,
        ),
      ),
      Effect.provide(Connection.layer),
    ),
).pipe(Command.withDescription("Cancel a job (queued or delayed at once; running: its worker stops it)"))

/** One job of a list as a line: id, attempt, when it entered the state, and what is notable. */
const listLine = (s: JobStatus.JobStatus): string =>
  [
    s.jobId,
    `attempt ${s.attempt}/${s.maxAttempts}`,
    `submitted ${time(s.submittedAt)}`,
    ...(s.finishedAt === undefined ? [] : [`finished ${time(s.finishedAt)}`]),
    ...(s.worker === undefined || JobStatus.isFinished(s.state) ? [] : [`on ${s.worker}`]),
    ...(s.error === undefined ? [] : [`${s.error.tag}: ${s.error.message}`]),
  ].join("  ")

export const jobs: Cli<"jobs"> = Command.make(
  "jobs",
  {
    actor: Args.text({ name: "actor" }).pipe(Args.withDescription("the actor whose jobs to list")),
    state: Options.choice("state", JobStatus.State.literals).pipe(
      Options.withDescription(
        "the state to list (queued, delayed, active, retrying, succeeded, deadLettered, cancelled)",
      ),
    ),
    limit: Options.integer("limit").pipe(
      Options.withDescription(
        `jobs per page, 1..${ReadModel.listLimits.max} (default ${ReadModel.listLimits.default})`,
      ),
      Options.withDefault(ReadModel.listLimits.default),
    ),
    cursor: Options.text("cursor").pipe(
      Options.withDescription("the next page: the cursor a previous page printed"),
      Options.optional,
    ),
    json,
  },
  (args) =>
    ReadModel.listJobs(args.actor, args.state, {
      limit: args.limit,
      cursor: Option.getOrUndefined(args.cursor),
    }).pipe(
      Effect.flatMap((page) =>
        show(page, args.json, () =>
          [
            ...(page.jobs.length === 0 ? [`no ${args.state} jobs of ${args.actor}`] : page.jobs.map(listLine)),
            ...(page.nextCursor === undefined ? [] : [`more: --cursor ${page.nextCursor}`]),
          ].join("\n"),
        ),
      ),
      Effect.catchTag("InvalidListRequest", (error) => new CliFailure({ message: error.message })),
      Effect.provide(Connection.layer),
    ),
).pipe(Command.withDescription("List an actor's jobs in one state, newest first, a page at a time"))
