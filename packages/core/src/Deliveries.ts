/**
 * Deliveries as a worker handles them: start, renew, progress, complete, fail, release,
 * confirm a cancel, reclaim stalled ones, promote due ones. Every call that changes a running
 * job is fenced: it takes effect only while this consumer still holds the delivery, and
 * otherwise fails with a typed refusal (`LeaseLost`, `JobAlreadyFinished`, …) that changed nothing.
 */
import { Duration, Effect, Either } from "effect"
import type { Lane } from "./Actor.js"
import { runScript } from "./internal/runScript.js"
import type { DeadLetterReason, ErrorInfo } from "./JobEvent.js"
import { RedisClient } from "./RedisClient.js"
import { Code, codeOf, type Refusal, refusal } from "./ScriptOutcome.js"
import * as Scripts from "./Scripts.js"
import { Settings } from "./Settings.js"
import { lanes, type PartitionKeys, workerGroup } from "./StreamKeys.js"

/** One inbox entry handed to a consumer. */
export interface Delivery {
  readonly partition: number
  readonly actor: string
  readonly lane: Lane
  readonly entryId: string
  /** Empty for an entry that names no job (malformed). */
  readonly jobId: string
}

/** What `start` hands the worker to run. */
export interface Started {
  readonly input: string
  readonly attempt: number
  readonly maxAttempts: number
  readonly correlationId: string | undefined
  readonly causationId: string | undefined
}

const keysOf = (delivery: Pick<Delivery, "partition" | "actor" | "lane">) =>
  Effect.map(Settings, (settings) => {
    const p = settings.keyspace.partition(delivery.partition)
    return { settings, p, inbox: p.inbox(delivery.actor, delivery.lane) }
  })

/** The named arguments every fenced call takes. */
const fenced = (delivery: Delivery, consumer: string) => ({
  jobId: delivery.jobId,
  entryId: delivery.entryId,
  group: workerGroup,
  consumer,
})

/** An actor's three inboxes in a partition, as `claim` names them. */
const inboxesOf = (p: PartitionKeys, actor: string) => ({
  highInbox: p.inbox(actor, "high"),
  normalInbox: p.inbox(actor, "normal"),
  lowInbox: p.inbox(actor, "low"),
})

const orRefusal = (delivery: Delivery, reply: Scripts.Reply) =>
  codeOf(reply) === Code.ok ? Effect.void : Effect.fail(refusal(delivery.jobId, reply))

/** Creates the inbox's consumer group if it is missing (from the stream's start). Idempotent. */
export const ensureGroup = (partition: number, actor: string, lane: Lane) =>
  Effect.gen(function* () {
    const { inbox } = yield* keysOf({ partition, actor, lane })
    const redis = yield* RedisClient
    yield* redis
      .run((connection) => connection.xgroup("CREATE", inbox, workerGroup, "0", "MKSTREAM"))
      .pipe(
        Effect.catchIf(
          (error) => error.message.includes("BUSYGROUP"),
          () => Effect.void,
        ),
      )
  })

const text = (value: unknown) => (value === "" || value === null || value === undefined ? undefined : String(value))

/** A start reply as the worker uses it. */
const startedOf = (delivery: Delivery, reply: Scripts.Reply): Either.Either<Started, Refusal> =>
  codeOf(reply) === Code.ok
    ? Either.right({
        input: String(reply[1]),
        attempt: Number(reply[2]),
        maxAttempts: Number(reply[3]),
        correlationId: text(reply[4]),
        causationId: text(reply[5]),
      })
    : Either.left(refusal(delivery.jobId, reply))

/** Marks a delivery as running and returns its input; appends `started`. */
export const start = (delivery: Delivery, consumer: string) =>
  Effect.gen(function* () {
    const { settings, p, inbox } = yield* keysOf(delivery)
    const reply = yield* runScript(Scripts.start, {
      keys: { jobs: p.jobs, events: p.events, inbox, paused: p.paused, ...p.model(delivery.actor) },
      args: { ...fenced(delivery, consumer), eventsMaxLen: settings.eventsMaxLen, actor: delivery.actor },
    })
    return yield* startedOf(delivery, reply)
  })

/**
 * `start` for deliveries of one inbox in one call: one answer per delivery, in order. A worker
 * starts a whole read batch this way; each delivery is fenced on its own.
 */
export const startMany = (deliveries: ReadonlyArray<Delivery>, consumer: string) =>
  Effect.gen(function* () {
    const first = deliveries[0]
    if (first === undefined) return []
    const { settings, p, inbox } = yield* keysOf(first)
    const replies = yield* runScript(Scripts.startMany, {
      keys: { jobs: p.jobs, events: p.events, inbox, paused: p.paused, ...p.model(first.actor) },
      args: { group: workerGroup, consumer, eventsMaxLen: settings.eventsMaxLen, actor: first.actor },
      moreArgs: deliveries.flatMap((d) => [d.jobId, d.entryId]),
    })
    return deliveries.map((delivery, i) => startedOf(delivery, (replies[i] ?? []) as Scripts.Reply))
  })

