/**
 * The process's Redis connections: one command connection shared by every component, plus,
 * made on first use, one blocking connection for inbox reads and one for tailing the event log.
 * A worker process holds two (command + reads) however many actors it hosts; a producer waiting
 * for results holds two (command + tail). On a Redis Cluster (`EDDY_REDIS_CLUSTER`), the same
 * per master node, and none on replicas: see `internal/ClusterClient.ts`.
 *
 * Commands go out at once, any number in flight, and on one server the writes of one tick leave
 * in one system call (see `coalesceWrites`). Not ioredis's auto-pipelining: it sends the next
 * pipeline only once the previous one has answered, so a command waited for whatever was on the
 * wire before it (a claim, a projector batch), up to a round trip per hop of a job.
 *
 * While Redis is unreachable, calls fail with `RedisUnavailable` within a bound (default 2 s)
 * instead of queueing forever; reconnects back off exponentially with jitter and a cap, and the
 * connection's state changes (up, lost, back) are logged once each. When Redis refuses a connection
 * in its own words (`ERR max number of clients reached`, `NOAUTH`, `WRONGPASS`, `LOADING`), those
 * words are what the lost log and `RedisUnavailable` show, not the socket's `EPIPE` or close.
 */
import { hostname } from "node:os"
import { type ConfigError, Context, Duration, Effect, Layer, Option, Redacted, Scope } from "effect"
import type { Redis } from "ioredis"
import * as EddyConfig from "./EddyConfig.js"
import * as EmbeddedRedis from "./EmbeddedRedis.js"
import * as ClusterClient from "./internal/ClusterClient.js"
import {
  bounded,
  type Connection,
  coalesceWrites,
  connect,
  connectionOptions,
  readyWithin,
} from "./internal/RedisConnection.js"
import type { BlockingChannel, RedisClientService } from "./RedisClientService.js"
import { classify, RedisUnavailable } from "./RedisErrors.js"

export type { BlockingChannel, Commands, RedisClientService } from "./RedisClientService.js"
export { classify, RedisCommandFailed, type RedisError, RedisUnavailable } from "./RedisErrors.js"

/** The process's Redis connections. */
export class RedisClient extends Context.Tag("@eddy/core/RedisClient")<RedisClient, RedisClientService>() {}

/** How to connect: `url` for one server, or `cluster` for a Redis Cluster. */
export type Options = {
  /** The bound for every call. Default 2 s. */
  readonly timeout?: Duration.DurationInput
  /** Names the connections in `CLIENT LIST` (`<name>:cmd`, `<name>:block`, `<name>:tail`). */
  readonly name?: string
} & (
  | { readonly url: Redacted.Redacted<string>; readonly cluster?: undefined }
  | { readonly cluster: EddyConfig.ClusterTarget; readonly url?: undefined }
)

/** Builds the service; connections close when the scope closes. */
export const make = (options: Options): Effect.Effect<RedisClientService, never, Scope.Scope> => {
  const timeout = Duration.decode(options.timeout ?? "2 seconds")
  const name = (options.name ?? `eddy:${hostname()}:${process.pid}`).replace(/\s/g, "_")
  return options.cluster === undefined
    ? makeServer(options.url, name, timeout)
    : ClusterClient.make(options.cluster, name, timeout)
}

