/**
 * Reads deliveries: one blocking XREADGROUP over every inbox the process hosts (one blocking
 * connection in all), high lanes first, no more than there is room for (see
 * `InboxReads.countPerStream`). On a Redis Cluster, one read covers one partition: each master
 * node rotates over its partitions on its own blocking connection (see `NodeReads`). With a
 * backlog, claims take over (see `Claims`).
 * Read deliveries wait in the buffer, held in this consumer's pending list and renewed by the
 * heartbeat, until a slot of their actor frees up; the buffer is served high lane first.
 */
import { Deliveries, NodeReads, RedisClient, type Settings } from "@eddy/core"
import { Duration, Effect, Either } from "effect"
import * as Claims from "./Claims.js"
import * as Dispatch from "./Dispatch.js"
import * as InboxReads from "./InboxReads.js"
import * as Slots from "./Slots.js"
import type * as WorkerState from "./WorkerState.js"

/** Creates every inbox's consumer group if missing. Idempotent, so safe on every start. */
export const ensureGroups = (state: WorkerState.WorkerState) =>
  Effect.forEach(state.inboxes, (inbox) => Deliveries.ensureGroup(inbox.partition, inbox.actor, inbox.lane), {
    concurrency: "unbounded",
    discard: true,
  })

/**
 * One round: starts what the buffer allows; with a backlog, keeps claims on the wire (see
 * `claimAhead`) and waits for a slot or a claim's answer; once the inboxes are drained, blocks
 * up to `blockFor` for new deliveries. With no room, waits until a job ends (or `blockFor`
 * passes, to notice a stop).
 */
const readOnce = (state: WorkerState.WorkerState, blockFor: Duration.Duration, rotation: NodeReads.Rotation) =>
  Effect.gen(function* () {
    // Deliveries wait in the buffer while their actor is at its concurrency; a slot freeing up
    // (the wake below) must start them even when there is no room to read more.
    Dispatch.dispatch(state)
    const failure = state.claimFailure
    if (failure !== undefined) {
      state.claimFailure = undefined
      return yield* Effect.fail(failure)
    }
    const waitForWake = state.slots.wake.wait(Duration.toMillis(blockFor))
    if (state.stopping) return yield* waitForWake
    const inboxes = state.inboxes.filter(
      (inbox) => !state.paused.has(inbox.actor) && Slots.roomFor(state.slots, inbox.actor) > 0,
    )
    if (!state.quiet && inboxes.length > 0) Claims.claimAhead(state, inboxes)
    if (state.claimsInFlight > 0 || Slots.room(state.slots) <= 0 || inboxes.length === 0) return yield* waitForWake
    const count = InboxReads.countPerStream(state, inboxes)
    const redis = yield* RedisClient.RedisClient
    // A cluster round may bring several replies (one per node): the inboxes are drained when
    // every one of them is.
    let drained = true
    // On a cluster, once one node brought deliveries the other nodes' reads need not wait out
    // their slice: their blocked reads are ended (as if their time were up) and none starts.
    let brought = false
    yield* NodeReads.round(redis, {
      keys: inboxes.map((inbox) => inbox.key),
      read: (connection, keys, blockMs) =>
        connection.call("xreadgroup", ...InboxReads.readArgs(state, keys, count, blockMs)),
      onReply: (reply) => {
        if (!InboxReads.isDrained(reply, count)) drained = false
        const deliveries = InboxReads.parse(state, reply)
        if (deliveries.length === 0 || !redis.cluster || brought) return received(state, deliveries)
        brought = true
        return Effect.zipRight(redis.unblock("read"), received(state, deliveries))
      },
      blockFor,
      channel: "read",
      rotation,
      proceed: () => !state.stopping && !brought,
    })
    state.quiet = drained
  })

/** What a blocking read brought: started and dispatched, or, read as the worker stops, released. */
const received = (state: WorkerState.WorkerState, deliveries: ReadonlyArray<Deliveries.Delivery>) =>
  Effect.gen(function* () {
    // Read as the worker stops: not started, straight back for another worker.
    if (state.stopping)
      return yield* Effect.forEach(
        deliveries,
        (delivery) => Deliveries.release(delivery, state.consumer).pipe(Effect.ignore),
        { discard: true },
      )
    yield* Dispatch.accept(state, deliveries, yield* startRead(state, deliveries))
  })

/**
 * Starts what a blocking read brought, in one `start-many` per inbox, before the jobs are
 * dispatched, as `claim` does: their handlers then run without a fiber of their own waiting for
 * the start. Rate-limited actors' deliveries need a permit first, and entries that name no job
 * are dead-lettered: those are left to the job runner, as is any inbox whose start failed.
 */
const startRead = (state: WorkerState.WorkerState, deliveries: ReadonlyArray<Deliveries.Delivery>) =>
  Effect.gen(function* () {
    const byInbox = new Map<string, Array<Deliveries.Delivery>>()
    for (const delivery of deliveries) {
      if (delivery.jobId === "" || state.handlers.get(delivery.actor)?.contract.policy.rateLimit !== undefined) continue
      const key = Slots.inboxOf(delivery)
      const group = byInbox.get(key)
      if (group === undefined) byInbox.set(key, [delivery])
      else group.push(delivery)
    }
    const started = new Map<string, Slots.Claimed>()
    yield* Effect.forEach(
      byInbox.values(),
      (group) =>
        Deliveries.startMany(group, state.consumer).pipe(
          Effect.map((answers) =>
            group.forEach((delivery, i) => {
              const answer = answers[i]
              // Paused since it was read: it waits, unstarted, for the actor's resume.
              if (answer !== undefined && Either.isLeft(answer) && answer.left._tag === "ActorPaused")
                state.paused.add(delivery.actor)
              else if (answer !== undefined) started.set(Slots.keyOf(delivery), answer)
            }),
          ),
          Effect.ignore,
        ),
      // One inbox (the usual case) starts in this fiber: a concurrent forEach forks a fiber per
      // element, and a blocking read that brings one job at a time would pay it for every job.
      { concurrency: byInbox.size > 1 ? "unbounded" : 1, discard: true },
    )
    return started
  })

/**
 * Reads until the worker stops. Redis trouble pauses reading with backoff (the connection
 * service logs the outage once); a missing group (the stream was deleted) is created again.
 */
export const loop = (
  state: WorkerState.WorkerState,
  blockFor: Duration.Duration,
): Effect.Effect<void, never, RedisClient.RedisClient | Settings.Settings> => {
  const rotation = NodeReads.rotation()
  const round = readOnce(state, blockFor, rotation).pipe(
    Effect.catchAll((error) =>
      error.message.includes("NOGROUP") ? ensureGroups(state).pipe(Effect.ignore) : Effect.fail(error),
    ),
  )
  // The schedule is set up only once a round failed: doing it for every round cost more than
  // the rest of an idle round's Effect work.
  const guarded = round.pipe(
    Effect.catchAll(() => Effect.retry(round, NodeReads.outageRetry)),
    Effect.orDie, // unreachable: the retry schedule never ends
  )
  // Claims still on the wire at a stop hold started jobs: the loop waits for their answers,
  // which wait in the buffer for the shutdown to release them. A plain loop: `Effect.repeat`
  // stepped a schedule every round, a round per read or wake-up (docs/benchmarks.md).
  return Effect.whileLoop({
    while: () => !state.stopping || state.claimsInFlight > 0,
    body: () => guarded,
    step: () => {},
  })
}