/** A delivery read and started by `claim`; `started` is absent for an entry that names no job. */
export interface Claimed {
  readonly delivery: Delivery
  readonly started: Either.Either<Started, Refusal> | undefined
}

/** A claim reply (of `claim`, or the second half of `complete-many`'s) as the worker uses it. */
const claimedOf = (partition: number, actor: string, reply: Scripts.Reply) =>
  reply.map((item): Claimed => {
    // The start reply's values follow the entry's three in the same array (one table less per job).
    const flat = item as Scripts.Reply
    const [lane, entryId, jobId] = flat as [number, string, string]
    const delivery: Delivery = { partition, actor, lane: lanes[lane - 1] ?? "normal", entryId, jobId }
    return { delivery, started: jobId === "" ? undefined : startedOf(delivery, flat.slice(3)) }
  })

/**
 * Reads up to `count` new deliveries of one actor's inboxes in a partition (high lane first) for
 * this consumer and starts them, in one call. Empty when nothing is waiting (block on a read
 * then) and while the actor is paused.
 */
export const claim = (partition: number, actor: string, consumer: string, count: number) =>
  Effect.gen(function* () {
    const { settings, p } = yield* keysOf({ partition, actor, lane: "normal" })
    const reply = yield* runScript(Scripts.claim, {
      keys: { jobs: p.jobs, events: p.events, ...inboxesOf(p, actor), paused: p.paused, ...p.model(actor) },
      args: { group: workerGroup, consumer, eventsMaxLen: settings.eventsMaxLen, count, actor },
    })
    return claimedOf(partition, actor, reply)
  })

/** The outcome of renewing one lease. */
export type Renewal = "renewed" | "lost" | "cancelRequested"

/** Renews the leases of running deliveries of one inbox in one call; one outcome per delivery. */
export const renew = (deliveries: ReadonlyArray<Delivery>, consumer: string) =>
  Effect.gen(function* () {
    const first = deliveries[0]
    if (first === undefined) return []
    const { p, inbox } = yield* keysOf(first)
    const pairs = deliveries.flatMap((delivery) => [delivery.entryId, delivery.jobId])
    const reply = yield* runScript(Scripts.renew, {
      keys: { jobs: p.jobs, inbox },
      args: { group: workerGroup, consumer },
      moreArgs: pairs,
    })
    return reply.map((code): Renewal => {
      switch (Number(code)) {
        case Code.ok:
          return "renewed"
        case Code.cancelRequested:
          return "cancelRequested"
        default:
          return "lost"
      }
    })
  })

/** Reports progress (0..1, with an optional note); appends `progress`. */
export const progress = (delivery: Delivery, consumer: string, fraction: number, note?: string) =>
  Effect.gen(function* () {
    const { settings, p, inbox } = yield* keysOf(delivery)
    const clamped = Math.min(1, Math.max(0, fraction))
    const data = JSON.stringify(note === undefined ? { fraction: clamped } : { fraction: clamped, note })
    const reply = yield* runScript(Scripts.progress, {
      keys: { jobs: p.jobs, events: p.events, inbox },
      args: { ...fenced(delivery, consumer), fraction: clamped, data, eventsMaxLen: settings.eventsMaxLen },
    })
    return yield* orRefusal(delivery, reply)
  })

/** The job succeeded with `output` (encoded JSON text); appends `succeeded`. Applied at most once. */
export const complete = (delivery: Delivery, consumer: string, output: string) =>
  Effect.gen(function* () {
    const { settings, p, inbox } = yield* keysOf(delivery)
    const reply = yield* runScript(Scripts.complete, {
      keys: { jobs: p.jobs, events: p.events, inbox, ...p.model(delivery.actor) },
      args: { ...fenced(delivery, consumer), output, eventsMaxLen: settings.eventsMaxLen },
    })
    return yield* orRefusal(delivery, reply)
  })

/** What `completeAndClaim` answers: one outcome per completion, and what it claimed after them. */
export interface CompletedMany {
  readonly completions: ReadonlyArray<Either.Either<void, Refusal>>
  /** The actor's next deliveries, claimed in the same call (`claimNext`), as `claim` answers. */
  readonly claimed: ReadonlyArray<Claimed>
}

/**
 * `complete` for jobs of one inbox in one call, then a claim of up to `claimNext` of the actor's
 * next deliveries in the partition (all three lanes, high first, none while it is paused), as
 * `claim` does: the next jobs arrive with the answer instead of a round trip later. One answer
 * per completion, in order (`CancelRequested`: the job was cancelled instead).
 */
