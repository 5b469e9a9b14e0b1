/**
 * The whole system in one process with the demo workload: what `npm start` and `eddy start`
 * run. The gateway on http://127.0.0.1:8080 (EDDY_HTTP_PORT), the projector, and a worker
 * hosting the example actors, over an embedded Redis unless `EDDY_REDIS_URL` (or `EDDY_REDIS_CLUSTER`) is set.
 */
import { EventTailer, JobStore, Logging, Producer, RedisClient, Settings } from "@eddy/core"
import { Auth, Gateway } from "@eddy/gateway"
import { Worker } from "@eddy/workers"
import { HttpServer } from "@effect/platform"
import { Config, Effect, Layer, LogLevel, Option, Redacted, Schedule } from "effect"
import * as Contracts from "./contracts.js"
import * as DemoKey from "./DemoKey.js"
import * as Display from "./Display.js"
import * as Handlers from "./handlers.js"
import * as Workload from "./workload.js"

const demoSize = Config.integer("EDDY_DEMO_JOBS").pipe(Config.withDefault(40))

const submitBatch = (base: string, batch: Workload.Batch, key: Option.Option<Redacted.Redacted<string>>) =>
  Effect.tryPromise(async () => {
    const response = await fetch(`${base}/v1/actors/${batch.actor}/jobs/batch`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...Option.match(key, { onNone: () => ({}), onSome: (k) => ({ authorization: `Bearer ${Redacted.value(k)}` }) }),
      },
      body: JSON.stringify({ jobs: batch.jobs }),
    })
    const body = (await response.json()) as { results: Array<{ jobId?: string }> }
    if (response.status !== 202) throw new Error(`batch for ${batch.actor} answered ${response.status}`)
    return { actor: batch.actor, jobIds: body.results.flatMap((r) => (r.jobId === undefined ? [] : [r.jobId])) }
  })

/** Submits the demo workload through the HTTP API, shows progress and the summary, then serves on. */
const demo = Effect.gen(function* () {
  const server = yield* HttpServer.HttpServer
  const address = server.address
  const base = address._tag === "TcpAddress" ? `http://127.0.0.1:${address.port}` : "http://127.0.0.1:8080"
  const size = yield* demoSize
  const access = yield* DemoKey.access
  process.stdout.write(`eddy is running: gateway ${base}, worker for ${Contracts.all.map((c) => c.name).join(", ")}\n`)
  if (access._tag === "noSubmitKey") {
    process.stdout.write(
      "No demo workload: none of the API keys (EDDY_API_KEYS) has the submit scope.\n\nServing until Ctrl-C.\n",
    )
    return yield* Effect.never
  }
  const key = access._tag === "key" ? Option.some(access.key) : Option.none()
  process.stdout.write(`Submitting the demo workload through ${base}/v1/actors/{actor}/jobs/batch …\n\n`)
  const submitted = yield* Effect.forEach(Workload.make(size), (batch) => submitBatch(base, batch, key))
  const render = Display.makeRenderer(process.stdout)
  const poll = Effect.forEach(submitted, ({ actor, jobIds }) =>
    Effect.forEach(jobIds, JobStore.status, { concurrency: "unbounded" }).pipe(
      Effect.map((statuses) => ({ actor, statuses })),
    ),
  )
  type Polled = Effect.Effect.Success<typeof poll>
  const allFinished = (all: Polled) => all.every(({ statuses }) => statuses.every((s) => s.finishedAt !== undefined))
  const finished = yield* poll.pipe(
    Effect.tap((all) => render(all.map(({ actor, statuses }) => Display.progressOf(actor, statuses)))),
    Effect.repeat(Schedule.spaced("200 millis").pipe(Schedule.passthrough, Schedule.untilInput(allFinished))),
    Effect.map((all) => all as Polled),
    Effect.timeout("3 minutes"),
  )
  const progress = finished.map(({ actor, statuses }) => Display.progressOf(actor, statuses))
  process.stdout.write(
    `${Display.summary(
      progress,
      finished.flatMap(({ statuses }) => statuses),
    )}\n`,
  )
  const sample = submitted[0]?.jobIds[0] ?? "JOB_ID"
  const dead = finished.flatMap(({ statuses }) => statuses).find((s) => s.state === "deadLettered")
  process.stdout.write(
    [
      "",
      access._tag === "key" ? "Try (API keys are on: add -H 'Authorization: Bearer <key>' to each curl):" : "Try:",
      `  dashboard       ${base}/ui/`,
      `  API docs        ${base}/docs`,
      `  actors          curl ${base}/v1/actors`,
      `  a job           curl ${base}/v1/jobs/${sample}`,
      `  its events      curl -N -H 'Accept: text/event-stream' ${base}/v1/jobs/${sample}/events`,
      `  submit          curl -X POST -H 'content-type: application/json' -d '{"input":{"documentId":"d1","text":"mail ada@example.org"}}' ${base}/v1/actors/extract-contacts/jobs`,
      `  dead letters    curl ${base}/v1/dead-letters${dead === undefined ? "" : `   (retry: curl -X POST ${base}/v1/dead-letters/${dead.jobId}/retry)`}`,
      `  metrics         curl ${base}/metrics`,
      "",
      "Serving until Ctrl-C.",
      "",
    ].join("\n"),
  )
  return yield* Effect.never
})

/** Redis (embedded unless EDDY_REDIS_URL or EDDY_REDIS_CLUSTER) and settings. */
const infrastructure = Layer.merge(RedisClient.layerConfig, Settings.layerConfig)

/** Gateway and a worker for the example actors, with the producer. */
const system = Layer.unwrapEffect(
  Effect.gen(function* () {
    const serverOptions = yield* Gateway.serverOptions
    // A second Ctrl-C or SIGTERM releases running jobs at once instead of waiting out the grace.
    const releaseNow = yield* Worker.releaseOnSecondSignal
    const workerOptions = yield* Worker.optionsFromConfig({ handlers: Handlers.all, releaseNow })
    return Layer.mergeAll(
      Gateway.layer(Contracts.all, serverOptions).pipe(Layer.provide(Auth.layerConfig)),
      Worker.layer(workerOptions),
    ).pipe(Layer.provideMerge(Layer.merge(Producer.layer, EventTailer.layer)))
  }),
)

// The demo draws on the terminal: keep logs to warnings unless EDDY_LOG_LEVEL says otherwise.
const logging = Layer.unwrapEffect(
  Effect.gen(function* () {
    const level = yield* Config.logLevel("EDDY_LOG_LEVEL").pipe(Config.withDefault(LogLevel.Warning))
    const pretty = yield* Config.boolean("EDDY_LOG_PRETTY").pipe(Config.withDefault(process.stderr.isTTY === true))
    return Logging.layer({ level, pretty })
  }),
)

/** The whole system with the demo, as `npm start` and `eddy start` run it. */
export const program: Effect.Effect<never, unknown> = demo.pipe(
  Effect.provide(system),
  Effect.provide(infrastructure),
  Effect.provide(logging),
)
