/**
 * One ioredis `Cluster` (a connection per master it uses), as `RedisClient` uses it on a Redis
 * Cluster: opened with its state changes logged once each, for the cluster as a whole (lost, back)
 * and per node (a node failing, a node back), and with the options that keep the client's bound.
 *
 * How the options play together while a master fails over: commands are never queued while the
 * cluster client is not ready (`enableOfflineQueue: false`, they fail at once and the caller waits
 * for `ready` within its bound); a command whose node's connection closed is retried after
 * `retryDelayOnFailover` and one refused with CLUSTERDOWN after `retryDelayOnClusterDown`, each
 * retry refreshing the slot map, at most `maxRedirections` times; MOVED (a slot changed owner)
 * is followed at once with a refresh, ASK once. The caller's bound cuts all of this short with
 * `RedisUnavailable`, and once a replica has been promoted the refreshed map sends the slot's
 * commands to it.
 */
import calculateSlot from "cluster-key-slot"
import { Duration, Effect, Redacted, type Runtime } from "effect"
import { Cluster, type ClusterOptions, type Redis } from "ioredis"
import type { ClusterTarget } from "../EddyConfig.js"
import { watchLink } from "./LinkState.js"
import { type Connection, reconnectDelay, scopedClient } from "./RedisConnection.js"

/** The options of one cluster client; `timeout` bounds each command on its node connections. */
export const clusterOptions = (
  target: ClusterTarget,
  name: string,
  timeout: Duration.Duration | undefined,
): ClusterOptions => ({
  redisOptions: {
    connectionName: name,
    enableAutoPipelining: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    ...(timeout === undefined ? {} : { commandTimeout: Math.max(1, Math.round(Duration.toMillis(timeout))) }),
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: Redacted.value(target.password) }),
    ...(target.tls ? { tls: {} } : {}),
  },
  clusterRetryStrategy: reconnectDelay,
  enableOfflineQueue: false,
  // Ready once the slot map is known. The ready check's CLUSTER INFO would go to a seed node
  // before the map says which seeds are replicas, and the connection it opened would stay.
  enableReadyCheck: false,
  // Reads and writes go to masters only: a replica's data lags, and a worker's reads ack.
  scaleReads: "master",
  maxRedirections: 16,
  retryDelayOnMoved: 0,
  retryDelayOnFailover: 100,
  retryDelayOnClusterDown: 100,
  retryDelayOnTryAgain: 100,
  slotsRefreshTimeout: 1_000,
})

/** A node as ioredis names it in its slot map: `host:port`. */
export const nodeKey = (redis: Redis): string => `${redis.options.host}:${redis.options.port}`

/** The master serving `key`'s slot in `cluster`'s current slot map, if it knows one. */
export const masterOf = (cluster: Cluster, key: string): string | undefined => cluster.slots[calculateSlot(key)]?.[0]

/** `cluster`'s connection to the master `node` (`host:port`), if it has one in its pool now. */
export const masterConnection = (cluster: Cluster, node: string): Redis | undefined =>
  cluster.nodes("master").find((redis) => nodeKey(redis) === node)

/**
 * Opens a cluster client, logging its state changes once each; closed with the scope. Logs go
 * through `runtime`, the client's own (see `RedisConnection.connect`).
 */
export const connectCluster = (
  runtime: Runtime.Runtime<never>,
  target: ClusterTarget,
  role: string,
  options: ClusterOptions,
) =>
  Effect.gen(function* () {
    const { link, log, ready, lose, reportLost, closing, whenReady, trouble } = watchLink(
      runtime,
      { redis: target.display, connection: role },
      "Redis cluster connection",
      () => cluster.status === "ready",
    )
    const cluster = yield* scopedClient(
      () =>
        new Cluster(
          target.nodes.map((node) => ({ host: node.host, port: node.port })),
          options,
        ),
      role,
      closing,
    )
    // Nodes whose trouble was logged and not yet their return.
    const troubled = new Set<string>()
    const nodeTrouble = (node: string, why: string) => {
      link.lastError = `${node}: ${why}`
      if (link.state !== "up" || troubled.has(node)) return
      troubled.add(node)
      log(Effect.logWarning(`Redis node ${node} failing (${why}); its slots wait for it or its replica`))
    }
    cluster.on("ready", ready)
    const lost = (reason: string) => {
      if (lose()) reportLost(reason)
    }
    // Without listeners ioredis prints every failed reconnect; state changes are logged once (LinkState).
    cluster.on("error", (error: Error) => {
      link.lastError = error.message
    })
    cluster.on("close", () => lost(link.lastError ?? "closed"))
    cluster.on("reconnecting", () => lost(link.lastError ?? "closed"))
    cluster.on("node error", (error: Error, node: string) => {
      if (error.name === "ReplyError") link.said = error.message
      nodeTrouble(node, error.message)
    })
    // A node leaving the pool is trouble only when its connection was in use: a new slot map also
    // drops entries never connected (seeds that are replicas), and so does this client (below).
    const used = new WeakSet<Redis>()
    const dropped = new WeakSet<Redis>()
    cluster.on("-node", (redis: Redis) => {
      if (link.state === "up" && used.has(redis) && !dropped.has(redis))
        nodeTrouble(nodeKey(redis), "its connection closed")
    })
    // No connection is held to a replica. ioredis takes the seeds for masters until its first slot
    // map says otherwise, then sends READONLY to each seed that is a replica, which opens a
    // connection there; such connections are dropped (a later map makes the replica's entry
    // anew, unconnected).
    cluster.on("refresh", () => {
      for (const replica of cluster.nodes("slave")) {
        if (replica.status === "wait" || replica.status === "end") continue
        dropped.add(replica)
        replica.disconnect()
      }
    })
    cluster.on("+node", (redis: Redis) => {
      redis.once("connect", () => used.add(redis))
      redis.once("ready", () => {
        const node = nodeKey(redis)
        if (troubled.delete(node) && link.state !== "closing") log(Effect.logInfo(`Redis node ${node} back`))
      })
    })
    return { redis: cluster, whenReady, trouble } satisfies Connection<Cluster>
  })
