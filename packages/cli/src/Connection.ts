/**
 * How the CLI finds Redis: `EDDY_REDIS_URL` or `EDDY_REDIS_CLUSTER` when set, otherwise the URL
 * that a running `npm start` / `eddy start` advertises beside its embedded server's data
 * (`EDDY_DATA_DIR`). Commands that only talk to Redis never start a server of their own.
 */
import { EddyConfig, EmbeddedRedis, EventTailer, Producer, RedisClient, Settings } from "@eddy/core"
import { Effect, FiberRef, Layer, LogLevel, Option, Redacted } from "effect"
import { CliFailure } from "./Output.js"

/** Where Redis is (a URL, or a cluster's seeds), or a one-line failure saying how to say it. */
export const redisTarget = Effect.gen(function* () {
  const target = yield* EddyConfig.redisConnection
  if (Option.isSome(target))
    return target.value.kind === "cluster" ? { cluster: target.value } : { url: target.value.url }
  const advertised = EmbeddedRedis.advertised(yield* EddyConfig.dataDir)
  if (advertised !== undefined) return { url: Redacted.make(advertised) }
  return yield* new CliFailure({
    message:
      "no Redis to talk to: set EDDY_REDIS_URL (or EDDY_REDIS_CLUSTER), or run `npm start` (or `eddy start`) in this directory",
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
      const target = yield* redisTarget
      const timeout = yield* EddyConfig.redisTimeout
      const client = RedisClient.layer({ ...target, timeout })
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
