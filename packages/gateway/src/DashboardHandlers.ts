/**
 * Handlers of the dashboard's endpoints: the key's session, the overview (JSON, or pushed every
 * second over Server-Sent Events), search, the live events tail (JSON, or SSE: the newest events
 * then every new one) and the bulk actions.
 */
import { EventTailer, JobEvent, RedisClient as Redis, type RedisClient, Settings } from "@eddy/core"
import { HttpApiBuilder, type HttpApiGroup, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, type Layer, Queue, Schedule, Stream } from "effect"
import { Api, type RequireAdmin, type RequireRead } from "./Api.js"
import * as Auth from "./Auth.js"
import * as BulkActions from "./BulkActions.js"
import * as Contracts from "./Contracts.js"
import { answering } from "./internal/toApiError.js"
import * as Overview from "./Overview.js"
import * as Search from "./Search.js"

const sseHeaders = { "cache-control": "no-cache", "x-accel-buffering": "no" }

const sse = (frames: Stream.Stream<string>) =>
  HttpServerResponse.stream(Stream.encodeText(frames), { contentType: "text/event-stream", headers: sseHeaders })

const wantsStream = Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
  (request.headers.accept ?? "").includes("text/event-stream"),
)

/** Events read per partition to find the newest ones that pass a filter. */
const backlogScan = 2_000

interface TailFilter {
  readonly actor?: string | undefined
  readonly types?: ReadonlySet<string> | undefined
}

const passes = (filter: TailFilter) => (event: JobEvent.JobEvent) =>
  (filter.actor === undefined || event.actor === filter.actor) &&
  (filter.types === undefined || filter.types.has(event.type))

/** The newest `limit` events passing `filter`, oldest first. */
const newestEvents = (filter: TailFilter, limit: number) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings.Settings
    const redis = yield* Redis.RedisClient
    const pages = yield* Effect.forEach(
      keyspace.all,
      (partition) => redis.run((c) => c.xrevrange(partition.events, "+", "-", "COUNT", backlogScan)),
      { concurrency: "unbounded" },
    )
    return pages
      .flat()
      .flatMap(([id, fields]) => {
        const event = JobEvent.fromEntry(id, fields)
        return event._tag === "Some" && passes(filter)(event.value) ? [event.value] : []
      })
      .sort((a, b) => b.at - a.at || JobEvent.compareIds(b.id, a.id))
      .slice(0, limit)
      .reverse()
  })

const eventFrame = (event: JobEvent.JobEvent) =>
  `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`

/** The newest events, then every new one that passes the filter (live first, so none is missed). */
const tailStream = (filter: TailFilter, limit: number) =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const tailer = yield* EventTailer.EventTailer
      // Sliding: a page that cannot keep up loses the oldest events, not the gateway's memory.
      const queue = yield* Effect.acquireRelease(Queue.sliding<JobEvent.JobEvent>(1_000), Queue.shutdown)
      const keep = passes(filter)
      yield* Effect.acquireRelease(
        tailer.listenAll((event) => {
          if (keep(event)) Queue.unsafeOffer(queue, event)
        }),
        (stop) => Effect.sync(stop),
      )
      const backlog = yield* newestEvents(filter, limit)
      const seen = new Set(backlog.map((event) => event.id))
      const live = Stream.fromQueue(queue).pipe(Stream.filter((event) => !seen.has(event.id)))
      const keepAlive = Stream.repeatEffectWithSchedule(
        Effect.succeed(": keep-alive\n\n"),
        Schedule.spaced("15 seconds"),
      )
      return Stream.merge(Stream.concat(Stream.fromIterable(backlog), live).pipe(Stream.map(eventFrame)), keepAlive)
    }),
  )

export const DashboardLive: Layer.Layer<
  HttpApiGroup.ApiGroup<"eddy", "dashboard">,
  never,
  | RedisClient.RedisClient
  | Settings.Settings
  | Contracts.Contracts
  | Auth.ApiKeys
  | EventTailer.EventTailer
  | RequireRead
  | RequireAdmin
> = HttpApiBuilder.group(Api, "dashboard", (handlers) =>
  Effect.gen(function* () {
    const { keys } = yield* Auth.ApiKeys
    const overview = yield* Overview.shared("1 second")
    const actorsOf = (actor: string | undefined) =>
      actor === undefined
        ? Effect.map(Contracts.Contracts, (contracts) => [...contracts.keys()])
        : Effect.map(Contracts.get(actor), (contract) => [contract.name])
    return handlers
      .handle("session", ({ request }) => Effect.succeed(Auth.sessionOf(keys, request.headers)))
      .handleRaw("overview", () =>
        answering(
          Effect.gen(function* () {
            if (!(yield* wantsStream)) return HttpServerResponse.unsafeJson(yield* overview)
            const frames = Stream.repeatEffectWithSchedule(overview, Schedule.spaced("1 second")).pipe(
              Stream.map((snapshot) => `event: overview\ndata: ${JSON.stringify(snapshot)}\n\n`),
            )
            return sse(frames)
          }),
        ),
      )
      .handle("search", ({ urlParams }) =>
        answering(Effect.flatMap(actorsOf(urlParams.actor), (actors) => Search.search(urlParams.q, actors))),
      )
      .handleRaw("tail", ({ urlParams }) =>
        answering(
          Effect.gen(function* () {
            if (urlParams.actor !== undefined) yield* Contracts.get(urlParams.actor)
            const types = urlParams.type
              ?.split(",")
              .map((t) => t.trim())
              .filter((t) => t !== "")
            const filter: TailFilter = {
              actor: urlParams.actor,
              types: types === undefined || types.length === 0 ? undefined : new Set(types),
            }
            const limit = urlParams.limit ?? 100
            if (!(yield* wantsStream)) return HttpServerResponse.unsafeJson(yield* newestEvents(filter, limit))
            const context = yield* Effect.context<Redis.RedisClient | Settings.Settings | EventTailer.EventTailer>()
            return sse(
              tailStream(filter, limit).pipe(
                // The page shows it and connects again.
                Stream.catchAll((error) =>
                  Stream.make(`event: error\ndata: ${JSON.stringify({ code: error._tag })}\n\n`),
                ),
                Stream.provideContext(context),
              ),
            )
          }),
        ),
      )
      .handle("retryDeadLetters", ({ payload }) =>
        answering(
          Effect.flatMap(actorsOf(payload.actor), (actors) => BulkActions.retryDeadLetters(actors, payload.reason)),
        ),
      )
      .handle("purgeDeadLetters", ({ payload }) =>
        answering(
          Effect.flatMap(actorsOf(payload.actor), (actors) => BulkActions.purgeDeadLetters(actors, payload.reason)),
        ),
      )
      .handle("cancelWaiting", ({ path }) =>
        answering(Effect.flatMap(Contracts.get(path.actor), (contract) => BulkActions.cancelWaiting(contract.name))),
      )
  }),
)
