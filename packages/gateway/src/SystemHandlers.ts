/**
 * Handlers of `/healthz` (the process is up), `/readyz` (Redis answers and the projector keeps
 * up) and `/metrics` (Prometheus text).
 */

import { RedisClient, type Settings, WorkerPresence } from "@eddy/core"
import { HttpApiBuilder, type HttpApiGroup } from "@effect/platform"
import { Duration, Effect, type Layer } from "effect"
import { Api } from "./Api.js"
import { ServiceUnavailable } from "./ApiErrors.js"
import * as Contracts from "./Contracts.js"
import { answering } from "./internal/toApiError.js"
import * as Projection from "./Projection.js"
import * as Projector from "./Projector.js"
import * as PrometheusText from "./PrometheusText.js"
import * as QueueStats from "./QueueStats.js"

/** Scrape-time gauges: queues, projection counts and rates, projector lag, workers, Redis. */
const samples = Effect.gen(function* () {
  const redis = yield* RedisClient.RedisClient
  const up = yield* redis.isUp
  if (!up) return [{ name: "eddy_redis_up", help: "Whether the command connection to Redis is up", value: 0 }]
  const actors = [...(yield* Contracts.Contracts).keys()]
  const [stats, counts, rates, lag, workers] = yield* Effect.all(
    [QueueStats.forActors(actors), Projection.counts, Projection.rates(), Projector.lag, WorkerPresence.list],
    { concurrency: "unbounded" },
  )
  const result: Array<PrometheusText.Sample> = [
    { name: "eddy_redis_up", help: "Whether the command connection to Redis is up", value: 1 },
    { name: "eddy_projector_lag", help: "Events not yet folded into the status projection", value: lag },
    { name: "eddy_workers", help: "Live worker processes", value: workers.length },
  ]
  for (const actor of actors) {
    const labels = { actor }
    result.push(
      {
        name: "eddy_queue_depth",
        help: "Entries in the actor's inboxes (waiting or running)",
        labels,
        value: stats.get(actor)?.depth ?? 0,
      },
      {
        name: "eddy_queue_delayed",
        help: "Delayed jobs and retries not yet due",
        labels,
        value: stats.get(actor)?.delayed ?? 0,
      },
    )
    for (const [state, value] of Object.entries(counts.get(actor) ?? {}))
      result.push({ name: "eddy_jobs", help: "Jobs per state (status projection)", labels: { actor, state }, value })
    for (const [outcome, value] of Object.entries(rates.get(actor) ?? {}))
      result.push({
        name: "eddy_outcomes_5m",
        help: "Outcomes over the last five minutes",
        labels: { actor, outcome },
        value,
      })
  }
  return result
})

/** Readiness fails past this many unfolded events. */
const maxLag = 10_000

export const SystemLive: Layer.Layer<
  HttpApiGroup.ApiGroup<"eddy", "system">,
  never,
  RedisClient.RedisClient | Settings.Settings | Contracts.Contracts
> = HttpApiBuilder.group(Api, "system", (handlers) =>
  handlers
    .handle("health", () => Effect.succeed({ status: "ok" as const }))
    .handle("ready", () =>
      answering(
        Effect.gen(function* () {
          const redis = yield* RedisClient.RedisClient
          const roundTrip = yield* redis.health
          const lag = yield* Projector.lag
          if (lag > maxLag)
            return yield* new ServiceUnavailable({
              code: "projector_lagging",
              message: `the projector is ${lag} events behind (threshold ${maxLag})`,
              details: { projectorLag: lag },
            })
          return { status: "ready" as const, redisMs: Math.round(Duration.toMillis(roundTrip)), projectorLag: lag }
        }),
      ),
    )
    .handle("metrics", () =>
      answering(
        samples.pipe(
          Effect.catchAll(() =>
            Effect.succeed([
              { name: "eddy_redis_up", help: "Whether the command connection to Redis is up", value: 0 },
            ]),
          ),
          Effect.flatMap(PrometheusText.render),
        ),
      ),
    ),
)
