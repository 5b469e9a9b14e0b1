/**
 * The CLI's actor discovery on the run's Redis Cluster: an actor's inboxes live on whichever
 * masters hold its partitions, so discovery scans every master (SCAN through the cluster client
 * would walk one random node).
 */
import { Actor, Producer, RedisClient, Settings, StreamKeys } from "@eddy/core"
import { Effect, Layer, Schema } from "effect"
import { describe, expect, it } from "vitest"
import * as TestRedis from "../../core/test/support/TestRedis.js"
import * as Actors from "../src/Actors.js"

const Left = Actor.define("left-actor", { input: Schema.Struct({ n: Schema.Number }), output: Schema.Number })
const Right = Actor.define("right-actor", { input: Schema.Struct({ n: Schema.Number }), output: Schema.Number })

/** A partition key whose jobs land in partition `p` of 12. */
const keyFor = (p: number) => {
  for (let i = 0; ; i++) if (StreamKeys.stableHash(`k${i}`) % 12 === p) return `k${i}`
}

describe("actor discovery on a cluster", () => {
  it("finds every actor whose inboxes are spread over 12 partitions on 3 masters", async () => {
    const prefix = TestRedis.uniquePrefix("cli-actors")
    const layer = Layer.provideMerge(
      Producer.layer,
      Layer.merge(RedisClient.layer(TestRedis.target()), Settings.layer({ prefix, partitions: 12 })),
    )
    const found = await Effect.runPromise(
      Effect.gen(function* () {
        const producer = yield* Producer.Producer
        // One job each: each actor's inbox sits on one partition (p3, p2), so on one master only.
        yield* producer.submit(Left, { n: 1 }, { partitionKey: keyFor(3) })
        yield* producer.submit(Right, { n: 2 }, { partitionKey: keyFor(2) })
        const redis = yield* RedisClient.RedisClient
        const { keyspace } = yield* Settings.Settings
        const masters = new Set([3, 2].map((p) => redis.nodeOf(keyspace.partition(p).inbox("x", "normal"))))
        return { actors: yield* Actors.discover, masters: masters.size }
      }).pipe(Effect.provide(layer)),
    )
    expect(found.actors).toEqual(["left-actor", "right-actor"])
    // The two inboxes are on different masters, so one node's SCAN could not find both.
    expect(found.masters).toBe(2)
  })
})
