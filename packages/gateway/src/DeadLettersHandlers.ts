/** Handlers of the dead-letter endpoints: list (newest first, paged), retry, purge. */

import { JobEvent, JobStore, RedisClient, Settings } from "@eddy/core"
import { HttpApiBuilder, type HttpApiGroup } from "@effect/platform"
import { Effect, type Layer } from "effect"
import { Accepted, Api, type RequireAdmin, type RequireRead } from "./Api.js"
import * as Contracts from "./Contracts.js"
import { answering } from "./internal/toApiError.js"

/** Dead letters of the given actors, newest first, strictly before `cursor` (a stream id). */
export const list = (actors: ReadonlyArray<string>, limit: number, cursor?: string) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings.Settings
    const redis = yield* RedisClient.RedisClient
    const pages = yield* Effect.forEach(
      keyspace.all.flatMap((p) => actors.map((actor) => ({ actor, key: p.dead(actor) }))),
      ({ actor, key }) =>
        redis
          .run((c) => c.xrevrange(key, cursor === undefined ? "+" : `(${cursor}`, "-", "COUNT", limit))
          .pipe(
            Effect.map((entries) => entries.map(([id, fields]) => ({ id, actor, fields: JobEvent.fieldsOf(fields) }))),
          ),
      { concurrency: "unbounded" },
    )
    const newest = pages
      .flat()
      .sort((a, b) => JobEvent.compareIds(b.id, a.id))
      .slice(0, limit)
    const items = newest.map(({ id, actor, fields }) => {
      let error: unknown
      try {
        error = fields.error === undefined ? undefined : JSON.parse(fields.error)
      } catch {
        error = fields.error
      }
      return {
        jobId: fields.j ?? "",
        actor,
        reason: fields.reason ?? "unknown",
        attempt: Number(fields.n ?? 0),
        at: Number(fields.at ?? 0),
        ...(error === undefined ? {} : { error }),
        cursor: id,
      }
    })
    const last = items[items.length - 1]
    return items.length === limit && last !== undefined ? { items, nextCursor: last.cursor } : { items }
  })

export const DeadLettersLive: Layer.Layer<
  HttpApiGroup.ApiGroup<"eddy", "deadLetters">,
  never,
  RedisClient.RedisClient | Settings.Settings | Contracts.Contracts | RequireRead | RequireAdmin
> = HttpApiBuilder.group(Api, "deadLetters", (handlers) =>
  handlers
    .handle("list", ({ urlParams }) =>
      answering(
        Effect.gen(function* () {
          const actors =
            urlParams.actor === undefined
              ? [...(yield* Contracts.Contracts).keys()]
              : [(yield* Contracts.get(urlParams.actor)).name]
          const page = yield* list(actors, urlParams.limit ?? 50, urlParams.cursor)
          // The filter applies to the page read: a page may come back shorter (even empty) with a
          // nextCursor; the cursor still moves through the streams in order.
          return urlParams.reason === undefined
            ? page
            : { ...page, items: page.items.filter((item) => item.reason === urlParams.reason) }
        }),
      ),
    )
    .handle("retry", ({ path }) =>
      answering(JobStore.requeue(path.jobId).pipe(Effect.as(new Accepted({ jobId: path.jobId, status: "queued" })))),
    )
    .handle("purge", ({ path }) =>
      answering(JobStore.purge(path.jobId).pipe(Effect.as({ jobId: path.jobId, purged: true as const }))),
    ),
)
