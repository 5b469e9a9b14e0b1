/**
 * What a component may do with Redis: the interface of `RedisClient`'s service (which
 * re-exports these types), on one server or on a Redis Cluster.
 */
import type { Duration, Effect } from "effect"
import type { Cluster, Redis } from "ioredis"
import type { RedisError, RedisUnavailable } from "./RedisErrors.js"

/** The blocking connections a process may hold: one for inbox reads, one for tailing the log. */
export type BlockingChannel = "read" | "tail"

/**
 * What `run`'s callback receives: the command connection, or on a cluster the ioredis `Cluster`,
 * which sends each command to the master of its first key's slot (so a command's keys must share
 * one slot: one partition's hash tag) and follows MOVED and ASK.
 */
export type Commands = Redis | Cluster

/** What a component may do with Redis. */
export interface RedisClientService {
  /** Runs commands on the shared command connection, failing within the bound. */
  readonly run: <A>(command: (redis: Commands) => Promise<A>) => Effect.Effect<A, RedisError>
  /**
   * Runs one blocking read (BLOCK `blockFor`) on a blocking connection. `read` (the default) is
   * the workers' inbox reads and the projector's; `tail` is the event tailer's, so that waiting
   * for results never stalls a worker. On one server, calls on one channel are serialized and
   * `route` is ignored. On a cluster, the call goes to the master holding `route`'s slot (a key:
   * the command's keys must all share its slot), over the channel's connection to that node;
   * calls are serialized per channel and node, so different nodes block at the same time. A call
   * without `route` on a cluster goes through the channel's cluster client, which sends it to the
   * master of its first key's slot (so all its keys must share one slot: one partition); such
   * calls are serialized per channel.
   */
  readonly blocking: <A>(
    blockFor: Duration.DurationInput,
    command: (redis: Redis) => Promise<A>,
    channel?: BlockingChannel,
    route?: string,
  ) => Effect.Effect<A, RedisError>
  /**
   * Ends the blocking reads in progress on a channel at once (`CLIENT UNBLOCK`: each answers as
   * if its block time were over), on every node, so that a stop need not wait out the reads. Does
   * nothing when no read is in progress or the channel was never opened.
   */
  readonly unblock: (channel?: BlockingChannel) => Effect.Effect<void>
  /** PING within the bound (on a cluster, every master); succeeds with the (slowest) round trip. */
  readonly health: Effect.Effect<Duration.Duration, RedisUnavailable>
  /** Whether the command connection is up right now (on a cluster: the client has its slot map). */
  readonly isUp: Effect.Effect<boolean>
  /** Whether the client talks to a Redis Cluster. */
  readonly cluster: boolean
  /**
   * The master serving `key`'s slot now, as "host:port" (one server: its one address). For
   * grouping reads by node; may change after a failover or a resharding, so ask again each round.
   * "unknown" while a cluster client has no slot map yet (just made, or every node away).
   */
  readonly nodeOf: (key: string) => string
  /**
   * Runs `command` on every master (SCAN, CLIENT LIST, INFO); on one server, once. Bounded as a
   * whole: fails with `RedisUnavailable` if a master does not answer within the bound.
   */
  readonly onEachMaster: <A>(command: (node: Redis) => Promise<A>) => Effect.Effect<ReadonlyArray<A>, RedisError>
  /**
   * `WAIT replicas timeoutMs` on the command connection that writes `route`'s slot (on a cluster,
   * to the master holding it now; on one server, the command connection): how many replicas have
   * everything that connection wrote. For durable submits (`DurableSubmit`). Keep `timeoutMs`
   * below the bound: the call fails with `RedisUnavailable` past it.
   */
  readonly waitForReplicas: (route: string, replicas: number, timeoutMs: number) => Effect.Effect<number, RedisError>
  /** The bound within which every non-blocking call answers or fails. */
  readonly timeout: Duration.Duration
  /** Where Redis is, with the password masked. */
  readonly display: string
}
