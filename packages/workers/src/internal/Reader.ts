/**
 * Reads deliveries: one blocking XREADGROUP over every inbox the process hosts (one blocking
 * connection in all), high lanes first, no more than there is room for (see `countPerStream`).
 * Read deliveries wait in the buffer, held in this consumer's pending list and renewed by the
 * heartbeat, until a slot of their actor frees up; the buffer is served high lane first.
 */
import { Deliveries, RedisClient, type Settings, StreamKeys } from "@eddy/core"
import { Duration, Effect, Either, Queue, Schedule } from "effect"
import * as JobRunner from "./JobRunner.js"
import * as Slots from "./Slots.js"
import type * as WorkerState from "./WorkerState.js"

export type XReadGroupReply = Array<[string, Array<[string, Array<string>]>]> | null

/**
 * Starts what the buffer allows, high lane first (see `Slots.startable`): each job's handler is
 * launched before this returns.
 */
export const dispatch = (state: WorkerState.WorkerState): void => {
  if (state.stopping) return
  for (const job of Slots.startable(state.slots)) JobRunner.launch(state, job)
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
 * One round: starts what the buffer allows, then, if there is room, blocks up to `blockFor` for
 * new deliveries; if there is none, waits until a job ends (or `blockFor` passes, to notice a stop).
 */
const readOnce = (state: WorkerState.WorkerState, blockFor: Duration.Duration) =>
  Effect.gen(function* () {
    // Deliveries wait in the buffer while their actor is at its concurrency; a slot freeing up
    // (the wake below) must start them even when there is no room to read more.
    dispatch(state)
    const room = Slots.room(state.slots)
    const inboxes = state.inboxes.filter((inbox) => Slots.roomFor(state.slots, inbox.actor) > 0)
    if (room <= 0 || inboxes.length === 0) {
      yield* Queue.take(state.slots.wake).pipe(Effect.timeout(blockFor), Effect.ignore)
      return
    }
    // With a backlog, `claim` reads and starts in one round trip (and rate-limited actors, which
    // need a permit before they start, are read in the same round); only when that finds nothing
    // block on a read.
    if (!state.quiet && (yield* claimOnce(state, inboxes))) return
    const keys = inboxes.map((inbox) => inbox.key)
    const count = countPerStream(state, inboxes)
    const redis = yield* RedisClient.RedisClient
    const reply = (yield* redis.blocking(blockFor, (connection) =>
      connection.call("xreadgroup", ...readArgs(state, keys, count, Duration.toMillis(blockFor))),
    )) as XReadGroupReply
    state.quiet = isDrained(reply, count)
    yield* accept(state, parse(state, reply))
  })

/**
 * Reads, without blocking, up to `share` new deliveries per rate-limited actor (split over its
 * inboxes, high lanes first) on the command connection: one XREADGROUP for all of them.
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
    const keys = inboxes.map((inbox) => inbox.key)
    const redis = yield* RedisClient.RedisClient
    const reply = (yield* redis.run((connection) =>
      connection.call("xreadgroup", ...readArgs(state, keys, count)),
    )) as XReadGroupReply
    return parse(state, reply)
  })

/**
 * Claims (reads and starts) what waits in the inboxes of actors with room and no rate limit,
 * one call per actor and partition, and reads (without blocking, without starting: they need a
 * permit first) the inboxes of rate-limited actors with room; answers whether it found anything.
 * Without that read, a rate-limited actor would only be read once the claims found nothing, i.e.
 * never while another actor of the process keeps a backlog.
 */
const claimOnce = (state: WorkerState.WorkerState, inboxes: ReadonlyArray<WorkerState.Inbox>) =>
  Effect.gen(function* () {
    const targets = new Map<string, { readonly partition: number; readonly actor: string }>()
    const limited: Array<WorkerState.Inbox> = []
    for (const inbox of inboxes)
      if (state.handlers.get(inbox.actor)?.contract.policy.rateLimit === undefined)
        targets.set(`${inbox.partition}/${inbox.actor}`, { partition: inbox.partition, actor: inbox.actor })
      else limited.push(inbox)
    if (targets.size === 0) return false
    // Room is split evenly so that one actor or partition cannot take every slot of a round. A
    // claim takes all of its share: the groups that keep this process and Redis busy at once form
    // by themselves, as handlers end and free their slots at different times. (Capping a claim at
    // half the concurrency, to force two groups, measured ~10 % fewer jobs/s in five alternating
    // process runs: 6,393-6,706 against 6,656-7,438.) An actor's claims over all its partitions
    // stay within its own room: a claim starts what it reads, so a delivery claimed beyond the
    // actor's concurrency would show as running while it waits in the buffer.
    const room = Slots.room(state.slots)
    const share = Math.max(1, Math.floor(room / targets.size))
    // Rate-limited actors are read, not started, so they reserve nothing: what they bring waits in
    // the buffer, which is served before the next claim as slots free up.
    const limitedActors = new Set(limited.map((inbox) => inbox.actor))
    const limitedShare = Math.max(1, Math.floor(room / (targets.size + limitedActors.size)))
    // With fewer free slots than targets, a share of one goes to as many targets as there are
    // slots, starting with a different one each round.
    const order = [...targets.values()]
    const first = state.claimTurn++ % order.length
    let roomLeft = room
    const left = new Map<string, number>()
    const claims: Array<{ readonly partition: number; readonly actor: string; readonly count: number }> = []
    for (const { partition, actor } of [...order.slice(first), ...order.slice(0, first)]) {
      const actorLeft = left.get(actor) ?? Slots.roomFor(state.slots, actor)
      const count = Math.min(share, actorLeft, roomLeft)
      left.set(actor, actorLeft - count)
      roomLeft -= count
      if (count > 0) claims.push({ partition, actor, count })
    }
    // Each claim's deliveries are started once it answers: those of the claims that answered are
    // kept even when another failed (they would otherwise wait for a reclaim), then the failure
    // is reported.
    const [answers, read] = yield* Effect.all(
      [
        Effect.all(
          claims.map(({ partition, actor, count }) => Deliveries.claim(partition, actor, state.consumer, count)),
          { concurrency: "unbounded", mode: "either" },
        ),
        readLimited(state, limited, limitedShare).pipe(Effect.either),
      ],
      { concurrency: "unbounded" },
    )
    const all = answers.flatMap((answer) => (Either.isRight(answer) ? answer.right : []))
    const claimed = new Map<string, Slots.Claimed>()
    for (const { delivery, started } of all) claimed.set(Slots.keyOf(delivery), started)
    const readDeliveries = Either.isRight(read) ? read.right : []
    yield* accept(state, [...all.map(({ delivery }) => delivery), ...readDeliveries], claimed)
    const failed = answers.find(Either.isLeft)
    if (failed !== undefined) return yield* Effect.fail(failed.left)
    if (Either.isLeft(read)) return yield* Effect.fail(read.left)
    return all.length > 0 || readDeliveries.length > 0
  })

/**
 * Reads until the worker stops. Redis trouble pauses reading with backoff (the connection
 * service logs the outage once); a missing group (the stream was deleted) is created again.
 */
export const loop = (
  state: WorkerState.WorkerState,
  blockFor: Duration.Duration,
): Effect.Effect<void, never, RedisClient.RedisClient | Settings.Settings> => {
  const round = readOnce(state, blockFor).pipe(
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
    Effect.repeat({ while: () => !state.stopping }),
    Effect.asVoid,
    Effect.orDie, // unreachable: the retry schedule never ends
  )
}
