/**
 * Blocking stream reads over many partitions, shared by the worker's reader, the event tailer and
 * `eddy tail`. On one server: one read over every stream, as always. On a Redis Cluster a
 * command's keys must share one slot (`CROSSSLOT` otherwise, even for two slots of one node),
 * and each partition is a slot of its own (its hash tag), so one read covers one partition.
 * Holding a blocking connection per partition would break the connection budget (one read
 * connection per node), so each master node rotates over its partitions:
 *
 * 1. a non-blocking read of the node's other partitions, sent together (one write, pipelined on
 *    the node's connection);
 * 2. if that brought nothing, a blocking read of the partition whose turn it is, for at most
 *    `slice`: a delivery to another partition of the node waits at most the slice (plus a round
 *    trip) before the next round's non-blocking read finds it. Redis ends a block on its timer
 *    tick (`hz`, 10 a second by default), so the slice lasts up to 100 ms in practice.
 *
 * Nodes read in parallel, each on its own connection of the channel. Which node holds a partition
 * is asked again every round: a failover or a resharding moves slots. A read that failed never
 * cuts another short: an XREADGROUP's entries are the consumer's once it ran, reply or not.
 */
import { Duration, Effect, Either, Schedule } from "effect"
import { type BlockingChannel, classify, type RedisClientService, type RedisError } from "./RedisClient.js"

/** An XREAD / XREADGROUP reply: entries per stream, or null when nothing came. */
export type StreamReply = Array<[stream: string, entries: Array<[id: string, fields: Array<string>]>]> | null

/** The longest a cluster read blocks on one partition before its node's next round. */
export const slice: Duration.Duration = Duration.millis(50)

/** Which partition of each node blocks next; one per reader, kept across its rounds. */
export type Rotation = Map<string, number>

/** A fresh rotation. */
export const rotation = (): Rotation => new Map()

/** What `RedisClientService.blocking` hands its callback: a connection to the node being read. */
export type ReadConnection = Parameters<Parameters<RedisClientService["blocking"]>[1]>[0]

/** What to read and how. */
export interface Reads<E, R> {
  /** The streams, in read order; on a cluster they are read per partition (per hash tag). */
  readonly keys: ReadonlyArray<string>
  /** One read of `keys` (of one slot on a cluster), blocking `blockMs` when it is given. */
  readonly read: (
    connection: ReadConnection,
    keys: ReadonlyArray<string>,
    blockMs: number | undefined,
  ) => Promise<unknown>
  /** Handles each reply as soon as its node answers (a cluster round may bring several); also an empty one. */
  readonly onReply: (reply: StreamReply) => Effect.Effect<void, E, R>
  /** The longest one read blocks (on a cluster, at most `slice`). */
  readonly blockFor: Duration.DurationInput
  readonly channel: BlockingChannel
  /** Kept by the caller across rounds. */
  readonly rotation: Rotation
  /** Checked before blocking: false (a stop) ends a node's round without a blocking read. */
  readonly proceed?: () => boolean
  /**
   * `onReply` as a plain function, when it needs no effect (give both with `handledBy`). On one
   * server a round then reads again at once while replies come, `blockFor` in all, as one effect
   * (see `burst`).
   */
  readonly handle?: (reply: StreamReply) => void
}

/** `onReply` and `handle` from one plain function. */
export const handledBy = (handle: (reply: StreamReply) => void): Pick<Reads<never, never>, "onReply" | "handle"> => ({
  onReply: (reply) => Effect.sync(() => handle(reply)),
  handle,
})

/**
 * The slot-defining part of a key as Redis Cluster reads it: what is between the first `{` and
 * the next `}` when that is not empty, else the whole key. Keys with the same tag share a slot.
 */
export const hashTag = (key: string): string => {
  const open = key.indexOf("{")
  if (open < 0) return key
  const close = key.indexOf("}", open + 1)
  return close > open + 1 ? key.slice(open + 1, close) : key
}

/** The keys grouped per hash tag, groups in order of first appearance, keys in their order. */
export const byPartition = (keys: ReadonlyArray<string>): Array<Array<string>> => {
  const groups = new Map<string, Array<string>>()
  for (const key of keys) {
    const tag = hashTag(key)
    const group = groups.get(tag)
    if (group === undefined) groups.set(tag, [key])
    else group.push(key)
  }
  return [...groups.values()]
}

/** Whether a reply brought no entry. */
export const isEmpty = (reply: StreamReply): boolean => (reply ?? []).every(([, entries]) => entries.length === 0)

/**
 * Partitions per node as the client sees the slots now. A partition whose node is not known yet
 * (no slot map: the client just started, or every node is away) is a group of its own: its
 * reads are routed by its key, which waits for the slot map, and never share a command with a
 * partition of another node.
 */
const byNode = (redis: RedisClientService, partitions: ReadonlyArray<ReadonlyArray<string>>) => {
  const nodes = new Map<string, Array<ReadonlyArray<string>>>()
  for (const partition of partitions) {
    const known = redis.nodeOf(partition[0] as string)
    const node = known === "unknown" ? `unknown:${hashTag(partition[0] as string)}` : known
    const held = nodes.get(node)
    if (held === undefined) nodes.set(node, [partition])
    else held.push(partition)
  }
  return nodes
}

