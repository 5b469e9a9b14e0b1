/**
 * Handlers of `/healthz` (the process is up), `/readyz` (Redis answers) and `/metrics`
 * (Prometheus text).
 */

import { JobStore, ReadModel, RedisClient, type Settings, WorkerPresence } from "@eddy/core"
import { HttpApiBuilder, type HttpApiGroup } from "@effect/platform"
import { Duration, Effect, type Layer } from "effect"
import { Api } from "./Api.js"
import * as Contracts from "./Contracts.js"
import { answering } from "./internal/toApiError.js"
import * as PrometheusText from "./PrometheusText.js"
import * as QueueStats from "./QueueStats.js"

/** Scrape-time gauges: queues, read-model counts and rates, paused actors, workers, Redis. */
const samples = Effect.gen(function* () {
  const redis = yield* RedisClient.RedisClient
  const up = yield* redis.isUp
  if (!up) return [{ name: "eddy_redis_up", help: "Whether the command connection to Redis is up", value: 0 }]
  const actors = [...(yield* Contracts.Contracts).keys()]
  const [stats, counts, rates, paused, workers] = yield* Effect.all(
    [QueueStats.forActors(actors), ReadModel.counts(actors), ReadModel.rates(), JobStore.paused, WorkerPresence.list],
    { concurrency: "unbounded" },
  )
  const result: Array<PrometheusText.Sample> = [
    { name: "eddy_redis_up", help: "Whether the command connection to Redis is up", value: 1 },
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
    result.push({
      name: "eddy_actor_paused",
      help: "Whether the actor is paused",
      labels,
      value: paused.has(actor) ? 1 : 0,
    })
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
          return { status: "ready" as const, redisMs: Math.round(Duration.toMillis(roundTrip)) }
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
