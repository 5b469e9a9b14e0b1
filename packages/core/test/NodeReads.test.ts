/**
 * `NodeReads` on one server: partitions are told apart by hash tag, and a round is the one read
 * over every stream it always was (the cluster rotation is in `NodeReads.cluster.test.ts`).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
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

  it.scopedLive(
    "with a plain handler, a round reads again at once while replies come, until a read blocks out its time",
    () =>
      Effect.gen(function* () {
        const redis = yield* RedisClient.RedisClient
        const key = `${TestRedis.uniquePrefix("nr")}:{p0}:events`
        let position = "0-0"
        let reads = 0
        const handled: Array<NodeReads.StreamReply> = []
        const read = (c: NodeReads.ReadConnection, keys: ReadonlyArray<string>, blockMs: number | undefined) => {
          reads++
          return c.call("xread", "BLOCK", blockMs ?? 0, "STREAMS", ...keys, position)
        }
        // Entries arrive one at a time while the round reads.
        const writer = yield* Effect.forkScoped(
          Effect.forEach([1, 2, 3, 4, 5], (n) =>
            Effect.zipRight(
              Effect.sleep("20 millis"),
              redis.run((c) => c.xadd(key, "*", "n", String(n))),
            ),
          ),
        )
        const started = Date.now()
        yield* NodeReads.round(redis, {
          keys: [key],
          read,
          ...NodeReads.handledBy((reply) => {
            handled.push(reply)
            for (const [, entries] of reply ?? []) position = entries[entries.length - 1]?.[0] ?? position
          }),
          blockFor: "400 millis",
          channel: "tail",
          rotation: NodeReads.rotation(),
        })
        const took = Date.now() - started
        yield* writer.await
        const entries = handled.flatMap((reply) => (reply ?? []).flatMap(([, entries]) => entries))
        expect(entries.map(([, fields]) => fields[1])).toEqual(["1", "2", "3", "4", "5"])
        // One read per entry (or fewer, when two came together), then one that blocked out the rest.
        expect(reads).toBeGreaterThanOrEqual(2)
        expect(reads).toBe(handled.length)
        expect(handled[handled.length - 1]).toBeNull()
        expect(took).toBeGreaterThanOrEqual(390)
        expect(took).toBeLessThan(1_500)
      }).pipe(Effect.provide(TestRedis.layer())),
  )

  it.scopedLive("an interrupted round reads no more and hands nothing on", () =>
    Effect.gen(function* () {
      const redis = yield* RedisClient.RedisClient
      const key = `${TestRedis.uniquePrefix("nr")}:{p0}:events`
      let reads = 0
      const handled: Array<NodeReads.StreamReply> = []
      const round = yield* Effect.fork(
        NodeReads.round(redis, {
          keys: [key],
          read: (c, keys, blockMs) => {
            reads++
            return c.call("xread", "BLOCK", blockMs ?? 0, "STREAMS", ...keys, "$")
          },
          ...NodeReads.handledBy((reply) => {
            handled.push(reply)
          }),
          blockFor: "3 seconds",
          channel: "tail",
          rotation: NodeReads.rotation(),
        }),
      )
      yield* Effect.sleep("100 millis")
      yield* Fiber.interrupt(round)
      // The read on the wire answers with this entry; the stopped round neither hands it on nor reads again.
      yield* redis.run((c) => c.xadd(key, "*", "n", "1"))
      yield* Effect.sleep("200 millis")
      expect(reads).toBe(1)
      expect(handled).toEqual([])
    }).pipe(Effect.provide(TestRedis.layer())),
  )

  it.scopedLive("a read that outlasts the bound fails the round, and its late reply is handed to nobody", () =>
    Effect.gen(function* () {
      const redis = yield* RedisClient.RedisClient
      const key = `${TestRedis.uniquePrefix("nr")}:{p0}:events`
      yield* redis.run((c) => c.xadd(key, "*", "n", "1"))
      const handled: Array<NodeReads.StreamReply> = []
      const started = Date.now()
      const error = yield* Effect.flip(
        NodeReads.round(redis, {
          keys: [key],
          // Redis answering late: the reply comes well past the bound (block time + the client's 300 ms).
          read: (c, keys) =>
            new Promise((resolve) => setTimeout(resolve, 900)).then(() => c.call("xread", "STREAMS", ...keys, "0-0")),
          ...NodeReads.handledBy((reply) => {
            handled.push(reply)
          }),
          blockFor: "100 millis",
          channel: "tail",
          rotation: NodeReads.rotation(),
        }),
      )
      expect(error._tag).toBe("RedisUnavailable")
      expect(Date.now() - started).toBeLessThan(800)
      yield* Effect.sleep("700 millis")
      expect(handled).toEqual([])
    }).pipe(Effect.provide(TestRedis.layer({ timeout: "300 millis" }))),
  )
})
