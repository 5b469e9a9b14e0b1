/**
 * The process's Redis connections: one command connection shared by every component, plus,
 * made on first use, one blocking connection for inbox reads and one for tailing the event log.
 * A worker process holds two (command + reads) however many actors it hosts; a producer waiting
 * for results holds two (command + tail).
 *
 * Commands go out at once, any number in flight, and the writes of one tick leave in one system
 * call (see `coalesceWrites`). Not ioredis's auto-pipelining: it sends the next pipeline only
 * once the previous one has answered, so a command waited for whatever was on the wire before it
 * (a claim, a projector batch), up to a round trip per hop of a job.
 *
 * While Redis is unreachable, calls fail with `RedisUnavailable` within a bound (default 2 s)
 * instead of queueing forever; reconnects back off exponentially with jitter and a cap, and the
 * connection's state changes (up, lost, back) are logged once each. When Redis refuses a connection
 * in its own words (`ERR max number of clients reached`, `NOAUTH`, `WRONGPASS`, `LOADING`), those
 * words are what the lost log and `RedisUnavailable` show, not the socket's `EPIPE` or close.
 */
import { hostname } from "node:os"
import { type ConfigError, Context, Duration, Effect, Layer, Option, Redacted, Runtime, Schema, Scope } from "effect"
import { Redis, type RedisOptions } from "ioredis"
import * as EddyConfig from "./EddyConfig.js"
import * as EmbeddedRedis from "./EmbeddedRedis.js"
import { askRedis } from "./internal/askRedis.js"

/**
 * Redis could not be reached, or did not answer within the bound. Safe to retry later. When Redis
 * itself said why it refused the connection (`ERR max number of clients reached`, `NOAUTH …`,
 * `WRONGPASS …`, `LOADING …`), `redisSaid` holds its words, which the message also shows.
 */
export class RedisUnavailable extends Schema.TaggedError<RedisUnavailable>()("RedisUnavailable", {
  message: Schema.String,
  redisSaid: Schema.optional(Schema.String),
}) {}

/** Redis answered with an error (a bug or a misconfiguration, not an outage). */
export class RedisCommandFailed extends Schema.TaggedError<RedisCommandFailed>()("RedisCommandFailed", {
  message: Schema.String,
}) {}

export type RedisError = RedisUnavailable | RedisCommandFailed

/** The blocking connections a process may hold: one for inbox reads, one for tailing the log. */
export type BlockingChannel = "read" | "tail"

/** What a component may do with Redis. */
export interface RedisClientService {
  /** Runs commands on the shared command connection, failing within the bound. */
  readonly run: <A>(command: (redis: Redis) => Promise<A>) => Effect.Effect<A, RedisError>
  /**
   * Runs one blocking read (BLOCK `blockFor`) on a blocking connection. `read` (the default) is
   * the workers' inbox reads and the projector's; `tail` is the event tailer's, so that waiting
   * for results never stalls a worker. Calls on one channel are serialized.
   */
  readonly blocking: <A>(
    blockFor: Duration.DurationInput,
    command: (redis: Redis) => Promise<A>,
    channel?: BlockingChannel,
  ) => Effect.Effect<A, RedisError>
  /**
   * Ends a blocking read in progress on a channel at once (`CLIENT UNBLOCK`: it answers as if its
   * block time were over), so that a stop need not wait out the read. Does nothing when no read
   * is in progress or the channel was never opened.
   */
  readonly unblock: (channel?: BlockingChannel) => Effect.Effect<void>
  /** PING within the bound; succeeds with the round trip. */
  readonly health: Effect.Effect<Duration.Duration, RedisUnavailable>
  /** Whether the command connection is up right now. */
  readonly isUp: Effect.Effect<boolean>
  /** The bound within which every non-blocking call answers or fails. */
  readonly timeout: Duration.Duration
  /** Where Redis is, with the password masked. */
  readonly display: string
}

/** The process's Redis connections. */
export class RedisClient extends Context.Tag("@eddy/core/RedisClient")<RedisClient, RedisClientService>() {}

/** How to connect. */
export interface Options {
  readonly url: Redacted.Redacted<string>
  /** The bound for every call. Default 2 s. */
  readonly timeout?: Duration.DurationInput
  /** Names the connections in `CLIENT LIST` (`<name>:cmd`, `<name>:block`). */
  readonly name?: string
}

/** Reconnect delays: exponential from 50 ms, capped at 2 s, with full jitter above half. */
const reconnectDelay = (attempt: number): number => {
  const ceiling = Math.min(2_000, 50 * 2 ** Math.min(attempt, 10))
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2)
}

// ioredis reports connection trouble as plain Errors; these messages mean "not reachable now".
const unavailablePattern =
  /Stream isn't writeable|Connection is closed|max retries per request|Command aborted|Command timed out|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN/
// What ioredis rejects in-flight commands with when their connection closes (with
// `maxRetriesPerRequest: 0`, every close): the command may or may not have run.
const unavailableNames = new Set(["MaxRetriesPerRequestError", "AbortError"])

