/**
 * Reads deliveries: one blocking XREADGROUP over every inbox the process hosts (one blocking
 * connection in all), high lanes first, never more than there is room for. Read deliveries wait
 * in the buffer, held in this consumer's pending list and renewed by the heartbeat, until a slot
 * of their actor frees up; the buffer is served high lane first.
 */
import { Deliveries, RedisClient, type Settings, StreamKeys } from "@eddy/core"
import { Deferred, Duration, Effect, FiberSet, Queue, Schedule } from "effect"
import * as JobRunner from "./JobRunner.js"
import * as WorkerState from "./WorkerState.js"

type XReadGroupReply = Array<[string, Array<[string, Array<string>]>]> | null

/** Starts what the buffer allows, high lane first. */
export const dispatch = (state: WorkerState.WorkerState, deps: { readonly progressThrottle: Duration.Duration }) =>
  Effect.gen(function* () {
    if (state.stopping) return
    state.buffer.sort(WorkerState.byLane)
    const waiting: Array<Deliveries.Delivery> = []
    for (const delivery of state.buffer) {
      const handler = state.handlers.get(delivery.actor)
      const running = [...state.inFlight.values()].filter((job) => job.delivery.actor === delivery.actor).length
      if (handler === undefined || state.inFlight.size >= state.concurrency || running >= handler.concurrency) {
        waiting.push(delivery)
        continue
      }
      const job: JobRunner.InFlight = { delivery, stop: yield* Deferred.make<JobRunner.StopReason>() }
      state.inFlight.set(delivery.entryId, job)
      yield* FiberSet.run(
        state.jobs,
        JobRunner.run(handler, job, { consumer: state.consumer, progressThrottle: deps.progressThrottle }).pipe(
          Effect.ensuring(
            Effect.suspend(() => {
              state.inFlight.delete(delivery.entryId)
              return Queue.offer(state.wake, undefined)
            }),
          ),
        ),
      )
    }
    state.buffer = waiting
  })

/** Adds deliveries to the buffer (skipping any already held) and dispatches. */
export const accept = (
  state: WorkerState.WorkerState,
  deliveries: ReadonlyArray<Deliveries.Delivery>,
  deps: { readonly progressThrottle: Duration.Duration },
) =>
  Effect.suspend(() => {
    const held = new Set([...state.inFlight.keys(), ...state.buffer.map((delivery) => delivery.entryId)])
    for (const delivery of deliveries) if (!held.has(delivery.entryId)) state.buffer.push(delivery)
    return dispatch(state, deps)
  })

const parse = (state: WorkerState.WorkerState, reply: XReadGroupReply): Array<Deliveries.Delivery> =>
  (reply ?? []).flatMap(([key, entries]) => {
    const inbox = state.inboxByKey.get(key)
    if (inbox === undefined) return []
    return entries.map(([entryId, fields]) => {
      const at = fields.indexOf("j")
      const jobId = at >= 0 && at % 2 === 0 ? (fields[at + 1] ?? "") : ""
      return { partition: inbox.partition, actor: inbox.actor, lane: inbox.lane, entryId, jobId }
    })
  })

/** Creates every inbox's consumer group if missing. Idempotent, so safe on every start. */
export const ensureGroups = (state: WorkerState.WorkerState) =>
  Effect.forEach(state.inboxes, (inbox) => Deliveries.ensureGroup(inbox.partition, inbox.actor, inbox.lane), {
    concurrency: "unbounded",
    discard: true,
  })

/** One read: waits for room, then blocks up to `blockFor` for new deliveries. */
const readOnce = (
  state: WorkerState.WorkerState,
  deps: { readonly blockFor: Duration.Duration; readonly progressThrottle: Duration.Duration },
) =>
  Effect.gen(function* () {
    const room = WorkerState.room(state)
    const keys = state.inboxes.filter((inbox) => WorkerState.roomFor(state, inbox.actor) > 0).map((inbox) => inbox.key)
    if (room <= 0 || keys.length === 0) {
      // Full: sleep until a job ends (or a moment passes, to notice a stop).
      yield* Queue.take(state.wake).pipe(Effect.timeout(deps.blockFor), Effect.ignore)
      return
    }
    const redis = yield* RedisClient.RedisClient
    const reply = yield* redis.blocking(deps.blockFor, (connection) =>
      connection.xreadgroup(
        "GROUP",
        StreamKeys.workerGroup,
        state.consumer,
        "COUNT",
        room,
        "BLOCK",
        Duration.toMillis(deps.blockFor),
        "STREAMS",
        ...keys,
        ...keys.map(() => ">"),
      ),
    )
    yield* accept(state, parse(state, reply as XReadGroupReply), deps)
  })

/**
 * Reads until the worker stops. Redis trouble pauses reading with backoff (the connection
 * service logs the outage once); a missing group (the stream was deleted) is created again.
 */
export const loop = (
  state: WorkerState.WorkerState,
  deps: { readonly blockFor: Duration.Duration; readonly progressThrottle: Duration.Duration },
): Effect.Effect<void, never, RedisClient.RedisClient | Settings.Settings> =>
  readOnce(state, deps).pipe(
    Effect.catchAll((error) =>
      error.message.includes("NOGROUP") ? ensureGroups(state).pipe(Effect.ignore) : Effect.fail(error),
    ),
    Effect.retry(Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("2 seconds")))),
    Effect.repeat({ while: () => !state.stopping }),
    Effect.asVoid,
    Effect.orDie, // unreachable: the retry schedule never ends
  )
