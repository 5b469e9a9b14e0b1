/**
 * `RedisClient` on a Redis Cluster. The command connection is one ioredis `Cluster` (a connection
 * per master it sends to, none to replicas); each blocking channel is a `Cluster` of its own, made
 * on first use, so a process holds at most one connection per master per channel: a worker two
 * per master (command + reads), a producer waiting for results two (command + tail). ioredis's
 * slot-map refresh opens a short-lived connection (`ioredis-cluster(refresher):…`) to one node
 * now and then; it is not held.
 *
 * State changes are logged for the cluster as a whole (its client lost, back) and per node (a
 * node failing, back): see `ClusterConnection`. Writes are not corked as on one server: the cork
 * is per socket, and a command's socket is only known once ioredis has routed it.
 */
import { Duration, Effect, Schedule, Scope } from "effect"
import type { Cluster, Redis } from "ioredis"
import type { ClusterTarget } from "../EddyConfig.js"
import type { BlockingChannel, RedisClientService } from "../RedisClientService.js"
import { type RedisError, RedisUnavailable } from "../RedisErrors.js"
import { clusterOptions, connectCluster, masterConnection, masterOf, nodeKey } from "./ClusterConnection.js"
import { bounded, type Connection, notAnswered, readyWithin } from "./RedisConnection.js"

/** `command` on every master of `connection`, within `bound` as a whole. */
const onEachMaster = <A>(
  connection: Connection<Cluster>,
  bound: Duration.Duration,
  command: (node: Redis) => Promise<A>,
): Effect.Effect<ReadonlyArray<A>, RedisError> =>
  bounded(connection, bound, (cluster) => Promise.all(cluster.nodes("master").map(command)))