/** Maps an ioredis failure to the typed error callers handle. */
export const classify = (error: unknown): RedisError => {
  const message = error instanceof Error ? error.message : String(error)
  return (error instanceof Error && unavailableNames.has(error.name)) || unavailablePattern.test(message)
    ? new RedisUnavailable({ message })
    : new RedisCommandFailed({ message })
}

const connectionOptions = (name: string, timeout: Duration.Duration | undefined): RedisOptions => ({
  connectionName: name,
  enableAutoPipelining: false,
  // Fail at once while disconnected (we wait for `ready` ourselves, within the bound) instead of
  // queueing commands that would run at some unknown later time.
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  retryStrategy: reconnectDelay,
  ...(timeout === undefined ? {} : { commandTimeout: Duration.toMillis(timeout) }),
})

/** `closing` is our own quit: the close that follows is not an outage. */
type LinkState = "connecting" | "up" | "down" | "closing"

/** One ioredis connection, and a wait for it to be ready (the caller bounds the wait). */
interface Connection {
  readonly redis: Redis
  readonly whenReady: Effect.Effect<void>
  /** Why the connection is not up: what Redis said, else the last error; undefined while up. */
  readonly trouble: () => { readonly said?: string; readonly error?: string }
}

/** `RedisUnavailable` for a call that waited out `bound`, with the connection's trouble when it has one. */
const notAnswered = (connection: Connection, bound: Duration.Duration) => {
  const { said, error } = connection.trouble()
  const why = said ?? error
  return new RedisUnavailable({
    message: `Redis did not answer within ${Duration.format(bound)}${why === undefined ? "" : ` (${why})`}`,
    ...(said === undefined ? {} : { redisSaid: said }),
  })
}

// Errors that mean nobody is there to say anything: asking the server would tell nothing.
const silentPattern = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH/

/**
 * Opens one ioredis connection, logging its state changes once each; closed with the scope. Logs go
 * through `runtime`, the client's own: a connection opened lazily must not log with the
 * annotations (actor, jobId, …) of whichever caller happened to open it.
 */
const connect = (runtime: Runtime.Runtime<never>, url: string, display: string, role: string, options: RedisOptions) =>
  Effect.gen(function* () {
    const log = (effect: Effect.Effect<void>) =>
      Runtime.runFork(runtime)(effect.pipe(Effect.annotateLogs({ redis: display, connection: role })))
    let state: LinkState = "connecting"
    let lostAt = 0
    const redis = yield* Effect.acquireRelease(
      Effect.sync(() => new Redis(url, options)),
      (redis) =>
        Effect.sync(() => {
          state = "closing"
        }).pipe(
          // A blocking connection may sit in a BLOCK call that QUIT would wait out: just drop it.
          Effect.zipRight(role === "command" ? Effect.tryPromise(() => redis.quit()) : Effect.void),
          Effect.timeout("1 second"),
          Effect.ignore,
          Effect.ensuring(Effect.sync(() => redis.disconnect())),
        ),
    )
    // Callers waiting for `ready`. One listener for all of them: a `once("ready")` per caller would
    // pile up past Node's listener limit while Redis is away and many calls wait.
    const waiting = new Set<() => void>()
    // Why the connection is down: what Redis itself said (a reply error, or what `askRedis` heard)
    // and the last error ioredis reported, which for a refusal is only `write EPIPE` or a close.
    let said: string | undefined
    let lastError: string | undefined
    let asking = false
    let askedAt = Number.NEGATIVE_INFINITY
    // Asks the server why, in its own words; `then` runs once it has answered (or not). At most
    // once per 10 s while it has said nothing, so that a long outage never becomes a connection loop.
    const ask = (then: () => void) => {
      if (asking || said !== undefined || Date.now() - askedAt < 10_000) return then()
      asking = true
      askedAt = Date.now()
      askRedis(url).then((answer) => {
        asking = false
        if (answer !== undefined && state !== "up" && state !== "closing") said = answer
        then()
      })
    }
    redis.on("ready", () => {
      if (state === "down") log(Effect.logInfo(`Redis connection back after ${Date.now() - lostAt} ms`))
      else if (state === "connecting") log(Effect.logDebug("Redis connection up"))
      state = "up"
      said = undefined
      lastError = undefined
      for (const wake of [...waiting]) wake()
    })
    const lost = (reason: string) => {
      if (state === "down" || state === "closing") return
      state = "down"
      lostAt = Date.now()
      const report = () => {
        if (state === "down")
          log(Effect.logWarning(`Redis connection lost (${said ?? reason}); reconnecting with backoff`))
      }
      if (said !== undefined || silentPattern.test(reason)) report()
      else ask(report)
    }
    redis.on("close", () => lost(lastError ?? "closed"))
    // Without a listener ioredis prints every failed reconnect; the state change is logged once above.
    redis.on("error", (error: Error) => {
      lastError = error.message
      // A reply error on connecting is Redis refusing us in its own words (NOAUTH, WRONGPASS).
      if (error.name === "ReplyError") said = error.message
      else if (silentPattern.test(error.message)) said = undefined
      lost(error.message)
    })
    // Connected but not ready: ioredis waits quietly while Redis loads its data. Ask why, and
    // log it when Redis says something new (a change of state: refused, then loading).
    redis.on("connect", () => {
      setTimeout(() => {
        if (state === "up" || state === "closing" || redis.status === "ready") return
        const before = said
        ask(() => {
          if (said === undefined || said === before || state === "up" || state === "closing") return
          if (state === "connecting") lostAt = Date.now()
          state = "down"
          log(Effect.logWarning(`Redis is not ready (${said}); waiting for it`))
        })
      }, 500).unref()
    })
    const whenReady = Effect.async<void>((resume) => {
      if (redis.status === "ready") return resume(Effect.void)
      const wake = () => {
        waiting.delete(wake)
        resume(Effect.void)
      }
      waiting.add(wake)
      return Effect.sync(() => waiting.delete(wake))
    })
    const trouble = () =>
      redis.status === "ready"
        ? {}
        : { ...(said === undefined ? {} : { said }), ...(lastError === undefined ? {} : { error: lastError }) }
    return { redis, whenReady, trouble } satisfies Connection
  })