export const completeAndClaim = (
  completions: ReadonlyArray<{ readonly delivery: Delivery; readonly output: string }>,
  consumer: string,
  claimNext: number,
) =>
  Effect.gen(function* () {
    const first = completions[0]
    if (first === undefined) return { completions: [], claimed: [] } satisfies CompletedMany
    const { settings, p, inbox } = yield* keysOf(first.delivery)
    const { actor, partition } = first.delivery
    const reply = yield* runScript(Scripts.completeMany, {
      keys: {
        jobs: p.jobs,
        events: p.events,
        inbox,
        ...p.model(actor),
        ...inboxesOf(p, actor),
        paused: p.paused,
      },
      args: {
        group: workerGroup,
        consumer,
        eventsMaxLen: settings.eventsMaxLen,
        claimNext: Math.max(0, Math.floor(claimNext)),
        actor,
      },
      moreArgs: completions.flatMap(({ delivery, output }) => [delivery.jobId, delivery.entryId, output]),
    })
    const replies = (reply[0] ?? []) as Scripts.Reply
    return {
      completions: completions.map(({ delivery }, i): Either.Either<void, Refusal> => {
        const one = (replies[i] ?? []) as Scripts.Reply
        return codeOf(one) === Code.ok ? Either.void : Either.left(refusal(delivery.jobId, one))
      }),
      claimed: claimedOf(partition, actor, (reply[1] ?? []) as Scripts.Reply),
    } satisfies CompletedMany
  })

/**
 * `complete` for jobs of one inbox in one call: one answer per job, in order (`CancelRequested`:
 * the job was cancelled instead). A worker records results that finished together this way.
 */
export const completeMany = (
  completions: ReadonlyArray<{ readonly delivery: Delivery; readonly output: string }>,
  consumer: string,
) => Effect.map(completeAndClaim(completions, consumer, 0), (done) => done.completions)

/** How a failed attempt is to be treated. */
export interface Failure {
  readonly error: ErrorInfo
  /** A non-retryable failure dead-letters at once. */
  readonly retryable: boolean
  /** The wait before the next attempt, when one remains. */
  readonly retryDelay: Duration.Duration
  /** The dead-letter reason for a non-retryable failure. */
  readonly reason?: DeadLetterReason
}

/** What became of a failed attempt. */
export type FailOutcome =
  | { readonly _tag: "retrying"; readonly retryAt: number }
  | { readonly _tag: "deadLettered"; readonly reason: DeadLetterReason }

/** The attempt failed: retry later, or dead-letter; appends `failed` (and `deadLettered`). */
export const fail = (delivery: Delivery, consumer: string, failure: Failure) =>
  Effect.gen(function* () {
    const { settings, p, inbox } = yield* keysOf(delivery)
    const reply = yield* runScript(Scripts.fail, {
      keys: {
        jobs: p.jobs,
        events: p.events,
        inbox,
        delayed: p.delayed(delivery.actor, delivery.lane),
        dead: p.dead(delivery.actor),
        ...p.model(delivery.actor),
      },
      args: {
        ...fenced(delivery, consumer),
        error: JSON.stringify(failure.error),
        retryable: failure.retryable ? 1 : 0,
        retryDelayMs: Math.round(Duration.toMillis(failure.retryDelay)),
        eventsMaxLen: settings.eventsMaxLen,
        deadLettersMaxLen: settings.deadLettersMaxLen,
        reason: failure.reason ?? "nonRetryable",
      },
    })
    if (codeOf(reply) !== Code.ok) return yield* Effect.fail(refusal(delivery.jobId, reply))
    return (
      reply[1] === "retrying"
        ? { _tag: "retrying", retryAt: Number(reply[2]) }
        : { _tag: "deadLettered", reason: reply[2] as DeadLetterReason }
    ) satisfies FailOutcome
  })

/** Hands the job back to its inbox at once, attempt not counted; appends `released`. */
export const release = (delivery: Delivery, consumer: string) =>
  Effect.gen(function* () {
    const { settings, p, inbox } = yield* keysOf(delivery)
    const reply = yield* runScript(Scripts.release, {
      keys: { jobs: p.jobs, events: p.events, inbox, ...p.model(delivery.actor) },
      args: { ...fenced(delivery, consumer), eventsMaxLen: settings.eventsMaxLen },
    })
    return yield* orRefusal(delivery, reply)
  })

