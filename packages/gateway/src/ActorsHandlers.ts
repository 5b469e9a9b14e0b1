/** Handlers of `/v1/actors` (contracts with live counts) and `/v1/workers` (presence). */

import { Actor, type RedisClient, type Settings, WorkerPresence } from "@eddy/core"
import { HttpApiBuilder, type HttpApiGroup } from "@effect/platform"
import { Effect, type Layer } from "effect"
import { Api, type RequireRead } from "./Api.js"
import * as Contracts from "./Contracts.js"
import { answering } from "./internal/toApiError.js"
import * as Projection from "./Projection.js"
import * as QueueStats from "./QueueStats.js"

export const ActorsLive: Layer.Layer<
  HttpApiGroup.ApiGroup<"eddy", "actors">,
  never,
  RedisClient.RedisClient | Settings.Settings | Contracts.Contracts | RequireRead
> = HttpApiBuilder.group(Api, "actors", (handlers) =>
  handlers
    .handle("list", () =>
      answering(
        Effect.gen(function* () {
          const contracts = [...(yield* Contracts.Contracts).values()].sort((a, b) => a.name.localeCompare(b.name))
          const [counts, rates, stats, workers] = yield* Effect.all(
            [
              Projection.counts,
              Projection.rates(),
              QueueStats.forActors(contracts.map((c) => c.name)),
              WorkerPresence.list,
            ],
            { concurrency: "unbounded" },
          )
          return contracts.map((contract) => ({
            ...Actor.describe(contract),
            counts: { ...(counts.get(contract.name) ?? {}) },
            rates: rates.get(contract.name) ?? {},
            depth: stats.get(contract.name)?.depth ?? 0,
            delayed: stats.get(contract.name)?.delayed ?? 0,
            workers: workers.filter((worker) => worker.actors.includes(contract.name)).length,
          }))
        }),
      ),
    )
    .handle("workers", () => answering(WorkerPresence.list)),
)
