/**
 * How the CLI finds Redis: `EDDY_REDIS_URL` when set, otherwise the URL that a running
 * `npm start` / `eddy start` advertises beside its embedded server's data (`EDDY_DATA_DIR`).
 * Commands that only talk to Redis never start a server of their own.
 */
import { EddyConfig, EmbeddedRedis, EventTailer, Producer, RedisClient, Settings } from "@eddy/core"
import { Effect, Layer, Option, Redacted } from "effect"
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

/** Redis and settings for a command. */
export const layer = Layer.unwrapEffect(
  Effect.gen(function* () {
    const url = yield* redisUrl
    const timeout = yield* EddyConfig.redisTimeout
    return Layer.merge(RedisClient.layer({ url, timeout }), Settings.layerConfig)
  }),
)

/** Redis, settings and the producer (with its tailer). */
export const producerLayer = Layer.merge(Producer.layer, EventTailer.layer).pipe(Layer.provideMerge(layer))