/**
 * Non-blocking reads of several partitions on one node's connection, written to its socket in one
 * system call (corked while they are sent): an idle cluster reader sends such a burst per node
 * several times a second, and a write each was most of its cost. Each read settles on its own: one
 * refused (its slot moved) must not drop the others' replies, whose entries an XREADGROUP has
 * already handed to the consumer.
 */
const together = <E, R>(
  connection: ReadConnection,
  partitions: ReadonlyArray<ReadonlyArray<string>>,
  reads: Reads<E, R>,
): Promise<Array<PromiseSettledResult<unknown>>> => {
  const stream = connection.stream as { cork?: () => void; uncork?: () => void } | undefined
  stream?.cork?.()
  try {
    return Promise.allSettled(partitions.map((keys) => reads.read(connection, keys, undefined)))
  } finally {
    stream?.uncork?.()
  }
}

/** One node's round over its partitions (see the module's comment). */
const nodeRound = <E, R>(
  redis: RedisClientService,
  reads: Reads<E, R>,
  node: string,
  partitions: ReadonlyArray<ReadonlyArray<string>>,
  blockFor: Duration.Duration,
): Effect.Effect<void, RedisError | E, R> =>
  Effect.gen(function* () {
    const turn = reads.rotation.get(node) ?? 0
    reads.rotation.set(node, turn + 1)
    const blocked = partitions[turn % partitions.length] as ReadonlyArray<string>
    // The partition about to block needs no read of its own first: a blocking read answers at
    // once when its streams hold something.
    const others = partitions.filter((partition) => partition !== blocked)
    if (others.length > 0) {
      const settled = yield* redis.blocking(
        Duration.zero,
        (connection) => together(connection, others, reads),
        reads.channel,
        others[0]?.[0],
      )
      const reply = settled.flatMap((one) => (one.status === "fulfilled" ? ((one.value as StreamReply) ?? []) : []))
      const refused = settled.find((one) => one.status === "rejected")
      if (!isEmpty(reply)) yield* reads.onReply(reply)
      if (refused !== undefined) return yield* Effect.fail(classify(refused.reason))
      if (!isEmpty(reply)) return
    }
    if (reads.proceed !== undefined && !reads.proceed()) return
    const ms = Duration.toMillis(blockFor)
    const reply = yield* redis.blocking(
      blockFor,
      (connection) => reads.read(connection, blocked, ms),
      reads.channel,
      blocked[0],
    )
    yield* reads.onReply(reply as StreamReply)
  })

/**
 * Runs the nodes' reads at once, each to its end even when another's fails (a node failing over),
 * then fails with the first failure: an XREADGROUP interrupted in flight still hands its entries
 * to this consumer, and with its reply dropped they would wait, unstarted, for the reclaimer.
 */
const allEnded = <E, R>(nodes: ReadonlyArray<Effect.Effect<unknown, E, R>>): Effect.Effect<void, E, R> =>
  Effect.all(nodes, { concurrency: "unbounded", mode: "either" }).pipe(
    Effect.flatMap((outcomes) => {
      for (const outcome of outcomes) if (Either.isLeft(outcome)) return Effect.fail(outcome.left)
      return Effect.void
    }),
  )

/**
 * On one server, reads handled by a plain function: read, handle, and read again at once while
 * replies come, until a read blocks out the time left of `blockFor`. The event tailer reads about
 * three times per job (submitted, started, ended), and an effect per read (the channel's lock, a
 * bound, a continuation) was most of what a producer's wait for a result cost
 * (docs/benchmarks.md). Once the round has ended (a stop, the bound) the read on the wire is
 * left to end and nothing more is read or handed on.
 */
const burst = <E, R>(
  redis: RedisClientService,
  reads: Reads<E, R>,
  handle: (reply: StreamReply) => void,
): Effect.Effect<void, RedisError> =>
  Effect.suspend(() => {
    let stopped = false
    const blockMs = Duration.toMillis(reads.blockFor)
    return redis
      .blocking(
        reads.blockFor,
        async (connection) => {
          const until = Date.now() + blockMs
          for (let left = blockMs; !stopped && left >= 1; left = until - Date.now()) {
            const reply = (await reads.read(connection, reads.keys, left)) as StreamReply
            if (stopped) return
            handle(reply)
            if (isEmpty(reply)) return
          }
        },
        reads.channel,
      )
      .pipe(
        // However the round ends (a stop, or the bound cutting a read short), a reply still on
        // the wire is dropped, as a single read's is: a later round reads from the same positions.
        Effect.ensuring(
          Effect.sync(() => {
            stopped = true
          }),
        ),
      )
  })

/**
 * One round of reads. On one server: one read of every key, blocking `blockFor`. On a cluster:
 * every master node's round (see the module's comment) at once; the round ends when every node's
 * has, within the slice and a round trip or so. `onReply` gets each reply as it comes.
 */
