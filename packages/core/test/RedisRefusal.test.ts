/**
 * When Redis refuses a connection, the client shows Redis's own words (not `write EPIPE`,
 * `closed` or a bare timeout): in `RedisUnavailable`'s message and `redisSaid`, and in the
 * connection-lost log. Against servers of the test's own, since it changes `maxclients` and
 * `requirepass`, and one that loads its data slowly (Redis's `key-load-delay`), so that it
 * answers `LOADING` for a few seconds.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, HashMap, Logger, Redacted, Schedule } from "effect"
import { Redis } from "ioredis"
import * as EmbeddedRedis from "../src/EmbeddedRedis.js"
import * as RedisClient from "../src/RedisClient.js"
import { freePort } from "./support/FreePort.js"

/** A logger that keeps the messages it is given. */
const collectLogs = () => {
  const entries: Array<{ level: string; message: string; connection: unknown }> = []
  const logger = Logger.make(({ logLevel, message, annotations }) => {
    entries.push({
      level: logLevel.label,
      message: (Array.isArray(message) ? message : [message]).map(String).join(" "),
      connection: HashMap.unsafeGet(annotations, "connection"),
    })
  })
  return { entries, layer: Logger.replace(Logger.defaultLogger, logger) }
}

/** An independent connection to the server; closed with the test's scope. */
const observe = (url: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const redis = new Redis(url, { maxRetriesPerRequest: 1 })
      await redis.ping()
      return redis
    }),
    (redis) => Effect.sync(() => redis.disconnect()),
  )

const withPassword = (url: string, userInfo: string) => url.replace("redis://", `redis://${userInfo}@`)

/** Polls the collected logs until a warning mentions `text`. */
const warned = (entries: ReadonlyArray<{ level: string; message: string }>, text: string) =>
  Effect.suspend(() => {
    const found = entries.filter((e) => e.level === "WARN" && e.message.includes(text))
    return found.length > 0 ? Effect.succeed(found) : Effect.fail(`no warning mentions ${text}`)
  }).pipe(Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("5 seconds"))))