/** The service over one server. */
const makeServer = (redacted: Redacted.Redacted<string>, name: string, timeout: Duration.Duration) =>
  Effect.gen(function* () {
    const url = Redacted.value(redacted)
    const display = EddyConfig.maskRedisUrl(url)
    const scope = yield* Effect.scope
    const runtime = yield* Effect.runtime<never>()
    const command = yield* connect(runtime, url, display, "command", connectionOptions(`${name}:cmd`, timeout))
    // Each channel's connection is made on first use, so a producer-only process opens none; it
    // lives as long as the client. One call at a time per channel.
    const channel = (suffix: string, role: string) =>
      Effect.gen(function* () {
        const open = yield* Effect.cached(
          Scope.extend(connect(runtime, url, display, role, connectionOptions(`${name}:${suffix}`, undefined)), scope),
        )
        // Kept once opened, sparing each read the cached effect's own bookkeeping.
        let opened: Connection | undefined
        // The connection's id on the server, for `unblock`; learnt each time it is (re)connected,
        // before any read is sent on it.
        let clientId: number | undefined
        const learnId = (redis: Redis) => {
          clientId = undefined
          redis.client("ID").then(
            (id) => {
              clientId = Number(id)
            },
            () => {},
          )
        }
        const connection = Effect.suspend(() =>
          opened === undefined
            ? Effect.tap(open, (made) => {
                opened = made
                made.redis.on("ready", () => learnId(made.redis))
                if (made.redis.status === "ready") learnId(made.redis)
              })
            : Effect.succeed(opened),
        )
        const lock = yield* Effect.makeSemaphore(1)
        return { connection, lock, clientId: () => clientId }
      })
    const channels: Record<BlockingChannel, Effect.Effect.Success<ReturnType<typeof channel>>> = {
      read: yield* channel("block", "blocking"),
      tail: yield* channel("tail", "tailing"),
    }

    const holdWrites = coalesceWrites(command.redis)
    const address = `${command.redis.options.host}:${command.redis.options.port}`
    const service: RedisClientService = {
      // The hot path: on a ready command connection, ioredis's own `commandTimeout` is the bound,
      // which spares every call a forked timeout fiber; otherwise wait for the connection, bounded.
      run: (f) =>
        command.redis.status === "ready"
          ? Effect.tryPromise({
              try: () => {
                holdWrites()
                return f(command.redis)
              },
              catch: classify,
            })
          : bounded(command, timeout, f),
      blocking: (blockFor, f, on = "read", _route) => {
        const bound = Duration.sum(Duration.decode(blockFor), timeout)
        return channels[on].connection.pipe(
          Effect.flatMap((connection) =>
            connection.redis.status === "ready"
              ? readyWithin(connection.redis, bound, f)
              : bounded(connection, bound, f),
          ),
          channels[on].lock.withPermits(1),
        )
      },
      unblock: (on = "read") =>
        Effect.suspend(() => {
          const id = channels[on].clientId()
          return id === undefined
            ? Effect.void
            : bounded(command, timeout, (redis) => redis.client("UNBLOCK", id)).pipe(Effect.ignore)
        }),
      health: Effect.gen(function* () {
        const started = Date.now()
        yield* bounded(command, timeout, (redis) => redis.ping()).pipe(
          Effect.catchTag("RedisCommandFailed", (error) =>
            Effect.fail(new RedisUnavailable({ message: error.message })),
          ),
        )
        return Duration.millis(Date.now() - started)
      }),
      isUp: Effect.sync(() => command.redis.status === "ready"),
      cluster: false,
      nodeOf: () => address,
      onEachMaster: (f) => bounded(command, timeout, (redis) => f(redis).then((result) => [result])),
      waitForReplicas: (_route, replicas, timeoutMs) =>
        bounded(command, timeout, (redis) => redis.wait(replicas, timeoutMs)),
      timeout,
      display,
    }
    return service
  })

/** A layer over an explicit URL. */
export const layer = (options: Options): Layer.Layer<RedisClient> => Layer.scoped(RedisClient, make(options))

/**
 * The layer a process runs with: `EDDY_REDIS_URL` (one server) or `EDDY_REDIS_CLUSTER` (a
 * cluster) when set, otherwise an embedded `redis-server` (data under `EDDY_DATA_DIR`) that lives
 * as long as the layer.
 */
export const layerConfig: Layer.Layer<RedisClient, EmbeddedRedis.EmbeddedRedisError | ConfigError.ConfigError> =
  Layer.scoped(
    RedisClient,
    Effect.gen(function* () {
      const target = yield* EddyConfig.redisConnection
      const timeout = yield* EddyConfig.redisTimeout
      if (Option.isSome(target) && target.value.kind === "cluster")
        return yield* make({ cluster: target.value, timeout })
      const url = yield* Option.match(target, {
        onSome: (target) => Effect.succeed(target.kind === "server" ? target.url : Redacted.make("")),
        onNone: () =>
          Effect.gen(function* () {
            const dir = yield* EddyConfig.dataDir
            const appendfsync = yield* EddyConfig.appendfsync
            const server = yield* EmbeddedRedis.start({ dir, appendfsync })
            yield* Effect.logInfo(`embedded redis-server ready at ${server.url} (data in ${server.dir})`)
            yield* EmbeddedRedis.advertise(server)
            return Redacted.make(server.url)
          }),
      })
      return yield* make({ url, timeout })
    }),
  )
