/**
 * One shared reader of the event logs per process: a single blocking XREAD over every
 * partition's log, routing each event to whoever waits on its job. However many callers wait
 * for results, the process holds one tailing connection and polls nothing. On a Redis Cluster,
 * one tailing connection per master node, each rotating over its node's logs (see `NodeReads`).
 *
 * Subscribing is race-free: the reader fixes its starting position before the first
 * subscription returns, and routes by job at read time, so an event appended after a caller
 * subscribed — even before the caller reads the job's status — always reaches it.
 */
import { Context, Duration, Effect, Layer, Option, Queue, Schedule, type Scope, SynchronizedRef } from "effect"
import * as JobEvent from "./JobEvent.js"
import * as NodeReads from "./NodeReads.js"
import { RedisClient, type RedisError } from "./RedisClient.js"
import { Settings } from "./Settings.js"

export interface EventTailerService {
  /** Live events of one job from now on, until the scope closes. */
  readonly subscribe: (jobId: string) => Effect.Effect<Queue.Dequeue<JobEvent.JobEvent>, RedisError, Scope.Scope>
  /**
   * Calls `onEvent` with each live event of one job from now on, until the returned function is
   * called (which the caller must do). A callback rather than a queue and a scope: a wait for one
   * result needs neither, and each was a share of what a wait left for the garbage collector.
   */
  readonly listen: (jobId: string, onEvent: (event: JobEvent.JobEvent) => void) => Effect.Effect<() => void, RedisError>
  /**
   * Calls `onEvent` with every live event of every job (the dashboard's and `eddy tail`'s
   * firehose) until the returned function is called. It rides on the same read, so a gateway
   * still holds one tailing connection.
   */
  readonly listenAll: (onEvent: (event: JobEvent.JobEvent) => void) => Effect.Effect<() => void, RedisError>
}

export class EventTailer extends Context.Tag("@eddy/core/EventTailer")<EventTailer, EventTailerService>() {}

/** How long one XREAD blocks on one server (on a cluster, a slice: see `NodeReads`). */
const blockFor = Duration.seconds(2)
/** Most entries one read returns. */
const batch = 1_000

/** The tailer; its reader starts on the first subscription and stops with the layer's scope. */
export const make = Effect.gen(function* () {
  const redis = yield* RedisClient
  const { keyspace } = yield* Settings
  const scope = yield* Effect.scope
  const streams = keyspace.all.map((partition) => partition.events)
  const waiters = new Map<string, Set<(event: JobEvent.JobEvent) => void>>()
  const everyEvent = new Set<(event: JobEvent.JobEvent) => void>()

  const indexOf = new Map(streams.map((stream, index) => [stream, index]))

  const route = (reply: NodeReads.StreamReply, positions: Array<string>) => {
    for (const [stream, entries] of reply ?? []) {
      const index = indexOf.get(stream) ?? -1
      for (const [id, fields] of entries) {
        positions[index] = id
        // Most events are other jobs': look the job up in the raw fields before decoding.
        const listening = waiters.get(JobEvent.jobIdOf(fields))
        if (listening === undefined && everyEvent.size === 0) continue
        const event = JobEvent.fromEntry(id, fields)
        if (Option.isNone(event)) continue
        for (const onEvent of listening ?? []) onEvent(event.value)
        for (const onEvent of everyEvent) onEvent(event.value)
      }
    }
  }

  // Redis trouble: the connection service already logs the outage once; the read keeps trying.
  const readLoop = (positions: Array<string>) =>
    NodeReads.followThroughOutages(redis, {
      keys: streams,
      // Each log's position as the read is sent: a cluster's nodes read their own logs at once.
      read: (connection, keys, blockMs) =>
        connection.call(
          "xread",
          "COUNT",
          batch,
          ...(blockMs === undefined ? [] : ["BLOCK", blockMs]),
          "STREAMS",
          ...keys,
          ...(keys === streams ? positions : keys.map((key) => positions[indexOf.get(key) ?? -1] ?? "$")),
        ),
      ...NodeReads.handledBy((reply) => route(reply, positions)),
      blockFor,
      channel: "tail",
      rotation: NodeReads.rotation(),
    })

  // The newest id of each log when reading starts: later events are the live ones.
  const currentPositions = Effect.forEach(streams, (stream) =>
    redis
      .run((connection) => connection.xrevrange(stream, "+", "-", "COUNT", 1))
      .pipe(Effect.map((entries) => entries[0]?.[0] ?? "0-0")),
  )

  const started = yield* SynchronizedRef.make(false)
  // Read without the ref's lock once the reader runs: every wait for a result subscribes.
  let reading = false
  const ensureStarted = Effect.suspend(() =>
    reading
      ? Effect.void
      : SynchronizedRef.updateEffect(started, (running) =>
          running
            ? Effect.succeed(true)
            : currentPositions.pipe(
                // Interruptible wherever the first listener came from (an acquire runs uninterruptibly):
                // the reader must stop with the layer.
                Effect.tap((positions) => Effect.forkIn(Effect.interruptible(readLoop(positions)), scope)),
                Effect.as(true),
                Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo(redis.timeout))),
                Effect.tap(() => {
                  reading = true
                }),
              ),
        ),
  )

  const listen = (jobId: string, onEvent: (event: JobEvent.JobEvent) => void) =>
    Effect.map(ensureStarted, () => {
      // A listener of its own, even when the caller passes the same function twice.
      const listener = (event: JobEvent.JobEvent) => onEvent(event)
      const set = waiters.get(jobId) ?? new Set()
      set.add(listener)
      waiters.set(jobId, set)
      return () => {
        set.delete(listener)
        if (set.size === 0 && waiters.get(jobId) === set) waiters.delete(jobId)
      }
    })

  const listenAll = (onEvent: (event: JobEvent.JobEvent) => void) =>
    Effect.map(ensureStarted, () => {
      const listener = (event: JobEvent.JobEvent) => onEvent(event)
      everyEvent.add(listener)
      return () => {
        everyEvent.delete(listener)
      }
    })

  const subscribe = (jobId: string) =>
    Effect.gen(function* () {
      const queue = yield* Effect.acquireRelease(Queue.unbounded<JobEvent.JobEvent>(), Queue.shutdown)
      const stop = yield* listen(jobId, (event) => Queue.unsafeOffer(queue, event))
      yield* Effect.addFinalizer(() => Effect.sync(stop))
      return queue as Queue.Dequeue<JobEvent.JobEvent>
    })

  return { subscribe, listen, listenAll } satisfies EventTailerService
})

/** The process's tailer. */
export const layer: Layer.Layer<EventTailer, never, RedisClient | Settings> = Layer.scoped(EventTailer, make)
