/**
 * Live numbers per actor straight from Redis: inbox depth (entries waiting or being worked on)
 * and delayed jobs (delays and retries not yet due), over every partition and lane.
 */
import { RedisClient, Settings, StreamKeys } from "@eddy/core"
import { Effect } from "effect"

export interface QueueStat {
  readonly depth: number
  readonly delayed: number
}

/** Depth and delayed count of each actor. */
export const forActors = (actors: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings.Settings
    const redis = yield* RedisClient.RedisClient
    const stats = yield* Effect.forEach(
      actors,
      (actor) =>
        Effect.forEach(
          keyspace.all.flatMap((p) =>
            StreamKeys.lanes.map((lane) => ({ inbox: p.inbox(actor, lane), delayed: p.delayed(actor, lane) })),
          ),
          (keys) =>
            Effect.all([redis.run((c) => c.xlen(keys.inbox)), redis.run((c) => c.zcard(keys.delayed))], {
              concurrency: "unbounded",
            }),
          { concurrency: "unbounded" },
        ).pipe(
          Effect.map((pairs): [string, QueueStat] => [
            actor,
            pairs.reduce((sum, [depth, delayed]) => ({ depth: sum.depth + depth, delayed: sum.delayed + delayed }), {
              depth: 0,
              delayed: 0,
            }),
          ]),
        ),
      { concurrency: "unbounded" },
    )
    return new Map(stats)
  })