/** The cluster client's service; connections close when the scope closes. */
export const make = (target: ClusterTarget, name: string, timeout: Duration.Duration) =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    const runtime = yield* Effect.runtime<never>()
    const command = yield* connectCluster(runtime, target, "command", clusterOptions(target, `${name}:cmd`, timeout))

    // A channel's cluster client is made on first use and lives as long as the client. Per node:
    // one call at a time, and the connection's server-side id (for `unblock`), learnt with the
    // first read on each connection (ioredis replaces a node's connection after it closed).
    const channel = (suffix: string, role: string) =>
      Effect.gen(function* () {
        const open = yield* Effect.cached(
          Scope.extend(
            connectCluster(runtime, target, role, clusterOptions(target, `${name}:${suffix}`, undefined)),
            scope,
          ),
        )
        let opened: Connection<Cluster> | undefined
        const ids = new WeakMap<Redis, number>()
        // The connections reads went over, by node, for `unblock`.
        const used = new Map<string, Redis>()
        const connection = Effect.suspend(() =>
          opened === undefined
            ? Effect.tap(open, (made) =>
                Effect.sync(() => {
                  opened = made
                  // A call without a route reaches its node through the cluster client: learn
                  // each node connection's id as it comes up (a read already queued on it goes
                  // first, so `unblock` cannot end that first read).
                  made.redis.on("+node", (redis: Redis) =>
                    redis.on("ready", () =>
                      redis.client("ID").then(
                        (id) => {
                          ids.set(redis, Number(id))
                          used.set(nodeKey(redis), redis)
                        },
                        () => {},
                      ),
                    ),
                  )
                }),
              )
            : Effect.succeed(opened),
        )
        const locks = new Map<string, Effect.Semaphore>()
        const lockOf = (node: string) => {
          let lock = locks.get(node)
          if (lock === undefined) {
            lock = Effect.unsafeMakeSemaphore(1)
            locks.set(node, lock)
          }
          return lock
        }
        /** The channel's connection to the master of `route`'s slot, waiting (bounded by the caller) for the slot map to name one. */
        const nodeFor = (cluster: Connection<Cluster>, route: string) =>
          cluster.whenReady.pipe(
            Effect.zipRight(
              Effect.suspend(() => {
                const node = masterOf(cluster.redis, route)
                const redis = node === undefined ? undefined : masterConnection(cluster.redis, node)
                if (node !== undefined && redis !== undefined) return Effect.succeed({ node, redis })
                cluster.redis.refreshSlotsCache()
                return Effect.fail(new RedisUnavailable({ message: `no master known for ${route}'s slot yet` }))
              }),
            ),
            Effect.retry({ schedule: Schedule.spaced("50 millis") }),
          )
        return { connection, lockOf, ids, used, nodeFor, opened: () => opened }
      })
    const channels: Record<BlockingChannel, Effect.Effect.Success<ReturnType<typeof channel>>> = {
      read: yield* channel("block", "blocking"),
      tail: yield* channel("tail", "tailing"),
    }

    const service: RedisClientService = {
      // Bounded by a plain timer even when ready: while a master fails over, ioredis retries a
      // command (refreshing its slot map) past any one connection's command timeout.
      run: (f) =>
        command.redis.status === "ready" ? readyWithin(command.redis, timeout, f) : bounded(command, timeout, f),
      blocking: (blockFor, f, on = "read", route) => {
        const bound = Duration.sum(Duration.decode(blockFor), timeout)
        const ch = channels[on]
        // Without a route, the channel's cluster client sends the command to the master of its
        // first key's slot (all its keys must share that slot: one partition), one such call at a
        // time. It only looks like a `Redis` to `command`, which may use any command on it.
        if (route === undefined)
          return ch.connection.pipe(
            Effect.flatMap((cluster) =>
              cluster.redis.status === "ready"
                ? readyWithin(cluster.redis, bound, (redis) => f(redis as unknown as Redis))
                : bounded(cluster, bound, (redis) => f(redis as unknown as Redis)),
            ),
            ch.lockOf("").withPermits(1),
          )
        return Effect.gen(function* () {
          const cluster = yield* ch.connection
          const { node, redis } = yield* ch
            .nodeFor(cluster, route)
            .pipe(Effect.timeoutFail({ duration: timeout, onTimeout: () => notAnswered(cluster, timeout) }))
          return yield* ch.lockOf(node).withPermits(1)(
            readyWithin(redis, bound, async (redis) => {
              ch.used.set(node, redis)
              if (!ch.ids.has(redis))
                // Sent before the read on the same connection, so it answers before the read blocks.
                redis.client("ID").then(
                  (id) => ch.ids.set(redis, Number(id)),
                  () => {},
                )
              return f(redis)
            }).pipe(
              // The slot moved (a failover, a resharding) under a call sent straight to a node.
              Effect.tapError((error) =>
                Effect.sync(() => {
                  if (/^(MOVED|ASK) /.test(error.message)) cluster.redis.refreshSlotsCache()
                }),
              ),
            ),
          )
        })
      },
      unblock: (on = "read") =>
        Effect.suspend(() => {
          const ch = channels[on]
          if (ch.opened() === undefined) return Effect.void
          return Effect.forEach(
            [...ch.used],
            ([node, redis]) => {
              const id = ch.ids.get(redis)
              const commandNode = masterConnection(command.redis, node)
              return id === undefined || commandNode === undefined
                ? Effect.void
                : readyWithin(commandNode, timeout, (redis) => redis.client("UNBLOCK", id)).pipe(Effect.ignore)
            },
            { concurrency: "unbounded", discard: true },
          )
        }),
      health: Effect.gen(function* () {
        const started = Date.now()
        yield* onEachMaster(command, timeout, (redis) => redis.ping()).pipe(
          Effect.catchTag("RedisCommandFailed", (error) =>
            Effect.fail(new RedisUnavailable({ message: error.message })),
          ),
        )
        return Duration.millis(Date.now() - started)
      }),
      isUp: Effect.sync(() => command.redis.status === "ready"),
      cluster: true,
      nodeOf: (key) => masterOf(command.redis, key) ?? "unknown",
      onEachMaster: (f) => onEachMaster(command, timeout, f),
      // On the very connection the `Cluster` sent the writes of `route`'s slot over: its pool's
      // connection to the slot's master (a WAIT on another connection would not cover them).
      waitForReplicas: (route, replicas, timeoutMs) =>
        Effect.suspend(() => {
          const node = masterOf(command.redis, route)
          const redis = node === undefined ? undefined : masterConnection(command.redis, node)
          return redis === undefined
            ? Effect.fail(new RedisUnavailable({ message: `no master known for ${route}'s slot` }))
            : readyWithin(redis, timeout, (redis) => redis.wait(replicas, timeoutMs))
        }),
      timeout,
      display: target.display,
    }
    return service
  })
