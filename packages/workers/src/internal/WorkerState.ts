/**
 * What one worker process is: its handlers, the inboxes it reads, its slots (see `Slots`, the
 * one owner of what runs and what waits), the batched Redis calls its jobs share, and the
 * runtime its job fibers run on. Every part of the runtime — reader, job runner, heartbeat,
 * reclaimer, shutdown — works on this one state.
 */
import type { Actor, Deliveries, RedisClient, ScriptOutcome, Settings } from "@eddy/core"
import { StreamKeys } from "@eddy/core"
import { Effect, Queue, Runtime, RuntimeFlags, type Scope } from "effect"
import type * as Handler from "../Handler.js"
import type * as Batcher from "./Batcher.js"
import * as Slots from "./Slots.js"
import * as Turns from "./Turns.js"

/** One inbox this worker reads. */
export interface Inbox {
  readonly partition: number
  readonly actor: string
  readonly lane: Actor.Lane
  readonly key: string
}

type Refusal = ScriptOutcome.Refusal
type RedisError = RedisClient.RedisError

/** The batched calls job fibers share (see `Batcher`): one Redis call per inbox for jobs that start or end together. */
export interface Batches {
  readonly start: Batcher.Batcher<Deliveries.Delivery, Deliveries.Started, Refusal | RedisError>
  readonly complete: Batcher.Batcher<Completion, void, Refusal | RedisError>
}

/** A success to record. */
export interface Completion {
  /** The job it records (its slots entry: no lookup by key when the answer comes). */
  readonly job: Slots.Job
  readonly delivery: Deliveries.Delivery
  readonly output: string
}

/** Most deliveries one batched start or completion carries. */
export const maxBatch = 500

export interface WorkerState {
  readonly consumer: string
  readonly concurrency: number
  readonly handlers: ReadonlyMap<string, Handler.Any>
  /** High lanes first: the order in which inboxes are read and served. */
  readonly inboxes: ReadonlyArray<Inbox>
  readonly inboxByKey: ReadonlyMap<string, Inbox>
  readonly slots: Slots.Slots
  /** Starts and completions of all jobs, batched per inbox. */
  readonly batches: Batches
  /** What job fibers run on: the worker's services, logger and annotations. */
  readonly runtime: Runtime.Runtime<RedisClient.RedisClient | Settings.Settings>
  /** Least time between two progress events of a job. */
  readonly progressThrottleMs: number
  /**
   * The last blocking read drained the inboxes (it brought less than it asked for): skip the claim
   * before the next one. An idle worker makes no calls but its reads, and one fed a job at a time
   * starts each as soon as it is read.
   */
  quiet: boolean
  /**
   * Which claim target goes first in the next round: when there are more targets (actors ×
   * partitions) than free slots, the slots go round in turn instead of always to the first.
   */
  claimTurn: number
  /** Claims (and rate-limited reads) on the wire: each holds its room reserved in the slots. */
  claimsInFlight: number
  /** Claimed batches waiting for a turn of the event loop of their own (see `Turns`). */
  readonly turns: Turns.Turns
  /** A claim that failed since the reader last looked: the reader fails with it (and backs off). */
  claimFailure: RedisClient.RedisError | undefined
  /**
   * Actors this worker knows are paused (`eddy pause`): their inboxes are not read and their
   * held deliveries wait unstarted until the actor is resumed. Kept by `Maintenance.pauses`.
   */
  readonly paused: Set<string>
  /** Offered when this worker schedules a retry, so the promoter looks again at once. */
  readonly promoteSoon: Queue.Queue<void>
  stopping: boolean
}

/** Builds the state for a set of handlers over a key space. */
export const make = (options: {
  readonly consumer: string
  readonly concurrency: number
  readonly handlers: ReadonlyArray<Handler.Any>
  readonly keyspace: StreamKeys.Keyspace
  /** Makes the batched calls, which may use the state (once made) when they run. */
  readonly batches: (
    state: WorkerState,
  ) => Effect.Effect<Batches, never, Scope.Scope | RedisClient.RedisClient | Settings.Settings>
  readonly progressThrottleMs: number
}): Effect.Effect<WorkerState, never, RedisClient.RedisClient | Settings.Settings | Scope.Scope> =>
  Effect.gen(function* () {
    const inboxes: Array<Inbox> = []
    for (const lane of StreamKeys.lanes)
      for (const partition of options.keyspace.all)
        for (const handler of options.handlers) {
          const actor = handler.contract.name
          inboxes.push({ partition: partition.index, actor, lane, key: partition.inbox(actor, lane) })
        }
    const slots = yield* Slots.make(
      options.concurrency,
      new Map(options.handlers.map((handler) => [handler.contract.name, handler.concurrency])),
    )
    const state: Omit<WorkerState, "batches"> = {
      consumer: options.consumer,
      concurrency: options.concurrency,
      handlers: new Map(options.handlers.map((handler) => [handler.contract.name, handler])),
      inboxes,
      inboxByKey: new Map(inboxes.map((inbox) => [inbox.key, inbox])),
      slots,
      // Without Effect's per-fiber metrics (effect_fiber_*): five metric updates per fiber were
      // ~0.25 µs of each job's ~1 µs fork (docs/benchmarks.md, session 13).
      runtime: Runtime.disableRuntimeFlag(
        yield* Effect.runtime<RedisClient.RedisClient | Settings.Settings>(),
        RuntimeFlags.RuntimeMetrics,
      ),
      progressThrottleMs: options.progressThrottleMs,
      quiet: false,
      claimTurn: 0,
      claimsInFlight: 0,
      turns: Turns.make(),
      claimFailure: undefined,
      paused: new Set(),
      promoteSoon: yield* Queue.sliding<void>(1),
      stopping: false,
    }
    // The batchers only use the state when they run, by which time it is whole.
    return Object.assign(state, { batches: yield* options.batches(state as WorkerState) })
  })
