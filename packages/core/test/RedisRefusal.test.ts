/**
 * When Redis refuses a connection, the client shows Redis's own words (not `write EPIPE`,
 * `closed` or a bare timeout): in `RedisUnavailable`'s message and `redisSaid`, and in the
 * connection-lost log. Against servers of the test's own, since it changes `maxclients` and
 * `requirepass`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, HashMap, Logger, Redacted, Schedule } from "effect"
import { Redis } from "ioredis"
import * as EmbeddedRedis from "../src/EmbeddedRedis.js"
import * as RedisClient from "../src/RedisClient.js"

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
})