/** The handler of a job whose cancel was requested has stopped: the job ends `cancelled`. */
export const confirmCancel = (delivery: Delivery, consumer: string) =>
  Effect.gen(function* () {
    const { settings, p, inbox } = yield* keysOf(delivery)
    const reply = yield* runScript(Scripts.confirmCancel, {
      keys: { jobs: p.jobs, events: p.events, inbox, ...p.model(delivery.actor) },
      args: { ...fenced(delivery, consumer), eventsMaxLen: settings.eventsMaxLen },
    })
    return yield* orRefusal(delivery, reply)
  })

/** Moves an entry that names no job to the dead letters with reason `malformed`. */
export const deadLetterEntry = (delivery: Delivery, consumer: string, detail: string) =>
  Effect.gen(function* () {
    const { settings, p, inbox } = yield* keysOf(delivery)
    const reply = yield* runScript(Scripts.deadLetterEntry, {
      keys: { inbox, dead: p.dead(delivery.actor), events: p.events, rates: p.rates },
      args: {
        entryId: delivery.entryId,
        group: workerGroup,
        consumer,
        actor: delivery.actor,
        detail,
        eventsMaxLen: settings.eventsMaxLen,
        deadLettersMaxLen: settings.deadLettersMaxLen,
      },
    })
    return yield* orRefusal(delivery, reply)
  })

/** What a reclaim pass found. */
export interface Reclaimed {
  readonly cursor: string
  /** Taken over by this consumer: start and run them. */
  readonly deliveries: ReadonlyArray<Delivery>
  readonly deadLettered: number
  readonly deleted: number
  readonly cancelled: number
}

/** Takes over deliveries of one inbox idle longer than `minIdle` (stalled), up to `count`. */
export const reclaim = (
  inbox: Pick<Delivery, "partition" | "actor" | "lane">,
  consumer: string,
  options: {
    readonly minIdle: Duration.Duration
    readonly count: number
    readonly maxDeliveries: number
    readonly cursor?: string
  },
) =>
  Effect.gen(function* () {
    // XAUTOCLAIM refuses COUNT 0: with no room there is nothing to take.
    if (options.count <= 0)
      return {
        cursor: options.cursor ?? "0-0",
        deliveries: [],
        deadLettered: 0,
        deleted: 0,
        cancelled: 0,
      } satisfies Reclaimed
    const { settings, p, inbox: key } = yield* keysOf(inbox)
    const reply = yield* runScript(Scripts.reclaim, {
      keys: {
        jobs: p.jobs,
        events: p.events,
        inbox: key,
        dead: p.dead(inbox.actor),
        ...p.model(inbox.actor),
      },
      args: {
        group: workerGroup,
        consumer,
        minIdleMs: Math.round(Duration.toMillis(options.minIdle)),
        count: options.count,
        maxDeliveries: options.maxDeliveries,
        eventsMaxLen: settings.eventsMaxLen,
        deadLettersMaxLen: settings.deadLettersMaxLen,
        cursor: options.cursor ?? "0-0",
      },
    })
    const pairs = (reply[1] ?? []) as ReadonlyArray<string>
    const deliveries: Array<Delivery> = []
    for (let i = 0; i + 1 < pairs.length; i += 2)
      deliveries.push({ ...inbox, entryId: String(pairs[i]), jobId: String(pairs[i + 1]) })
    return {
      cursor: String(reply[0]),
      deliveries,
      deadLettered: Number(reply[2]),
      deleted: Number(reply[3]),
      cancelled: Number(reply[4]),
    } satisfies Reclaimed
  })

/** Moves due delayed jobs and retries of one inbox back into it. */
export const promote = (inbox: Pick<Delivery, "partition" | "actor" | "lane">, limit = 500) =>
  Effect.gen(function* () {
    const { settings, p, inbox: key } = yield* keysOf(inbox)
    const reply = yield* runScript(Scripts.promote, {
      keys: {
        delayed: p.delayed(inbox.actor, inbox.lane),
        inbox: key,
        jobs: p.jobs,
        events: p.events,
        ...p.model(inbox.actor),
      },
      args: { limit, eventsMaxLen: settings.eventsMaxLen },
    })
    const wait = Number(reply[1])
    return { moved: Number(reply[0]), nextDueInMs: wait < 0 ? undefined : wait }
  })

/**
 * Removes consumers of an inbox that hold nothing and have been idle at least `minIdle`; with
 * `only`, just that consumer (a worker retiring its own name at a clean stop).
 */
export const pruneConsumers = (
  inbox: Pick<Delivery, "partition" | "actor" | "lane">,
  options: { readonly minIdle: Duration.Duration; readonly only?: string },
) =>
  Effect.gen(function* () {
    const { inbox: key } = yield* keysOf(inbox)
    const removed = yield* runScript(Scripts.pruneConsumers, {
      keys: { inbox: key },
      args: { group: workerGroup, minIdleMs: Math.round(Duration.toMillis(options.minIdle)), only: options.only ?? "" },
    })
    return Number(removed)
  })
