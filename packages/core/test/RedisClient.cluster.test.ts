/**
 * `RedisClient` on the run's Redis Cluster (3 masters, 3 replicas): routing by slot, every master,
 * blocking reads per node, the connections it holds, and seed lists that do not all answer.
 */
import { createServer, type Server } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Exit, Fiber } from "effect"
import { Redis } from "ioredis"
import * as EddyConfig from "../src/EddyConfig.js"
import * as RedisClient from "../src/RedisClient.js"
import { freePort } from "./support/FreePort.js"
import * as TestRedis from "./support/TestRedis.js"

const uniqueName = (label: string) => `${label}-${TestRedis.uniquePrefix()}`

/** `CLIENT LIST` of one node as name → count. */
const namesOn = async (node: Redis) => {
  const list = (await node.client("LIST")) as string
  const names = list
    .split("\n")
    .map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? "")
    .filter((name) => name !== "")
  return names
}

/** Every node of the cluster with its role, from `CLUSTER NODES` asked through the client. */
const roles = (client: RedisClient.RedisClientService) =>
  client.run(async (redis) => {
    const text = (await redis.cluster("NODES")) as string
    return text
      .trim()
      .split("\n")
      .map((line) => {
        const [, address, flags] = line.split(" ")
        return { node: (address ?? "").split("@")[0] ?? "", master: (flags ?? "").includes("master") }
      })
  })

