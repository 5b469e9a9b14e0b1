/**
 * eddy as the benchmark drives it: one runtime per process over the benchmark's Redis, holding
 * the producer and, when asked, a worker — the way `examples/src/main.ts`
 * wires a whole system into one process, so the process keeps its one command connection.
 */
import { Actor, type EddyConfig, Logging, Producer, RedisClient, Settings } from "@eddy/core"
import { type Handler, Worker, WorkerMetrics } from "@eddy/workers"
import { type Duration, Effect, Exit, Layer, LogLevel, ManagedRuntime, Metric, Redacted, Schema, Scope } from "effect"
import { now, type Output, type Payload } from "./workload.js"

/** Services a benchmark step may use. */
export type Services = Producer.Producer | RedisClient.RedisClient | Settings.Settings

/** An open eddy runtime. */
export interface Eddy {
  readonly run: <A, E>(effect: Effect.Effect<A, E, Services>) => Promise<A>
  /** Starts a worker inside this runtime (sharing its connections); `stop` shuts it down gracefully. */
  readonly startWorker: (options: Worker.Options) => Promise<{ readonly stop: () => Promise<void> }>
  readonly close: () => Promise<void>
}

/** The shared payload and output as Schemas: eddy's contracts are typed and checked. */
const PayloadSchema: Schema.Schema<Payload> = Schema.Struct({
  n: Schema.Number,
  sentAt: Schema.Number,
  body: Schema.String,
})
const OutputSchema: Schema.Schema<Output> = Schema.Struct({ startedAt: Schema.Number })

/** A benchmark actor: the shared payload and output, concurrency 50 like the BullMQ worker. */
export const contract = (name: string, lease: Duration.DurationInput = "30 seconds") =>
  Actor.define(name, { input: PayloadSchema, output: OutputSchema, policy: { concurrency: 50, lease } })

export type Contract = ReturnType<typeof contract>

/** The no-op handler: answers when it started, and `onStart` lets a scenario note pick-ups. */
export const noop = (actor: Contract, onStart: () => void = () => {}) =>
  Worker.handle(actor, () =>
    Effect.sync(() => {
      onStart()
      return { startedAt: now() }
    }),
  )

/** A handler that asks `gate` before it returns (the stall scenario holds the first pick-up forever). */
export const gated = (actor: Contract, gate: (jobId: string) => Promise<void>): Handler.Any =>
  Worker.handleAsync(actor, async (_input, context) => {
    const startedAt = now()
    await gate(context.jobId)
    return { startedAt }
  })

// Warnings and errors only, on stderr: the benchmark's stdout carries its report.
const logging = Logging.layer({ level: LogLevel.Warning, pretty: false })

/** Where the scale scenario points eddy instead of one server: a cluster, and the partitions to spread over. */
export interface Topology {
  readonly cluster: EddyConfig.ClusterTarget
  readonly partitions: number
}

/**
 * Opens a runtime over `url`, or over `topology`'s cluster (the status projection is kept inline
 * by the scripts).
 */
export const open = async (url: string, topology?: Topology): Promise<Eddy> => {
  const base = Layer.merge(
    RedisClient.layer(topology === undefined ? { url: Redacted.make(url) } : { cluster: topology.cluster }),
    Settings.layer({ prefix: "eddy", ...(topology === undefined ? {} : { partitions: topology.partitions }) }),
  )
  const services = Producer.layer
  const runtime = ManagedRuntime.make(services.pipe(Layer.provideMerge(base), Layer.provideMerge(logging)))
  await runtime.runtime()
  const run = <A, E>(effect: Effect.Effect<A, E, Services>) => runtime.runPromise(effect)
  // Connected before anything is timed, as BullMQ's `waitUntilReady` makes sure of on its side.
  await run(Effect.flatMap(RedisClient.RedisClient, (redis) => redis.health))
  return {
    run,
    startWorker: async (workerOptions) => {
      const scope = await run(Scope.make())
      await run(Worker.make(workerOptions).pipe(Scope.extend(scope)))
      return { stop: () => run(Scope.close(scope, Exit.void)) }
    },
    close: () => runtime.dispose(),
  }
}

/** Submits the payloads with `submitMany`; answers the job ids. */
export const submitMany = (eddy: Eddy, actor: Contract, inputs: ReadonlyArray<Payload>) =>
  eddy.run(
    Effect.flatMap(Producer.Producer, (producer) =>
      producer.submitMany(
        actor,
        inputs.map((input) => ({ input })),
      ),
    ),
  )

/** Submits one job; answers its id. */
export const submit = (eddy: Eddy, actor: Contract, input: Payload) =>
  eddy.run(Effect.flatMap(Producer.Producer, (producer) => producer.submit(actor, input))).then((s) => s.jobId)

/** Waits for a job's result, as the producer sees it (the shared event tailer). */
export const result = (eddy: Eddy, actor: Contract, jobId: string, timeoutMs = 60_000) =>
  eddy.run(Effect.flatMap(Producer.Producer, (producer) => producer.resultOf(actor, jobId, { timeout: timeoutMs })))

/** Jobs of `actor` this process's workers have completed (the metric counts applied completions). */
export const succeeded = (actor: Contract): number =>
  Effect.runSync(Metric.value(WorkerMetrics.forActor(WorkerMetrics.succeeded, actor.name))).count