export const round = <E, R>(redis: RedisClientService, reads: Reads<E, R>): Effect.Effect<void, RedisError | E, R> => {
  if (!redis.cluster && reads.handle !== undefined) return burst(redis, reads, reads.handle)
  if (!redis.cluster)
    return redis
      .blocking(
        reads.blockFor,
        (connection) => reads.read(connection, reads.keys, Duration.toMillis(reads.blockFor)),
        reads.channel,
      )
      .pipe(Effect.flatMap((reply) => reads.onReply(reply as StreamReply)))
  const blockFor = Duration.min(Duration.decode(reads.blockFor), slice)
  return Effect.suspend(() =>
    allEnded(
      Array.from(byNode(redis, byPartition(reads.keys)), ([node, partitions]) =>
        nodeRound(redis, reads, node, partitions, blockFor),
      ),
    ),
  )
}

/**
 * Reads until interrupted, with the same rounds as `round`, except that on a cluster each node
 * goes on with its next round as soon as its own ends, instead of waiting for the slowest node:
 * a busy node's events are not held up by an idle node's slice. The nodes are grouped again
 * whenever a partition is found to have moved.
 */
export const follow = <E, R>(
  redis: RedisClientService,
  reads: Omit<Reads<E, R>, "proceed">,
): Effect.Effect<never, RedisError | E, R> => {
  // Nothing to read: wait for the interruption rather than go round without a read.
  if (reads.keys.length === 0) return Effect.never
  if (!redis.cluster) return Effect.forever(round(redis, reads))
  const blockFor = Duration.min(Duration.decode(reads.blockFor), slice)
  const partitions = byPartition(reads.keys)
  const regroup = Effect.suspend(() => {
    const nodes = byNode(redis, partitions)
    // A node's loop ends when one of its partitions has moved, or its read failed; the others
    // then end too, at the end of their own round (a failure reported only then), and the nodes
    // are grouped again.
    let moved = false
    const stillHeld = (node: string, held: ReadonlyArray<ReadonlyArray<string>>) =>
      !moved && held.every((partition) => redis.nodeOf(partition[0] as string) === node)
    return allEnded(
      Array.from(nodes, ([node, held]) =>
        // Round first, then the check (not `Effect.whileLoop`): a partition whose node is not known
        // yet never passes `stillHeld`, and only its own read (routed by its key) waits for the
        // slot map; checking first spun without a read until it came.
        nodeRound(redis, reads, node, held, blockFor).pipe(
          Effect.repeat({ while: () => stillHeld(node, held) }),
          Effect.ensuring(
            Effect.sync(() => {
              moved = true
            }),
          ),
        ),
      ),
    )
  })
  return Effect.forever(regroup)
}

/** What `RedisClientService.run` hands its callback: one server's connection, or the cluster client. */
export type Commands = Parameters<Parameters<RedisClientService["run"]>[0]>[0]

/**
 * A non-blocking read of every key on the command connection: on one server one command over all
 * of them; on a cluster one per partition, all sent at once (the cluster client routes each to
 * its node). The replies come back as one. On a cluster, what the partitions that answered brought
 * is returned even when others were refused (an XREADGROUP's entries are already the consumer's,
 * and the refused partitions are read again next time); it fails only when nothing came.
 */
export const readNow = (
  redis: RedisClientService,
  keys: ReadonlyArray<string>,
  read: (connection: Commands, keys: ReadonlyArray<string>) => Promise<unknown>,
): Effect.Effect<StreamReply, RedisError> =>
  redis.cluster
    ? redis.run((connection) =>
        Promise.allSettled(byPartition(keys).map((partition) => read(connection, partition))).then((settled) => {
          const reply: NonNullable<StreamReply> = settled.flatMap((one) =>
            one.status === "fulfilled" ? ((one.value as StreamReply) ?? []) : [],
          )
          const refused = settled.find((one) => one.status === "rejected")
          if (refused !== undefined && isEmpty(reply)) throw refused.reason
          return reply
        }),
      )
    : redis.run((connection) => read(connection, keys) as Promise<StreamReply>)

/**
 * How a long-lived reader rides out Redis trouble: tried again, backing off to every 2 seconds,
 * and afresh once reads have gone well for 10 seconds. The connection service logs the outage.
 */
export const outageRetry = Schedule.exponential("100 millis").pipe(
  Schedule.union(Schedule.spaced("2 seconds")),
  Schedule.resetAfter("10 seconds"),
)

/**
 * `follow` that never ends on Redis trouble: a failed round is tried again on `outageRetry`, from
 * the positions the caller keeps, so nothing is skipped. `onFailure` hears of each failure.
 */
export const followThroughOutages = <R>(
  redis: RedisClientService,
  reads: Omit<Reads<never, R>, "proceed">,
  onFailure: (error: RedisError) => Effect.Effect<void> = () => Effect.void,
): Effect.Effect<never, never, R> =>
  follow(redis, reads).pipe(Effect.tapError(onFailure), Effect.retry(outageRetry), Effect.orDie)
