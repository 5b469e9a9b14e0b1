/**
 * Claims: a worker with a backlog keeps claims on the wire (`claim`: read and start in one call),
 * and its completion batches claim the next jobs in the same call (`complete-many` with
 * `claimNext`), so the worker runs one batch while Redis records and starts the next. What a
 * claim brings is held and started in a turn of the event loop of its own (see `Turns`).
 */
import { Deliveries, NodeReads, RedisClient } from "@eddy/core"
import { Cause, Effect, Either, Exit, Option, Runtime } from "effect"
import * as Batcher from "./Batcher.js"
import * as Dispatch from "./Dispatch.js"
import * as InboxReads from "./InboxReads.js"
import * as Slots from "./Slots.js"
import * as Turns from "./Turns.js"
import * as WorkerState from "./WorkerState.js"

/**
 * The batched starts and completions of a worker's jobs. A completion batch also claims the
 * actor's next jobs in the same call (`complete-many` with `claimNext`), as many as the room the
 * batch's jobs left, while the inboxes have a backlog: the next jobs come with the answer instead
 * of a round trip later.
 */
export const makeBatches = (state: WorkerState.WorkerState) =>
  Effect.all({
    start: Batcher.make({
      groupOf: Slots.inboxOf,
      run: (deliveries: ReadonlyArray<Deliveries.Delivery>) => Deliveries.startMany(deliveries, state.consumer),
      maxBatch: WorkerState.maxBatch,
    }),
    complete: Batcher.make({
      groupOf: (completion: WorkerState.Completion) => completion.job.inbox,
      run: (completions: ReadonlyArray<WorkerState.Completion>) => completeAndClaim(state, completions),
      maxBatch: WorkerState.maxBatch,
      flushers: claimsAhead,
    }),
  }) satisfies Effect.Effect<WorkerState.Batches, never, unknown>

/**
 * How many jobs of an actor a completion batch of `completing` jobs may claim: none once drained,
 * paused, stopping or rate-limited, or when the worker hosts other actors. The batch's own jobs are recorded before the claim in the same
 * call, so their room counts as free for it.
 */
const claimableWith = (state: WorkerState.WorkerState, actor: string, completing: number): number => {
  if (state.stopping || state.quiet || state.paused.has(actor)) return 0
  if (state.handlers.get(actor)?.contract.policy.rateLimit !== undefined) return 0
  // With several actors the reader shares the room out in turn (see `claimAhead`): an actor whose
  // completions claimed its next jobs would keep the room and starve the others.
  if (state.handlers.size > 1) return 0
  const room = Slots.roomFor(state.slots, actor) + completing
  return Math.max(0, Math.min(room, Math.ceil(state.concurrency / claimsAhead)))
}

const completeAndClaim = (state: WorkerState.WorkerState, completions: ReadonlyArray<WorkerState.Completion>) =>
  Effect.suspend(() => {
    const first = completions[0]
    const next = first === undefined ? 0 : claimableWith(state, first.delivery.actor, completions.length)
    if (first === undefined || next === 0) return Deliveries.completeMany(completions, state.consumer)
    const { actor } = first.delivery
    // The batch's own jobs hold their room until it answers, and hand it over to what it claims:
    // only the claim's excess is reserved. Reserving it all held the room twice while the call was
    // on the wire, and the reader, seeing none free, kept one batch of jobs in flight, not two.
    const extra = Math.max(0, next - completions.length)
    Slots.reserve(state.slots, actor, extra)
    let reserved = true
    const unreserve = () => {
      if (reserved) Slots.unreserve(state.slots, actor, extra)
      reserved = false
    }
    return Deliveries.completeAndClaim(completions, state.consumer, next).pipe(
      Effect.map(({ completions: answers, claimed }) => {
        unreserve()
        if (claimed.length < next) state.quiet = true
        if (claimed.length > 0) {
          // Recorded jobs leave first, so that what the call claimed starts in their room.
          completions.forEach((completion, i) => {
            if (answers[i] !== undefined && Either.isRight(answers[i])) Slots.remove(state.slots, completion.job)
          })
          accepted(state, actor, claimed)
        }
        return answers
      }),
      Effect.ensuring(Effect.sync(unreserve)),
    )
  })

/**
 * What a claim brought: held, then started as the slots allow, in a turn of the event loop of its
 * own (see `Turns`). Until then its room stays reserved and it counts as a claim in flight.
 */
const accepted = (state: WorkerState.WorkerState, actor: string, claimed: ReadonlyArray<Deliveries.Claimed>): void => {
  if (claimed.length === 0) return
  Slots.reserve(state.slots, actor, claimed.length)
  state.claimsInFlight++
  Turns.run(state.turns, () => {
    state.claimsInFlight--
    Slots.unreserve(state.slots, actor, claimed.length)
    Slots.holdClaimed(state.slots, claimed)
    Dispatch.dispatch(state)
    state.slots.wake.notify()
  })
}

/** Most claims on the wire at once: while one's jobs run, the next is read and started in Redis. */
const claimsAhead = 2 // per target (actor × partition)
const smallestClaim = 10

