/**
 * One ioredis connection to one server, as `RedisClient` uses it: opened with its state changes
 * logged once each, and calls on it bounded. The cluster's counterpart is `ClusterConnection`.
 */
import { Duration, Effect, type Runtime } from "effect"
import { Redis, type RedisOptions } from "ioredis"
import { classify, type RedisError, RedisUnavailable } from "../RedisErrors.js"
import { askRedis } from "./askRedis.js"
import { watchLink } from "./LinkState.js"

/** Reconnect delays: exponential from 50 ms, capped at 2 s, with full jitter above half. */
export const reconnectDelay = (attempt: number): number => {
  const ceiling = Math.min(2_000, 50 * 2 ** Math.min(attempt, 10))
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2)
}

export const connectionOptions = (name: string, timeout: Duration.Duration | undefined): RedisOptions => ({
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

/** One ioredis connection, and a wait for it to be ready (the caller bounds the wait). */
export interface Connection<C = Redis> {
  readonly redis: C
  readonly whenReady: Effect.Effect<void>
  /** Why the connection is not up: what Redis said, else the last error; undefined while up. */
  readonly trouble: () => { readonly said?: string; readonly error?: string }
}

/** `RedisUnavailable` for a call that waited out `bound`, with the connection's trouble when it has one. */
export const notAnswered = <C>(connection: Connection<C>, bound: Duration.Duration) => {
  const { said, error } = connection.trouble()
  const why = said ?? error
  return new RedisUnavailable({
    message: `Redis did not answer within ${Duration.format(bound)}${why === undefined ? "" : ` (${why})`}`,
    ...(said === undefined ? {} : { redisSaid: said }),
  })
}

// Errors that mean nobody is there to say anything: asking the server would tell nothing.
export const silentPattern = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH/

/**
 * A client (one connection or a cluster's) that closes with the scope: `closing` runs first (our own
 * quit is not an outage), then a command client QUITs within 1 s and is dropped; a blocking one is
 * dropped at once, since it may sit in a BLOCK call that QUIT would wait out.
 */
export const scopedClient = <C extends { quit(): Promise<unknown>; disconnect(): void }>(
  open: () => C,
  role: string,
  closing: () => void,
) =>
  Effect.acquireRelease(Effect.sync(open), (client) =>
    Effect.sync(closing).pipe(
      Effect.zipRight(role === "command" ? Effect.tryPromise(() => client.quit()) : Effect.void),
      Effect.timeout("1 second"),
      Effect.ignore,
      Effect.ensuring(Effect.sync(() => client.disconnect())),
    ),
  )

/**
 * Opens one ioredis connection, logging its state changes once each; closed with the scope. Logs go
 * through `runtime`, the client's own: a connection opened lazily must not log with the
 * annotations (actor, jobId, …) of whichever caller happened to open it.
 */
export const connect = (
  runtime: Runtime.Runtime<never>,
  url: string,
  display: string,
  role: string,
  options: RedisOptions,
) =>
  Effect.gen(function* () {
    const { link, log, ready, lose, reportLost, notReady, closing, whenReady, trouble } = watchLink(
      runtime,
      { redis: display, connection: role },
      "Redis connection",
      () => redis.status === "ready",
    )
    const redis = yield* scopedClient(() => new Redis(url, options), role, closing)
    let asking = false
    let askedAt = Number.NEGATIVE_INFINITY
    // Asks the server why, in its own words; `then` runs once it has answered (or not). At most
    // once per 10 s while it has said nothing, so that a long outage never becomes a connection loop.
    const ask = (then: () => void) => {
      if (asking || link.said !== undefined || Date.now() - askedAt < 10_000) return then()
      asking = true
      askedAt = Date.now()
      askRedis(url).then((answer) => {
        asking = false
        if (answer !== undefined && link.state !== "up" && link.state !== "closing") link.said = answer
        then()
      })
    }
    redis.on("ready", ready)
    const lost = (reason: string) => {
      if (!lose()) return
      const report = () => {
        if (link.state === "down") reportLost(reason)
      }
      if (link.said !== undefined || silentPattern.test(reason)) report()
      else ask(report)
    }
    redis.on("close", () => lost(link.lastError ?? "closed"))
    // Without a listener ioredis prints every failed reconnect; the state change is logged once (LinkState).
    redis.on("error", (error: Error) => {
      link.lastError = error.message
      // A reply error on connecting is Redis refusing us in its own words (NOAUTH, WRONGPASS).
      if (error.name === "ReplyError") link.said = error.message
      else if (silentPattern.test(error.message)) link.said = undefined
      lost(error.message)
    })
    // Connected but not ready: ioredis waits quietly while Redis loads its data. Ask why, and
    // log it when Redis says something new (a change of state: refused, then loading).
    redis.on("connect", () => {
      setTimeout(() => {
        if (link.state === "up" || link.state === "closing" || redis.status === "ready") return
        const before = link.said
        ask(() => {
          if (link.said === undefined || link.said === before || link.state === "up" || link.state === "closing") return
          notReady()
          log(Effect.logWarning(`Redis is not ready (${link.said}); waiting for it`))
        })
      }, 500).unref()
    })
    return { redis, whenReady, trouble } satisfies Connection<Redis>
  })

/**
 * Runs `command` once the connection is ready, failing with `RedisUnavailable` past `bound`. The
 * wait is interruptible even where its caller is not (a finalizer: a worker's shutdown), since a
 * timeout cannot cut an uninterruptible wait short: the bound would not hold while Redis is away.
 */
export const bounded = <C, A>(connection: Connection<C>, bound: Duration.Duration, command: (redis: C) => Promise<A>) =>
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
export const readyWithin = <C, A>(redis: C, bound: Duration.Duration, command: (redis: C) => Promise<A>) =>
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
export const coalesceWrites = (redis: Redis) => {
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
