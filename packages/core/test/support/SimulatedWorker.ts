/**
 * A stand-in for a worker in core's tests: reads deliveries of one inbox as a named consumer
 * and drives them through the lifecycle scripts by hand.
 */
import { Effect } from "effect"
import type { Lane } from "../../src/Actor.js"
import * as Deliveries from "../../src/Deliveries.js"
import { RedisClient } from "../../src/RedisClient.js"
import { Settings } from "../../src/Settings.js"
import { workerGroup } from "../../src/StreamKeys.js"

type XReadGroupReply = Array<[string, Array<[string, Array<string>]>]> | null

/** Reads up to `count` new deliveries of `actor`'s inbox (partition 0 unless given). */
export const read = (
  consumer: string,
  actor: string,
  options: { lane?: Lane; partition?: number; count?: number } = {},
) =>
  Effect.gen(function* () {
    const lane = options.lane ?? "normal"
    const partition = options.partition ?? 0
    yield* Deliveries.ensureGroup(partition, actor, lane)
    const { keyspace } = yield* Settings
    const redis = yield* RedisClient
    const inbox = keyspace.partition(partition).inbox(actor, lane)
    const reply = (yield* redis.run((connection) =>
      connection.xreadgroup("GROUP", workerGroup, consumer, "COUNT", options.count ?? 100, "STREAMS", inbox, ">"),
    )) as XReadGroupReply
    return (reply?.[0]?.[1] ?? []).map(([entryId, fields]): Deliveries.Delivery => {
      const index = fields.indexOf("j")
      return { partition, actor, lane, entryId, jobId: index >= 0 ? (fields[index + 1] ?? "") : "" }
    })
  })

/** Reads every waiting delivery of `actor` and completes each with `output(input)`. */
export const completeAll = (consumer: string, actor: string, output: (input: unknown) => unknown = (input) => input) =>
  Effect.gen(function* () {
    let done = 0
    while (true) {
      const deliveries = yield* read(consumer, actor)
      if (deliveries.length === 0) return done
      for (const delivery of deliveries) {
        const started = yield* Deliveries.start(delivery, consumer)
        yield* Deliveries.complete(delivery, consumer, JSON.stringify(output(JSON.parse(started.input))))
      }
      done += deliveries.length
    }
  })
