/**
 * `NodeReads` on the run's Redis Cluster (3 masters): reads over 12 partitions' streams never
 * cross a slot, every master reads its own partitions at once on its own connection, an idle
 * round blocks no longer than the slice, and an entry on a partition nobody is blocked on is read
 * within the slice bound.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as NodeReads from "../src/NodeReads.js"
import * as RedisClient from "../src/RedisClient.js"
import * as TestRedis from "./support/TestRedis.js"

const partitions = 12

/** One stream per partition, `{p0}` … `{p11}`, under a fresh prefix. */
const streams = () => {
  const prefix = TestRedis.uniquePrefix("nrc")
  return Array.from({ length: partitions }, (_, p) => `${prefix}:{p${p}}:events`)
}

/** XREAD of `keys` after `positions` (every stream's last read id), blocking when asked. */
const xread =
  (positions: Map<string, string>) => (c: NodeReads.ReadConnection, keys: ReadonlyArray<string>, blockMs?: number) =>
    c.call(
      "xread",
      ...(blockMs === undefined ? [] : ["BLOCK", blockMs]),
      "STREAMS",
      ...keys,
      ...keys.map((key) => positions.get(key) ?? "0-0"),
    )

describe("NodeReads on a cluster", () => {
  it.scopedLive("a round reads all 12 partitions, one slot per command, every master at once", () =>
    Effect.gen(function* () {
      const redis = yield* RedisClient.RedisClient
      expect(redis.cluster).toBe(true)
      // The slot map is known once the client has answered.
      yield* redis.health
      const keys = streams()
      expect(new Set(keys.map(redis.nodeOf)).size).toBe(3)
      for (const key of keys) yield* redis.run((c) => c.xadd(key, "*", "n", key))
      const positions = new Map<string, string>()
      const commands: Array<ReadonlyArray<string>> = []
      const seen = new Set<string>()
      const rotation = NodeReads.rotation()
      const round = NodeReads.round(redis, {
        keys,
        read: (c, keys, blockMs) => {
          commands.push(keys)
          return xread(positions)(c, keys, blockMs)
        },
        onReply: (reply) =>
          Effect.sync(() => {
            for (const [stream, entries] of reply ?? [])
              for (const [id] of entries) {
                positions.set(stream, id)
                seen.add(stream)
              }
          }),
        blockFor: "2 seconds",
        channel: "tail",
        rotation,
      })
      // Each node's first round reads the partitions it does not block on, then blocks on one:
      // two rounds have read every partition.
      yield* round
      yield* round
      expect([...seen].sort()).toEqual([...keys].sort())
      for (const command of commands) expect(new Set(command.map(NodeReads.hashTag)).size).toBe(1)
      // Every node's rotation moved on.
      expect([...rotation.keys()].sort()).toEqual([...new Set(keys.map(redis.nodeOf))].sort())
    }).pipe(Effect.provide(TestRedis.layer())),
  )

  it.scopedLive("an idle round blocks for the slice, not for its block time, on every master at once", () =>
    Effect.gen(function* () {
      const redis = yield* RedisClient.RedisClient
      const keys = streams()
      const positions = new Map(keys.map((key) => [key, "$"] as const))
      const blocked = new Set<string>()
      const round = NodeReads.round(redis, {
        keys,
        read: (c, keys, blockMs) => {
          if (blockMs !== undefined) blocked.add(redis.nodeOf(keys[0] as string))
          return xread(positions)(c, keys, blockMs)
        },
        onReply: () => Effect.void,
        blockFor: "10 seconds",
        channel: "tail",
        rotation: NodeReads.rotation(),
      })
      yield* round // connections made
      const started = Date.now()
      for (let i = 0; i < 4; i++) yield* round
      const took = (Date.now() - started) / 4
      console.log(`an idle cluster round took ${took.toFixed(1)} ms`)
      // Nodes block at the same time, each for the slice (50 ms): a round is far below a second.
      expect(took).toBeLessThan(1_000)
      expect(blocked.size).toBe(3)
    }).pipe(Effect.provide(TestRedis.layer())),
  )

  it.scopedLive("follow reads an entry on any partition within the slice bound", () =>
    Effect.gen(function* () {
      const redis = yield* RedisClient.RedisClient
      const keys = streams()
      // The streams are new: every entry counts (a "$" would only see entries added while blocked).
      const positions = new Map<string, string>()
      const arrived = new Map<string, number>()
      let replies = 0
      const follower = yield* Effect.fork(
        NodeReads.follow(redis, {
          keys,
          read: xread(positions),
          onReply: (reply) =>
            Effect.sync(() => {
              replies++
              for (const [stream, entries] of reply ?? [])
                for (const [id] of entries) {
                  positions.set(stream, id)
                  arrived.set(stream, Date.now())
                }
            }),
          blockFor: "10 seconds",
          channel: "tail",
          rotation: NodeReads.rotation(),
        }),
      )
      // Every node has gone round a few times: the reads are under way.
      yield* Effect.sleep("20 millis").pipe(Effect.repeat({ until: () => replies >= 9 }), Effect.timeout("10 seconds"))
      const waits: Array<number> = []
      for (const key of keys) {
        // Most of a round is its blocking read: the node is then blocked, on this partition or
        // (nine times out of twelve) on another of its partitions.
        yield* Effect.sleep("120 millis")
        const sent = Date.now()
        yield* redis.run((c) => c.xadd(key, "*", "n", key))
        yield* Effect.sleep("5 millis").pipe(
          Effect.repeat({ until: () => arrived.has(key) }),
          Effect.timeout("5 seconds"),
        )
        waits.push((arrived.get(key) ?? Number.POSITIVE_INFINITY) - sent)
      }
      yield* Fiber.interrupt(follower)
      console.log(`entry to read on a cluster, per partition (ms): ${waits.join(", ")}`)
      // The bound is the slice (50 ms) plus round trips: a second is generous on a loaded machine.
      for (const wait of waits) expect(wait).toBeLessThan(1_000)
    }).pipe(Effect.provide(TestRedis.layer())),
  )
})
