/**
 * `NodeReads` on one server: partitions are told apart by hash tag, and a round is the one read
 * over every stream it always was (the cluster rotation is in `NodeReads.cluster.test.ts`).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeReads from "../src/NodeReads.js"
import * as RedisClient from "../src/RedisClient.js"
import * as TestRedis from "./support/TestRedis.js"

describe("NodeReads", () => {
  it("reads a key's hash tag as Redis Cluster does", () => {
    expect(NodeReads.hashTag("eddy:{p3}:inbox:a:high")).toBe("p3")
    expect(NodeReads.hashTag("eddy:{p3}:{p4}")).toBe("p3")
    expect(NodeReads.hashTag("plain")).toBe("plain")
    // An empty tag does not count: the whole key decides.
    expect(NodeReads.hashTag("eddy:{}:x")).toBe("eddy:{}:x")
    expect(NodeReads.hashTag("eddy:{p1")).toBe("eddy:{p1")
  })

  it("groups keys per partition, in the order they come", () => {
    expect(NodeReads.byPartition(["x:{p1}:a", "x:{p0}:a", "x:{p1}:b", "x:{p0}:b", "x:{p2}:a"])).toEqual([
      ["x:{p1}:a", "x:{p1}:b"],
      ["x:{p0}:a", "x:{p0}:b"],
      ["x:{p2}:a"],
    ])
  })

  it.scoped("on one server a round is one blocking read over every partition's streams", () =>
    Effect.gen(function* () {
      const redis = yield* RedisClient.RedisClient
      expect(redis.cluster).toBe(false)
      const prefix = TestRedis.uniquePrefix("nr")
      const keys = [0, 1, 2].map((p) => `${prefix}:{p${p}}:events`)
      for (const key of keys) yield* redis.run((c) => c.xadd(key, "*", "n", key))
      const reads: Array<ReadonlyArray<string>> = []
      const replies: Array<NodeReads.StreamReply> = []
      yield* NodeReads.round(redis, {
        keys,
        read: (c, keys, blockMs) => {
          reads.push(keys)
          return c.call("xread", "BLOCK", blockMs ?? 0, "STREAMS", ...keys, ...keys.map(() => "0-0"))
        },
        onReply: (reply) => Effect.sync(() => replies.push(reply)),
        blockFor: "1 second",
        channel: "tail",
        rotation: NodeReads.rotation(),
      })
      expect(reads).toEqual([keys])
      expect(replies).toHaveLength(1)
      expect((replies[0] ?? []).map(([stream]) => stream)).toEqual(keys)
    }).pipe(Effect.provide(TestRedis.layer())),
  )
})