/**
 * Puts claims on the wire, up to `claimsAhead` per target, each for a share of the concurrency (split over
 * the targets: actors without a rate limit × partitions, taking turns) and within the free room,
 * which it reserves until it answers. A claim's jobs start as soon as it answers, whatever the
 * others do, so the worker runs one batch while Redis starts the next: the two overlap instead of
 * taking turns. A claim that brings less than it asked for drained its inboxes: no more claims
 * until a blocking read finds a backlog again. Rate-limited actors, whose jobs need a permit
 * before they start, are read (not started) in the same way, so another actor's backlog cannot
 * starve them.
 */
export const claimAhead = (state: WorkerState.WorkerState, inboxes: ReadonlyArray<WorkerState.Inbox>): void => {
  const targets = new Map<string, { readonly partition: number; readonly actor: string }>()
  const limited: Array<WorkerState.Inbox> = []
  for (const inbox of inboxes)
    if (state.handlers.get(inbox.actor)?.contract.policy.rateLimit === undefined)
      targets.set(`${inbox.partition}/${inbox.actor}`, { partition: inbox.partition, actor: inbox.actor })
    else limited.push(inbox)
  const order = [...targets.values()]
  // Each target (actor × partition) may have its own claims on the wire.
  const most = claimsAhead * Math.max(1, order.length)
  // At least `smallestClaim` jobs a claim (within half the concurrency): split over many partitions
  // the share fell to 3, and each call's fixed cost came with every 3 jobs (docs/benchmarks.md, scale).
  const chunk = Math.max(
    Math.ceil(state.concurrency / most),
    Math.min(Math.ceil(state.concurrency / claimsAhead), smallestClaim),
  )
  let tries = most
  while (state.claimsInFlight < most && tries-- > 0 && !state.quiet) {
    const room = Slots.room(state.slots)
    // A sliver of room waits for more unless nothing is on the wire: many tiny claims cost more
    // round trips than they save.
    if (room <= 0 || (state.claimsInFlight > 0 && room < Math.ceil(chunk / 2))) break
    const target = order[state.claimTurn++ % order.length]
    if (target === undefined) break
    const count = Math.min(chunk, Slots.roomFor(state.slots, target.actor))
    if (count <= 0) continue
    claim(state, target.partition, target.actor, count)
  }
  if (limited.length > 0 && state.claimsInFlight < most && !state.quiet) readLimitedAhead(state, limited)
}

/** One claim on the wire: its room reserved until it answers; its jobs start once it does. */
const claim = (state: WorkerState.WorkerState, partition: number, actor: string, count: number): void => {
  Slots.reserve(state.slots, actor, count)
  state.claimsInFlight++
  const fiber = Runtime.runFork(state.runtime)(Deliveries.claim(partition, actor, state.consumer, count))
  fiber.addObserver((exit) => {
    state.claimsInFlight--
    Slots.unreserve(state.slots, actor, count)
    if (Exit.isSuccess(exit)) {
      if (exit.value.length < count) state.quiet = true
      accepted(state, actor, exit.value)
    } else failed(state, exit.cause)
    state.slots.wake.notify()
  })
}

/** Reads the rate-limited actors' inboxes without blocking (see `readLimited`); what it brings waits for permits. */
const readLimitedAhead = (state: WorkerState.WorkerState, limited: ReadonlyArray<WorkerState.Inbox>): void => {
  const actors = new Set(limited.map((inbox) => inbox.actor))
  const share = Math.max(1, Math.floor(Slots.room(state.slots) / actors.size))
  state.claimsInFlight++
  const fiber = Runtime.runFork(state.runtime)(readLimited(state, limited, share))
  fiber.addObserver((exit) => {
    state.claimsInFlight--
    if (Exit.isSuccess(exit)) {
      Slots.hold(state.slots, exit.value)
      Dispatch.dispatch(state)
    } else failed(state, exit.cause)
    state.slots.wake.notify()
  })
}

/** A claim's failure, for the reader to fail with (and back off). */
const failed = (state: WorkerState.WorkerState, cause: Cause.Cause<RedisClient.RedisError>): void => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) state.claimFailure = failure.value
}

/**
 * Reads, without blocking, up to `share` new deliveries per rate-limited actor (split over its
 * inboxes, high lanes first) on the command connection: one XREADGROUP for all of them (on a
 * cluster, one per partition, sent together).
 */
const readLimited = (state: WorkerState.WorkerState, inboxes: ReadonlyArray<WorkerState.Inbox>, share: number) =>
  Effect.gen(function* () {
    if (inboxes.length === 0) return []
    // COUNT holds per stream: an actor's share is split over its inboxes.
    const streamsOf = new Map<string, number>()
    for (const inbox of inboxes) streamsOf.set(inbox.actor, (streamsOf.get(inbox.actor) ?? 0) + 1)
    const count = Math.max(
      1,
      Math.min(InboxReads.countPerStream(state, inboxes), Math.floor(share / Math.max(...streamsOf.values()))),
    )
    const redis = yield* RedisClient.RedisClient
    const reply = yield* NodeReads.readNow(
      redis,
      inboxes.map((inbox) => inbox.key),
      (connection, keys) => connection.call("xreadgroup", ...InboxReads.readArgs(state, keys, count)),
    )
    return InboxReads.parse(state, reply)
  })
