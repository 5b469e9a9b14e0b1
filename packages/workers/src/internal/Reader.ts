/**
 * Reads deliveries: one blocking XREADGROUP over every inbox the process hosts (one blocking
 * connection in all), high lanes first, no more than there is room for (see `countPerStream`).
 * On a Redis Cluster, one read covers one partition: each master node rotates over its partitions
 * on its own blocking connection (see `NodeReads`).
 * Read deliveries wait in the buffer, held in this consumer's pending list and renewed by the
 * heartbeat, until a slot of their actor frees up; the buffer is served high lane first.
 */
import { Deliveries, NodeReads, RedisClient, type Settings, StreamKeys } from "@eddy/core"
import { Cause, type Duration, Effect, Either, Exit, Option, Queue, Runtime, Schedule } from "effect"
import * as Batcher from "./Batcher.js"
import * as JobRunner from "./JobRunner.js"
import * as Slots from "./Slots.js"
import * as Turns from "./Turns.js"
import * as WorkerState from "./WorkerState.js"

export type XReadGroupReply = NodeReads.StreamReply

/**
 * Starts what the buffer allows, high lane first (see `Slots.startable`): each job's handler is
 * launched before this returns.
 */
export const dispatch = (state: WorkerState.WorkerState): void => {
  if (state.stopping) return
  for (const job of Slots.startable(state.slots, (actor) => !state.paused.has(actor))) JobRunner.launch(state, job)
}

/** Adds deliveries to the buffer (skipping any already held) and dispatches; `claimed` gives the starts `claim` made. */
export const accept = (
  state: WorkerState.WorkerState,
  deliveries: ReadonlyArray<Deliveries.Delivery>,
  claimed?: ReadonlyMap<string, Slots.Claimed>,
): Effect.Effect<void> =>
  Effect.sync(() => {
    Slots.hold(state.slots, deliveries, claimed)
    dispatch(state)
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

/**
 * How many entries to ask of each stream. XREADGROUP's COUNT holds per stream, so the room is
 * split over the streams read (and each actor's room over its lanes): one read then never brings
 * more than there is room for, unless the room is smaller than the number of streams, when it
 * may bring one entry per stream (they wait, held, in the buffer).
 */
export const countPerStream = (state: WorkerState.WorkerState, inboxes: ReadonlyArray<WorkerState.Inbox>): number => {
  const streamsOf = new Map<string, number>()
  for (const inbox of inboxes) streamsOf.set(inbox.actor, (streamsOf.get(inbox.actor) ?? 0) + 1)
  let count = Math.floor(Slots.room(state.slots) / inboxes.length)
  for (const [actor, streams] of streamsOf)
    count = Math.min(count, Math.floor(Slots.roomFor(state.slots, actor) / streams))
  return Math.max(1, count)
}

/**
 * Whether a read left its inboxes empty: XREADGROUP hands out everything waiting up to COUNT per
 * stream, so a read that brought less than COUNT from every stream (or nothing) drained them a
 * moment ago. A claim would then find nothing and only delay the next read (and its jobs' starts
 * would queue behind it in Redis): the reader blocks again instead.
 */
export const isDrained = (reply: XReadGroupReply, count: number): boolean =>
  (reply ?? []).every(([, entries]) => entries.length < count)

/** XREADGROUP's arguments: new entries of `keys` for this consumer, blocking `blockMs` if given. */
const readArgs = (
  state: WorkerState.WorkerState,
  keys: ReadonlyArray<string>,
  count: number,
  blockMs?: number,
): Array<string | number> => [
  "GROUP",
  StreamKeys.workerGroup,
  state.consumer,
  "COUNT",
  count,
  ...(blockMs === undefined ? [] : ["BLOCK", blockMs]),
  "STREAMS",
  ...keys,
  ...keys.map(() => ">"),
]

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
    dispatch(state)
    const failure = state.claimFailure
    if (failure !== undefined) {
      state.claimFailure = undefined
      return yield* Effect.fail(failure)
    }
    const waitForWake = Queue.take(state.slots.wake).pipe(Effect.timeout(blockFor), Effect.ignore)
    if (state.stopping) return yield* waitForWake
    const inboxes = state.inboxes.filter(
      (inbox) => !state.paused.has(inbox.actor) && Slots.roomFor(state.slots, inbox.actor) > 0,
    )
    if (!state.quiet && inboxes.length > 0) claimAhead(state, inboxes)
    if (state.claimsInFlight > 0 || Slots.room(state.slots) <= 0 || inboxes.length === 0) return yield* waitForWake
    const count = countPerStream(state, inboxes)
    const redis = yield* RedisClient.RedisClient
    // A cluster round may bring several replies (one per node): the inboxes are drained when
    // every one of them is.
    let drained = true
    // On a cluster, once one node brought deliveries the other nodes' reads need not wait out
    // their slice: their blocked reads are ended (as if their time were up) and none starts.
    let brought = false
    yield* NodeReads.round(redis, {
      keys: inboxes.map((inbox) => inbox.key),
      read: (connection, keys, blockMs) => connection.call("xreadgroup", ...readArgs(state, keys, count, blockMs)),
      onReply: (reply) => {
        if (!isDrained(reply, count)) drained = false
        const deliveries = parse(state, reply)
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
    yield* accept(state, deliveries, yield* startRead(state, deliveries))
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
      { concurrency: "unbounded", discard: true },
    )
    return started
  })

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
      groupOf: (completion: WorkerState.Completion) => Slots.inboxOf(completion.delivery),
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
            const job = Slots.job(state.slots, Slots.keyOf(completion.delivery))
            if (job !== undefined && answers[i] !== undefined && Either.isRight(answers[i]))
              Slots.remove(state.slots, job)
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
    const starts = new Map<string, Slots.Claimed>()
    for (const { delivery, started } of claimed) starts.set(Slots.keyOf(delivery), started)
    Slots.hold(
      state.slots,
      claimed.map(({ delivery }) => delivery),
      starts,
    )
    dispatch(state)
    Queue.unsafeOffer(state.slots.wake, undefined)
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
const claimAhead = (state: WorkerState.WorkerState, inboxes: ReadonlyArray<WorkerState.Inbox>): void => {
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
    Queue.unsafeOffer(state.slots.wake, undefined)
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
      dispatch(state)
    } else failed(state, exit.cause)
    Queue.unsafeOffer(state.slots.wake, undefined)
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
      Math.min(countPerStream(state, inboxes), Math.floor(share / Math.max(...streamsOf.values()))),
    )
    const redis = yield* RedisClient.RedisClient
    const reply = yield* NodeReads.readNow(
      redis,
      inboxes.map((inbox) => inbox.key),
      (connection, keys) => connection.call("xreadgroup", ...readArgs(state, keys, count)),
    )
    return parse(state, reply)
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
  return round.pipe(
    // The schedule is set up only once a round failed: doing it for every round cost more than
    // the rest of an idle round's Effect work.
    Effect.catchAll(() =>
      Effect.retry(round, Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("2 seconds")))),
    ),
    // Claims still on the wire at a stop hold started jobs: the loop waits for their answers,
    // which wait in the buffer for the shutdown to release them.
    Effect.repeat({ while: () => !state.stopping || state.claimsInFlight > 0 }),
    Effect.asVoid,
    Effect.orDie, // unreachable: the retry schedule never ends
  )
}
