/**
 * `npm start`: the whole system in one process. Connects to `EDDY_REDIS_URL` (or the cluster of
 * `EDDY_REDIS_CLUSTER`), or starts an embedded redis-server when neither is set, and runs until
 * SIGINT/SIGTERM, when the scope closes and everything stops in order.
 */

import { Logging, RedisClient, StartupWait } from "@eddy/core"
import { NodeRuntime } from "@effect/platform-node"
import { Duration, Effect } from "effect"

const program = Effect.gen(function* () {
  const redis = yield* RedisClient.RedisClient
  // Started before Redis (a deploy, a failover): wait for it rather than exit.
  yield* StartupWait.untilReachable(yield* StartupWait.startupTimeout)
  const roundTrip = yield* redis.health
  yield* Effect.logInfo(
    `eddy is ready: Redis at ${redis.display} answered PING in ${Duration.format(roundTrip)}; Ctrl-C stops`,
  )
  return yield* Effect.never
})

program.pipe(
  Effect.provide(RedisClient.layerConfig),
  Effect.provide(Logging.layerConfig),
  NodeRuntime.runMain({ disablePrettyLogger: true }),
)
