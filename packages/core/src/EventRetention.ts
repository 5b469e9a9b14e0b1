/**
 * Time-based retention of the event logs, beside the length cap every append applies
 * (`EDDY_EVENTS_MAXLEN`): events older than `EDDY_EVENTS_RETENTION` are trimmed with
 * `XTRIM … MINID ~`, but never past what a consumer group of the log (the projector's, or any
 * other reader's) has yet to read or still has pending: the trim point is the earliest of the
 * retention cutoff, each group's last-delivered id and each group's lowest pending id.
 *
 * Not a Lua script: trimming changes no job, so it has no event, and every bound it reads only
 * moves forward (a group resetting its position to the start, as a projection rebuild does,
 * asks for the retained log, which a trim by age may shorten at any time anyway).
 */
import { Duration, Effect } from "effect"
import { compareIds } from "./JobEvent.js"
import { RedisClient } from "./RedisClient.js"
import { Settings } from "./Settings.js"

/** The earliest id a trim must keep: the cutoff, held back by every group's unread and pending entries. */
export const trimPoint = (
  cutoffMs: number,
  groups: ReadonlyArray<{ readonly lastDelivered: string; readonly lowestPending: string | undefined }>,
): string =>
  groups
    .flatMap((group) =>
      group.lowestPending === undefined ? [group.lastDelivered] : [group.lastDelivered, group.lowestPending],
    )
    .reduce((earliest, id) => (compareIds(id, earliest) < 0 ? id : earliest), `${Math.max(0, cutoffMs)}-0`)

/** Trims one partition's event log; answers how many entries went. */
export const trimPartition = (partition: number, now: number) =>
  Effect.gen(function* () {
    const { keyspace, eventsRetention } = yield* Settings
    const redis = yield* RedisClient
    const events = keyspace.partition(partition).events
    const groups = yield* redis.run(async (connection) => {
      if ((await connection.exists(events)) === 0) return undefined
      const infos = (await connection.xinfo("GROUPS", events)) as ReadonlyArray<ReadonlyArray<unknown>>
      return Promise.all(
        infos.map(async (flat) => {
          const info = new Map<string, unknown>()
          for (let i = 0; i + 1 < flat.length; i += 2) info.set(String(flat[i]), flat[i + 1])
          const name = String(info.get("name"))
          const summary = (await connection.xpending(events, name)) as ReadonlyArray<unknown>
          return {
            lastDelivered: String(info.get("last-delivered-id") ?? "0-0"),
            lowestPending: Number(summary[0]) > 0 ? String(summary[1]) : undefined,
          }
        }),
      )
    })
    if (groups === undefined) return 0
    const point = trimPoint(now - Duration.toMillis(eventsRetention), groups)
    return yield* redis.run((connection) => connection.xtrim(events, "MINID", "~", point))
  })

/** Trims every partition's event log by age (see the module comment); answers how many entries went. */
export const trim = Effect.gen(function* () {
  const { keyspace } = yield* Settings
  const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
  const trimmed = yield* Effect.forEach(keyspace.all, (partition) => trimPartition(partition.index, now), {
    concurrency: "unbounded",
  })
  return trimmed.reduce((a, b) => a + b, 0)
})