describe("RedisClient when Redis refuses", () => {
  it.scopedLive("at maxclients: the error and the lost log say 'max number of clients reached'; it recovers", () => {
    const logs = collectLogs()
    return Effect.gen(function* () {
      const server = yield* EmbeddedRedis.start({ ephemeral: true })
      const observer = yield* observe(server.url)
      // The observer holds the only slot.
      yield* Effect.promise(() => observer.config("SET", "maxclients", "1"))
      const client = yield* RedisClient.make({ url: Redacted.make(server.url), timeout: "1 second" })

      const error = yield* Effect.flip(client.run((redis) => redis.ping()))
      expect(error._tag).toBe("RedisUnavailable")
      expect(error.message).toContain("ERR max number of clients reached")
      expect(error._tag === "RedisUnavailable" ? error.redisSaid : undefined).toBe("ERR max number of clients reached")
      const lost = yield* warned(logs.entries, "connection lost")
      expect(lost).toHaveLength(1)
      expect(lost[0]?.message).toContain("ERR max number of clients reached")
      expect(logs.entries.some((e) => /EPIPE|ECONNRESET|\(closed\)/.test(e.message))).toBe(false)

      // Room again: the same client comes back by itself.
      yield* Effect.promise(() => observer.config("SET", "maxclients", "100"))
      expect(yield* client.run((redis) => redis.ping()).pipe(Effect.retry(Schedule.spaced("100 millis")))).toBe("PONG")
    }).pipe(Effect.provide(logs.layer))
  })

  it.scopedLive("with requirepass: NOAUTH without a password, WRONGPASS with a wrong one, in error and log", () => {
    const logs = collectLogs()
    return Effect.gen(function* () {
      const server = yield* EmbeddedRedis.start({ ephemeral: true })
      const observer = yield* observe(server.url)
      yield* Effect.promise(() => observer.config("SET", "requirepass", "right-one"))

      const anonymous = yield* RedisClient.make({ url: Redacted.make(server.url), timeout: "1 second", name: "anon" })
      const noAuth = yield* Effect.flip(anonymous.health)
      expect(noAuth.message).toContain("NOAUTH")
      expect(noAuth.redisSaid).toMatch(/^NOAUTH/)

      const wrong = yield* RedisClient.make({
        url: Redacted.make(withPassword(server.url, ":wrong-one")),
        timeout: "1 second",
        name: "wrong",
      })
      const wrongPass = yield* Effect.flip(wrong.run((redis) => redis.ping()))
      expect(wrongPass.message).toContain("WRONGPASS")
      expect(wrongPass._tag === "RedisUnavailable" ? wrongPass.redisSaid : undefined).toMatch(/^WRONGPASS/)

      const lost = yield* warned(logs.entries, "WRONGPASS")
      expect(lost[0]?.message).toMatch(/connection lost \(WRONGPASS/)
      expect((yield* warned(logs.entries, "NOAUTH"))[0]?.message).toMatch(/connection lost \(NOAUTH/)

      // The right password works.
      const right = yield* RedisClient.make({
        url: Redacted.make(withPassword(server.url, ":right-one")),
        timeout: "2 seconds",
        name: "right",
      })
      expect(yield* right.run((redis) => redis.ping())).toBe("PONG")
    }).pipe(Effect.provide(logs.layer))
  })

  it.scopedLive(
    "while Redis loads its data: the error and the log say LOADING; it comes up by itself",
    () => {
      const logs = collectLogs()
      return Effect.gen(function* () {
        const dir = yield* Effect.acquireRelease(
          Effect.sync(() => mkdtempSync(join(tmpdir(), "eddy-loading-"))),
          (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })),
        )
        const port = yield* Effect.promise(freePort)
        const url = `redis://127.0.0.1:${port}`
        // A data file of 5,000 keys, saved by a first server.
        const first = yield* redisServer(["--port", String(port), "--dir", dir, "--save", "", "--appendonly", "no"])
        yield* Effect.promise(async () => {
          const redis = await ready(url)
          const pairs = Array.from({ length: 5_000 }, (_, i) => [`k${i}`, `v${i}`]).flat()
          await redis.mset(...pairs)
          await redis.save()
          redis.disconnect()
        })
        yield* stopServer(first)
        // A second server loads it at 1 ms a key, answering clients meanwhile (with LOADING).
        yield* redisServer([
          "--port",
          String(port),
          "--dir",
          dir,
          "--save",
          "",
          "--appendonly",
          "no",
          "--key-load-delay",
          "1000",
          "--loading-process-events-interval-bytes",
          "1024",
        ])
        yield* Effect.promise(() => listening(port))
        const client = yield* RedisClient.make({ url: Redacted.make(url), timeout: "1500 millis" })
        const error = yield* Effect.flip(client.run((redis) => redis.get("k1")))
        expect(error.message).toContain("LOADING")
        expect(error._tag === "RedisUnavailable" ? error.redisSaid : undefined).toMatch(/^LOADING/)
        expect((yield* warned(logs.entries, "LOADING"))[0]?.message).toMatch(/^Redis is not ready \(LOADING/)

        expect(yield* client.run((redis) => redis.get("k1")).pipe(Effect.retry(Schedule.spaced("200 millis")))).toBe(
          "v1",
        )
        expect(logs.entries.filter((e) => e.message.includes("connection back"))).toHaveLength(1)
      }).pipe(Effect.provide(logs.layer))
    },
    60_000,
  )
})

/** A plain redis-server with these arguments, killed when the test's scope closes. */
const redisServer = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync(() => spawn("redis-server", args, { stdio: "ignore" })),
    (child) => stopServer(child),
  )

const stopServer = (child: ChildProcess) =>
  Effect.promise(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once("exit", () => resolve())
        child.kill("SIGKILL")
      }),
  )

/** A connection once the server answers. */
const ready = async (url: string) => {
  for (let i = 0; i < 100; i++) {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    redis.on("error", () => {})
    try {
      await redis.connect()
      await redis.ping()
      return redis
    } catch {
      redis.disconnect()
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  throw new Error(`no redis-server at ${url}`)
}

/** Resolves once something accepts connections on the port (a loading server answers nothing else). */
const listening = async (port: number) => {
  for (let i = 0; i < 200; i++) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port })
      socket.once("connect", () => {
        socket.destroy()
        resolve(true)
      })
      socket.once("error", () => resolve(false))
    })
    if (accepted) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`nothing listens on port ${port}`)
}
