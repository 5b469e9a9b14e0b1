/**
 * A process that starts while Redis is away waits for it instead of exiting: deploys and
 * failovers are exactly when a worker starts and Redis is restarting, full (`maxclients`) or
 * still loading. It asks again with the reconnects' jittered backoff (50 ms doubling to 2 s) and
 * logs each change once: waiting (with the cause, in Redis's own words when it gave them), then
 * reachable. `EDDY_STARTUP_TIMEOUT` bounds the wait (default: as long as it takes).
 *
 * Bad credentials are no outage but a setting to fix: they fail at once, naming `EDDY_REDIS_URL`
 * (or `EDDY_REDIS_CLUSTER`). (A malformed URL never gets this far: reading the variable already fails.)
 */
import { Clock, Config, Duration, Effect, Option, Schedule } from "effect"
import * as EddyConfig from "./EddyConfig.js"
import { RedisClient, RedisCommandFailed, RedisUnavailable } from "./RedisClient.js"

/** `EDDY_STARTUP_TIMEOUT`: how long a starting process waits for Redis. Unset: as long as it takes. */
export const startupTimeout: Config.Config<Option.Option<Duration.Duration>> = Config.option(
  EddyConfig.duration("EDDY_STARTUP_TIMEOUT", { positive: true }),
)

// What Redis says to credentials it does not accept (Redis 6+ and older servers).
const credentialsPattern = /^(WRONGPASS|NOAUTH)|^ERR (AUTH|invalid password|Client sent AUTH)/i

/** Whether Redis refused the credentials, which waiting cannot fix. */
export const isBadCredentials = (error: RedisUnavailable): boolean =>
  error.redisSaid !== undefined && credentialsPattern.test(error.redisSaid)

/** The reconnects' backoff: exponential from 50 ms, capped at 2 s, jittered. */
const backoff = Schedule.exponential("50 millis").pipe(Schedule.union(Schedule.spaced("2 seconds")), Schedule.jittered)

/**
 * Waits until Redis answers a PING, for at most `timeout` (none: no limit). Fails at once with
 * `RedisCommandFailed` on bad credentials, and with `RedisUnavailable` past the timeout.
 */
export const untilReachable = (
  timeout: Option.Option<Duration.Duration> = Option.none(),
): Effect.Effect<void, RedisUnavailable | RedisCommandFailed, RedisClient> =>
  Effect.gen(function* () {
    const redis = yield* RedisClient
    const startedAt = yield* Clock.currentTimeMillis
    let lastCause: string | undefined
    const attempt = redis.health.pipe(
      Effect.tapError((error) => {
        const cause = error.redisSaid ?? error.message
        if (cause === lastCause || isBadCredentials(error)) return Effect.void
        lastCause = cause
        return Effect.logInfo(
          `waiting for Redis at ${redis.display} before starting (${cause}); ${Option.match(timeout, {
            onNone: () => "no EDDY_STARTUP_TIMEOUT: as long as it takes",
            onSome: (limit) => `at most ${Duration.format(limit)} (EDDY_STARTUP_TIMEOUT)`,
          })}`,
        )
      }),
    )
    const waited = attempt.pipe(Effect.retry({ schedule: backoff, while: (error) => !isBadCredentials(error) }))
    yield* Option.match(timeout, {
      onNone: () => waited,
      onSome: (limit) =>
        Effect.timeoutFail(waited, {
          duration: limit,
          onTimeout: () =>
            new RedisUnavailable({
              message: `Redis at ${redis.display} was not reachable within ${Duration.format(limit)} (EDDY_STARTUP_TIMEOUT)${
                lastCause === undefined ? "" : `: ${lastCause}`
              }`,
            }),
        }),
    }).pipe(
      Effect.catchIf(isBadCredentials, (error) =>
        Effect.fail(
          new RedisCommandFailed({
            message: `Redis at ${redis.display} refused the credentials in ${redis.cluster ? "EDDY_REDIS_CLUSTER" : "EDDY_REDIS_URL"}: ${error.redisSaid}`,
          }),
        ),
      ),
    )
    if (lastCause !== undefined) {
      const now = yield* Clock.currentTimeMillis
      yield* Effect.logInfo(
        `Redis at ${redis.display} is reachable after ${Duration.format(Duration.millis(now - startedAt))}; starting`,
      )
    }
  })
