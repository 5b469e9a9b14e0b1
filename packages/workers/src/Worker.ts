/**
 * The worker runtime: hosts handlers for any number of actors in one process over two Redis
 * connections. It reads with one blocking XREADGROUP, runs each job under its contract's timeout
 * with a heartbeat renewing its lease, reclaims stalled work, promotes due retries, enforces rate
 * limits in Redis, and shuts down gracefully: stop reading, let running jobs finish within the
 * grace, then interrupt and release the rest straight back to their inboxes.
 *
 * ```ts
 * const echo = Worker.handle(Echo, (input) => Effect.succeed(input))
 * Worker.runMain({ handlers: [echo] })
 * ```
 */
import { randomUUID } from "node:crypto"
import { hostname } from "node:os"
import {
  Deliveries,
  Logging,
  PartitionGuard,
  RedisClient,
  Settings,
  StartupWait,
  StopSignals,
  WorkerPresence,
} from "@eddy/core"
// The subpath, not the package index: the index loads every platform module (HTTP, cluster, …)
// and would add a second or more to every worker start.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Config, type ConfigError, Context, Deferred, Duration, Effect, Fiber, Layer, Option, type Scope } from "effect"
import type * as Handler from "./Handler.js"
import * as Claims from "./internal/Claims.js"
import * as JobRunner from "./internal/JobRunner.js"
import * as Maintenance from "./internal/Maintenance.js"
import * as Reader from "./internal/Reader.js"
import * as Slots from "./internal/Slots.js"
import * as WorkerState from "./internal/WorkerState.js"

export { handle, handleAsync, NonRetryable } from "./Handler.js"

/** How a worker runs. Only `handlers` is required. */
export interface Options {
  readonly handlers: ReadonlyArray<Handler.Any>
  /** Most jobs this process runs at once, all actors together. Default 50. */
  readonly concurrency?: number
  /** How long running jobs may take to finish at shutdown before they are released. Default 30 s. */
  readonly shutdownGrace?: Duration.DurationInput
  /** How long one read blocks; also how fast a stop is noticed. Default 1 s. */
  readonly blockFor?: Duration.DurationInput
  /** Least time between two progress events of a job. Default 250 ms. */
  readonly progressThrottle?: Duration.DurationInput
  /** The consumer name; unique per process. Default `<host>-<pid>-<random>`. */
  readonly consumer?: string
  /** When this completes during shutdown, running jobs are released at once (a second signal). */
  readonly releaseNow?: Deferred.Deferred<void>
  /** How long to wait at start for Redis to be reachable. Default: as long as it takes. */
  readonly startupTimeout?: Duration.DurationInput
}

/** A running worker, for tests and status displays. */
export interface WorkerService {
  readonly id: string
  readonly actors: ReadonlyArray<string>
  /** Jobs running or held right now. */
  readonly held: Effect.Effect<number>
}

export class Worker extends Context.Tag("@eddy/workers/Worker")<Worker, WorkerService>() {}

/** Starts a worker in the current scope; closing the scope shuts it down gracefully. */
export const make = (
  options: Options,
): Effect.Effect<
  WorkerService,
  RedisClient.RedisError | PartitionGuard.PartitionCountMismatch,
  RedisClient.RedisClient | Settings.Settings | Scope.Scope
