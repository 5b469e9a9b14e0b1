/**
 * Handlers of `/v1/actors` (contracts with live counts), an actor's job lists, pause and resume,
 * and `/v1/workers` (presence).
 */

import { Actor, JobStore, ReadModel, type RedisClient, type Settings, WorkerPresence } from "@eddy/core"
import { HttpApiBuilder, type HttpApiGroup } from "@effect/platform"
import { Effect, type Layer } from "effect"
import { Api, type RequireAdmin, type RequireRead } from "./Api.js"
import * as Contracts from "./Contracts.js"
import { answering } from "./internal/toApiError.js"
import * as Projection from "./Projection.js"
import * as QueueStats from "./QueueStats.js"

/** `limit` as sent in the query: digits only, the range is core's to check. */
const limitOf = (text: string | undefined) =>
  text === undefined
    ? Effect.succeed(undefined)
    : /^\d{1,6}$/.test(text)
      ? Effect.succeed(Number(text))
      : Effect.fail(
          new ReadModel.InvalidListRequest({
            message: `limit must be an integer from 1 to ${ReadModel.listLimits.max}; got ${JSON.stringify(text)}`,
          }),
        )

export const ActorsLive: Layer.Layer<
  HttpApiGroup.ApiGroup<"eddy", "actors">,
  never,
  RedisClient.RedisClient | Settings.Settings | Contracts.Contracts | RequireRead | RequireAdmin
> = HttpApiBuilder.group(Api, "actors", (handlers) =>
  handlers
    .handle("list", () =>
      answering(
        Effect.gen(function* () {
          const contracts = [...(yield* Contracts.Contracts).values()].sort((a, b) => a.name.localeCompare(b.name))
          const names = contracts.map((c) => c.name)
          const [counts, rates, stats, workers, paused] = yield* Effect.all(
            [
              ReadModel.counts(names),
              ReadModel.rates(),
              QueueStats.forActors(names),
              WorkerPresence.list,
              JobStore.paused,
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
            paused: paused.has(contract.name),
          }))
        }),
      ),
    )
    .handle("jobs", ({ path, urlParams }) =>
      answering(
        Effect.gen(function* () {
          const limit = yield* limitOf(urlParams.limit)
          const page = yield* ReadModel.listJobs(path.actor, urlParams.state, { limit, cursor: urlParams.cursor })
          const jobs = page.jobs.map(Projection.viewOf)
          return page.nextCursor === undefined ? { jobs } : { jobs, nextCursor: page.nextCursor }
        }),
      ),
    )
    .handle("pause", ({ path }) =>
      answering(JobStore.pause(path.actor).pipe(Effect.as({ actor: path.actor, paused: true }))),
    )
    .handle("resume", ({ path }) =>
      answering(JobStore.resume(path.actor).pipe(Effect.as({ actor: path.actor, paused: false }))),
    )
    .handle("workers", () => answering(WorkerPresence.list)),
)