describe("RedisClient on a Redis Cluster", () => {
  it.scopedLive("routes each command to its key's master and runs on every master", () =>
    Effect.gen(function* () {
      const client = yield* RedisClient.make({ ...TestRedis.target(), name: uniqueName("route") })
      expect(client.cluster).toBe(true)
      const prefix = TestRedis.uniquePrefix("route")
      const keys = Array.from({ length: 12 }, (_, index) => `${prefix}:{p${index}}:k`)
      yield* Effect.forEach(keys, (key) => client.run((redis) => redis.set(key, key, "EX", 60)), { discard: true })
      // Each key is on the master nodeOf names, and the 12 partitions cover every master.
      const owners = new Set<string>()
      for (const key of keys) {
        const node = client.nodeOf(key)
        owners.add(node)
        const [host, port] = node.split(":")
        const found = yield* client.onEachMaster(async (redis) =>
          `${redis.options.host}:${redis.options.port}` === `${host}:${port}` ? await redis.get(key) : null,
        )
        expect(found.filter((value) => value !== null)).toEqual([key])
      }
      const masters = (yield* roles(client)).filter((node) => node.master).map((node) => node.node)
      expect(owners).toEqual(new Set(masters))
      expect(yield* client.onEachMaster((redis) => redis.ping())).toEqual(["PONG", "PONG", "PONG"])
      expect(Duration.toMillis(yield* client.health)).toBeGreaterThanOrEqual(0)
      expect(yield* client.isUp).toBe(true)
    }),
  )

  it.scopedLive("a script over one partition's keys runs; keys of two partitions fail as CROSSSLOT", () =>
    Effect.gen(function* () {
      const client = yield* RedisClient.make({ ...TestRedis.target(), name: uniqueName("slots") })
      const prefix = TestRedis.uniquePrefix("slots")
      const script = "redis.call('SET', KEYS[1], ARGV[1]) redis.call('SET', KEYS[2], ARGV[1]) return 1"
      const same = yield* client.run((redis) => redis.eval(script, 2, `${prefix}:{p3}:a`, `${prefix}:{p3}:b`, "x"))
      expect(same).toBe(1)
      const across = yield* Effect.exit(
        client.run((redis) => redis.eval(script, 2, `${prefix}:{p3}:a`, `${prefix}:{p4}:b`, "x")),
      )
      expect(Exit.isFailure(across) && JSON.stringify(across.cause)).toContain("CROSSSLOT")
    }),
  )

  it.scopedLive("blocks on different nodes at once, each on its node's connection, and unblock ends them all", () =>
    Effect.gen(function* () {
      const name = uniqueName("block")
      const client = yield* RedisClient.make({ ...TestRedis.target(), name })
      // Until the client has its slot map, it knows no node.
      yield* client.health
      const prefix = TestRedis.uniquePrefix("block")
      // p3, p2 and p0 sit on three different masters.
      const streams = [3, 2, 0].map((index) => `${prefix}:{p${index}}:s`)
      expect(new Set(streams.map(client.nodeOf)).size).toBe(3)
      const read = (stream: string, blockFor: number) =>
        client.blocking(
          Duration.millis(blockFor),
          (redis) => redis.xread("BLOCK", blockFor, "STREAMS", stream, "$"),
          "read",
          stream,
        )
      // Three reads block at the same time (one per node): an entry on each ends each.
      const fibers = yield* Effect.forEach(streams, (stream) => Effect.fork(read(stream, 10_000)))
      yield* Effect.sleep("200 millis")
      yield* Effect.forEach(streams, (stream) => client.run((redis) => redis.xadd(stream, "*", "f", "v")), {
        discard: true,
      })
      const replies = yield* Effect.forEach(fibers, Fiber.join)
      expect(replies.map((reply) => reply?.[0]?.[0])).toEqual(streams)

      // The channel holds one connection per master it read from, named for the process.
      const named = yield* client.onEachMaster((node) => namesOn(node))
      for (const names of named) expect(names.filter((n) => n === `${name}:block`)).toHaveLength(1)

      // Reads blocking for 10 s on every node end at once on unblock, with no entry.
      const started = Date.now()
      const blocked = yield* Effect.forEach(streams, (stream) => Effect.fork(read(stream, 10_000)))
      yield* Effect.sleep("200 millis")
      yield* client.unblock("read")
      const ended = yield* Effect.forEach(blocked, Fiber.join)
      expect(ended).toEqual([null, null, null])
      expect(Date.now() - started).toBeLessThan(5_000)

      // A call without a route goes to its first key's master through the channel's cluster client.
      const unrouted = client.blocking(
        "10 seconds",
        (redis) => redis.xread("BLOCK", 10_000, "STREAMS", streams[1] ?? "", "$"),
        "read",
      )
      const waiting = yield* Effect.fork(unrouted)
      yield* Effect.sleep("200 millis")
      yield* client.run((redis) => redis.xadd(streams[1] ?? "", "*", "f", "unrouted"))
      expect((yield* Fiber.join(waiting))?.[0]?.[1]?.[0]?.[1]).toEqual(["f", "unrouted"])
    }),
  )

  it.scopedLive("holds one command and one read connection per master, and none on replicas", () =>
    Effect.gen(function* () {
      const name = uniqueName("budget")
      const client = yield* RedisClient.make({ ...TestRedis.target(), name })
      const prefix = TestRedis.uniquePrefix("budget")
      for (let index = 0; index < 12; index++) {
        const stream = `${prefix}:{p${index}}:s`
        yield* client.run((redis) => redis.xadd(stream, "*", "f", "v"))
        yield* client.blocking("10 millis", (redis) => redis.xread("BLOCK", 10, "STREAMS", stream, "0"), "read", stream)
      }
      // Every node asked directly: on each master the process's command and read connections,
      // on each replica none (ioredis's slot-map refresh opens a short-lived
      // `ioredis-cluster(refresher):…` connection to some node now and then; it is not held).
      const nodes = yield* roles(client)
      expect(nodes.filter((node) => node.master)).toHaveLength(3)
      expect(nodes.filter((node) => !node.master)).toHaveLength(3)
      for (const node of nodes) {
        const [host, port] = node.node.split(":")
        const direct = new Redis({ host: host ?? "", port: Number(port) })
        const names = yield* Effect.promise(() => namesOn(direct)).pipe(
          Effect.ensuring(Effect.promise(() => direct.quit())),
        )
        const ours = names.filter((n) => n.startsWith(name)).toSorted()
        expect(ours, node.node).toEqual(node.master ? [`${name}:block`, `${name}:cmd`] : [])
      }
    }),
  )

  it.live("a seed list where no node answers fails with RedisUnavailable within the bound", () =>
    Effect.gen(function* () {
      // One port nobody listens on, one that accepts and never answers.
      const silent: Server = createServer(() => {})
      const silentPort = yield* Effect.promise(
        () =>
          new Promise<number>((resolve) =>
            silent.listen(0, "127.0.0.1", () => resolve((silent.address() as { port: number }).port)),
          ),
      )
      const closedPort = yield* Effect.promise(freePort)
      const cluster = Either.getOrThrow(EddyConfig.parseCluster([`127.0.0.1:${closedPort}`, `127.0.0.1:${silentPort}`]))
      const started = Date.now()
      const exit = yield* Effect.scoped(
        Effect.gen(function* () {
          const client = yield* RedisClient.make({ cluster, timeout: "500 millis", name: uniqueName("none") })
          return yield* Effect.either(client.run((redis) => redis.ping()))
        }),
      ).pipe(Effect.ensuring(Effect.sync(() => silent.close())))
      expect(Date.now() - started).toBeLessThan(3_000)
      expect(Either.isLeft(exit) && exit.left._tag).toBe("RedisUnavailable")
    }),
  )

  it.scopedLive("a bad seed among good ones: the client works", () =>
    Effect.gen(function* () {
      const closedPort = yield* Effect.promise(freePort)
      const good = TestRedis.clusterTarget()
      const cluster = Either.getOrThrow(
        EddyConfig.parseCluster([
          `127.0.0.1:${closedPort}`,
          ...good.nodes.slice(0, 2).map((node) => `${node.host}:${node.port}`),
        ]),
      )
      const client = yield* RedisClient.make({ cluster, name: uniqueName("bad-seed") })
      const key = `${TestRedis.uniquePrefix("bad-seed")}:{p1}:k`
      yield* client.run((redis) => redis.set(key, "v", "EX", 60))
      expect(yield* client.run((redis) => redis.get(key))).toBe("v")
      expect(yield* client.onEachMaster((redis) => redis.ping())).toHaveLength(3)
    }),
  )
})