/**
 * Runs `command` once the connection is ready, failing with `RedisUnavailable` past `bound`. The
 * wait is interruptible even where its caller is not (a finalizer: a worker's shutdown), since a
 * timeout cannot cut an uninterruptible wait short: the bound would not hold while Redis is away.
 */
const bounded = <A>(connection: Connection, bound: Duration.Duration, command: (redis: Redis) => Promise<A>) =>
  connection.whenReady.pipe(
    Effect.zipRight(Effect.tryPromise({ try: () => command(connection.redis), catch: classify })),
    Effect.interruptible,
    Effect.timeoutFail({ duration: bound, onTimeout: () => notAnswered(connection, bound) }),
  )

/**
 * `command` on a ready connection, failing with `RedisUnavailable` past `bound`: `bounded`
 * without its wait for the connection, and with a plain timer where `Effect.timeoutFail` forks a
 * fiber per call. Blocking reads come once per event or delivery, which made that their main cost.
 */
const readyWithin = <A>(redis: Redis, bound: Duration.Duration, command: (redis: Redis) => Promise<A>) =>
  Effect.async<A, RedisError>((resume) => {
    let done = false
    const finish = (effect: Effect.Effect<A, RedisError>) => {
      if (done) return
      done = true
      clearTimeout(timer)
      resume(effect)
    }
    const timer = setTimeout(
      () =>
        finish(Effect.fail(new RedisUnavailable({ message: `Redis did not answer within ${Duration.format(bound)}` }))),
      Duration.toMillis(bound),
    )
    try {
      command(redis).then(
        (value) => finish(Effect.succeed(value)),
        (error: unknown) => finish(Effect.fail(classify(error))),
      )
    } catch (error) {
      finish(Effect.fail(classify(error)))
    }
    return Effect.sync(() => {
      done = true
      clearTimeout(timer)
    })
  })

/**
 * Holds the connection's writes back until the current tick's work is done (`cork`, then
 * `uncork` on the next tick), so that the commands which fibers woken together send leave in one
 * `writev`: on a loopback socket each write system call costs about as much as the command.
 * Nothing waits for a reply, and the next tick's commands go out at once.
 */
const coalesceWrites = (redis: Redis) => {
  let corked = false
  return (): void => {
    if (corked) return
    // Read each time: a reconnect replaces the socket.
    const stream = redis.stream
    corked = true
    stream.cork()
    process.nextTick(() => {
      corked = false
      stream.uncork()
    })
  }
}

/** Builds the service over a URL; connections close when the scope closes. */
export const make = (options: Options) =>
  Effect.gen(function* () {
    const timeout = Duration.decode(options.timeout ?? "2 seconds")
    const name = (options.name ?? `eddy:${hostname()}:${process.pid}`).replace(/\s/g, "_")
    const url = Redacted.value(options.url)
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
      blocking: (blockFor, f, on = "read") => {
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
      timeout,
      display,
    }
    return service
  })

/** A layer over an explicit URL. */
export const layer = (options: Options): Layer.Layer<RedisClient> => Layer.scoped(RedisClient, make(options))

/**
 * The layer a process runs with: `EDDY_REDIS_URL` when set, otherwise an embedded `redis-server`
 * (data under `EDDY_DATA_DIR`) that lives as long as the layer.
 */
export const layerConfig: Layer.Layer<RedisClient, EmbeddedRedis.EmbeddedRedisError | ConfigError.ConfigError> =
  Layer.scoped(
    RedisClient,
    Effect.gen(function* () {
      const target = yield* EddyConfig.redisTarget
      const timeout = yield* EddyConfig.redisTimeout
      const url = yield* Option.match(target, {
        onSome: (target) => Effect.succeed(target.url),
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
