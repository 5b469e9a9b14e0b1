/**
 * How the CLI finds Redis: `EDDY_REDIS_URL` when set, otherwise the URL that a running
 * `npm start` / `eddy start` advertises beside its embedded server's data (`EDDY_DATA_DIR`).
 * Commands that only talk to Redis never start a server of their own.
 */
import { EddyConfig, EmbeddedRedis, EventTailer, Producer, RedisClient, Settings } from "@eddy/core"
import { Effect, FiberRef, Layer, LogLevel, Option, Redacted } from "effect"
import { CliFailure } from "./Output.js"

/** The Redis URL to use, or a one-line failure saying how to get one. */
export const redisUrl = Effect.gen(function* () {
  const target = yield* EddyConfig.redisTarget
  if (Option.isSome(target)) return target.value.url
  const advertised = EmbeddedRedis.advertised(yield* EddyConfig.dataDir)
  if (advertised !== undefined) return Redacted.make(advertised)
  return yield* new CliFailure({
    message: "no Redis to talk to: set EDDY_REDIS_URL, or run `npm start` (or `eddy start`) in this directory",
  })
})

/**
 * Redis and settings. `quiet`: the client does not log its connection's state changes. A command
 * that cannot reach Redis fails with one line anyway, so the "connection lost; reconnecting"
 * warning would only be a second, log-formatted line saying the same; a long-running process
 * (worker, gateway, projector) keeps it, as it rides outages out.
 */
const connection = (quiet: boolean) =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const url = yield* redisUrl
      const timeout = yield* EddyConfig.redisTimeout
      const client = RedisClient.layer({ url, timeout })
      return Layer.merge(
        // The client logs through the runtime it is built in, so the level set here is the one it keeps.
        quiet ? Layer.locally(client, FiberRef.currentMinimumLogLevel, LogLevel.Error) : client,
        Settings.layerConfig,
      )
    }),
  )

/** Redis and settings for a command. */
export const layer = connection(true)

/** Redis, settings and the producer (with its tailer), for a command. */
export const producerLayer = Layer.merge(Producer.layer, EventTailer.layer).pipe(Layer.provideMerge(layer))

/** Redis and settings for a long-running process, which logs the connection's outages. */
export const serviceLayer = connection(false)

/** `serviceLayer` with the producer (with its tailer). */
export const serviceProducerLayer = Layer.merge(Producer.layer, EventTailer.layer).pipe(
  Layer.provideMerge(serviceLayer),
)