> =>
  Effect.gen(function* () {
    if (options.handlers.length === 0) return yield* Effect.dieMessage("a worker needs at least one handler")
    const names = options.handlers.map((handler) => handler.contract.name)
    const duplicate = names.find((name, i) => names.indexOf(name) !== i)
    if (duplicate !== undefined) return yield* Effect.dieMessage(`two handlers for actor ${duplicate}`)

    // Started while Redis is down, full or loading: wait for it rather than exit (StartupWait).
    yield* StartupWait.untilReachable(Option.map(Option.fromNullable(options.startupTimeout), Duration.decode))
    // Before anything is written: a worker with another partition count would read other inboxes
    // than the producers write to (PartitionGuard).
    yield* PartitionGuard.ensure
    const { keyspace } = yield* Settings.Settings
    const redis = yield* RedisClient.RedisClient
    const consumer = options.consumer ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`
    const blockFor = Duration.decode(options.blockFor ?? "1 second")
    const grace = Duration.decode(options.shutdownGrace ?? "30 seconds")
    // The batchers are made with the state, before any job: a scope closes in reverse, so they
    // outlive every job.
    const state = yield* WorkerState.make({
      consumer,
      concurrency: options.concurrency ?? 50,
      handlers: options.handlers,
      keyspace,
      batches: Claims.makeBatches,
      progressThrottleMs: Duration.toMillis(Duration.decode(options.progressThrottle ?? "250 millis")),
    })
    yield* Reader.ensureGroups(state)
    yield* Maintenance.refreshPauses(state)
    const startedAt = Date.now()

    const reader = yield* Effect.forkScoped(Reader.loop(state, blockFor))
    const heartbeat = yield* Effect.forkScoped(Maintenance.heartbeat(state, startedAt))
    yield* Effect.forkScoped(Maintenance.watchdog(state))
    yield* Effect.forkScoped(Maintenance.reclaimer(state))
    yield* Effect.forkScoped(Maintenance.promoter(state))
    yield* Effect.forkScoped(Maintenance.pauses(state))
    yield* Effect.forkScoped(Maintenance.expirer(state))
    yield* Effect.logInfo(
      `worker ${consumer} serving ${names.join(", ")} (concurrency ${state.concurrency}, ${keyspace.partitions} partition(s))`,
    )

    // Added after the fibers above, so it runs before they are interrupted: the heartbeat keeps
    // renewing leases while running jobs finish.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        // The grace counts from the stop, the reader's last read included, so a stop never
        // takes the grace plus a read's block time.
        const graceEnds = Date.now() + Duration.toMillis(grace)
        const graceLeft = () => Duration.millis(Math.max(0, graceEnds - Date.now()))
        state.stopping = true
        state.slots.wake.notify()
        // A blocking read in progress answers at once instead of at the end of its block time.
        yield* redis.unblock("read")
        // Interruptible: a finalizer runs uninterruptibly, and a timeout cannot cut an
        // uninterruptible wait short (it waited out the read's whole block time, or a reader
        // stuck retrying an unreachable Redis, and the stop with it).
        yield* Effect.interruptible(Fiber.await(reader)).pipe(
          Effect.timeout(Duration.min(Duration.sum(Duration.sum(blockFor, redis.timeout), "1 second"), graceLeft())),
          Effect.ignore,
        )
        yield* Effect.forEach(
          Slots.takeBuffer(state.slots),
          (delivery) => Deliveries.release(delivery, consumer).pipe(Effect.ignore),
          { concurrency: "unbounded", discard: true },
        )
        // Jobs not started yet (waiting for a rate-limit permit) go back at once, not after the grace.
        for (const job of Slots.jobs(state.slots)) if (!job.started) yield* JobRunner.stop(job, "shutdown")
        if (Slots.inFlightCount(state.slots) > 0) {
          yield* Effect.logInfo(
            `stopping: waiting up to ${Duration.format(grace)} for ${Slots.inFlightCount(state.slots)} running job(s)`,
          )
          yield* Effect.raceAll([
            Slots.awaitEmpty(state.slots),
            Effect.sleep(graceLeft()),
            options.releaseNow ? Deferred.await(options.releaseNow) : Effect.never,
          ])
        }
        if (Slots.inFlightCount(state.slots) > 0) {
          yield* Effect.logInfo(
            `stopping: releasing ${Slots.inFlightCount(state.slots)} running job(s) back to their inboxes`,
          )
          for (const job of Slots.jobs(state.slots)) yield* JobRunner.stop(job, "shutdown")
          yield* Slots.awaitEmpty(state.slots).pipe(Effect.timeout("10 seconds"), Effect.ignore)
        }
        // The heartbeat would publish the presence again after its removal.
        yield* Fiber.interrupt(heartbeat)
        yield* Maintenance.retire(state)
        yield* WorkerPresence.remove(consumer).pipe(Effect.ignore)
        yield* Effect.logInfo(`worker ${consumer} stopped`)
      }),
    )

    return {
      id: consumer,
      actors: names,
      held: Effect.sync(() => Slots.inFlightCount(state.slots) + Slots.buffered(state.slots)),
    } satisfies WorkerService
  }).pipe(Effect.annotateLogs({ component: "worker" }))

/** The worker as a layer over the process's Redis and settings. */
export const layer = (
  options: Options,
): Layer.Layer<
  Worker,
  RedisClient.RedisError | PartitionGuard.PartitionCountMismatch,
  RedisClient.RedisClient | Settings.Settings
> => Layer.scoped(Worker, make(options))

/** Options from `EDDY_WORKER_CONCURRENCY`, `EDDY_SHUTDOWN_GRACE` and `EDDY_STARTUP_TIMEOUT`, unless given. */
export const optionsFromConfig = (options: Options): Effect.Effect<Options, ConfigError.ConfigError> =>
  Effect.gen(function* () {
    const concurrency = yield* Config.integer("EDDY_WORKER_CONCURRENCY").pipe(Config.withDefault(50))
    const shutdownGrace = yield* Config.duration("EDDY_SHUTDOWN_GRACE").pipe(Config.withDefault(Duration.seconds(30)))
    const startupTimeout = yield* StartupWait.startupTimeout
    return {
      concurrency,
      shutdownGrace,
      ...Option.match(startupTimeout, { onNone: () => ({}), onSome: (timeout) => ({ startupTimeout: timeout }) }),
      ...options,
    }
  })

/**
 * Completes on a second SIGINT/SIGTERM, one that comes at least a second after the first: pass
 * it as `releaseNow`, so that a second signal during shutdown releases running jobs at once.
 * (The first signal is the runtime's: it starts the graceful shutdown. Copies of it within the
 * second, as a terminal's Ctrl-C and npm's forwarding make, are the same request.)
 */
export const releaseOnSecondSignal: Effect.Effect<Deferred.Deferred<void>> = StopSignals.second()

/**
 * Runs a worker process until SIGTERM or SIGINT: the first signal shuts down gracefully (exit
 * 0), a second releases running jobs at once. Redis and settings come from `EDDY_*` variables.
 */
export const runMain = (options: Options): void => {
  releaseOnSecondSignal.pipe(
    Effect.flatMap((releaseNow) => optionsFromConfig({ releaseNow, ...options })),
    Effect.flatMap((configured) => Layer.launch(layer(configured))),
    Effect.provide(Layer.merge(RedisClient.layerConfig, Settings.layerConfig)),
    Effect.provide(Logging.layerConfig),
    NodeRuntime.runMain({ disablePrettyLogger: true }),
  )
}
