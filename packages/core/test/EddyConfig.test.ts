import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either, LogLevel, Option, Redacted } from "effect"
import * as EddyConfig from "../src/EddyConfig.js"

const read = <A>(config: import("effect").Config.Config<A>, env: Record<string, string>) =>
  Effect.withConfigProvider(config, ConfigProvider.fromMap(new Map(Object.entries(env))))

/** The error message of a config read that must fail. */
const failure = <A>(config: import("effect").Config.Config<A>, env: Record<string, string>) =>
  Effect.either(read(config, env)).pipe(
    Effect.map((result) => {
      expect(Either.isLeft(result)).toBe(true)
      return String(Either.isLeft(result) ? result.left : "")
    }),
  )

describe("EddyConfig", () => {
  it.effect("defaults every setting", () =>
    Effect.gen(function* () {
      expect(yield* read(EddyConfig.prefix, {})).toBe("eddy")
      expect(yield* read(EddyConfig.partitions, {})).toBe(1)
      expect(Option.isNone(yield* read(EddyConfig.redisTarget, {}))).toBe(true)
    }),
  )

  it.effect("a bad partition count names the variable, the expectation and the value", () =>
    Effect.gen(function* () {
      const result = yield* Effect.either(read(EddyConfig.partitions, { EDDY_PARTITIONS: "zero" }))
      expect(Either.isLeft(result)).toBe(true)
      const message = String(Either.isLeft(result) ? result.left : "")
      expect(message).toContain("EDDY_PARTITIONS")
      expect(message).toContain("an integer from 1 to 1024")
      expect(message).toContain('"zero"')
    }),
  )

  it.effect("a bad Redis URL is reported with its password masked", () =>
    Effect.gen(function* () {
      const result = yield* Effect.either(read(EddyConfig.redisTarget, { EDDY_REDIS_URL: "http://user:hunter2@host" }))
      const message = String(Either.isLeft(result) ? result.left : "")
      expect(message).toContain("EDDY_REDIS_URL")
      expect(message).toContain("redis:// or rediss://")
      expect(message).not.toContain("hunter2")
      expect(message).toContain("http://user:***@host")
    }),
  )

  it.effect("rediss:// selects TLS and keeps the URL redacted", () =>
    Effect.gen(function* () {
      const target = yield* read(EddyConfig.redisTarget, { EDDY_REDIS_URL: "rediss://app:s3cret@cache:6380/2" })
      const value = Option.getOrThrow(target)
      expect(value.tls).toBe(true)
      expect(value.display).toBe("rediss://app:***@cache:6380/2")
      expect(Redacted.value(value.url)).toBe("rediss://app:s3cret@cache:6380/2")
      expect(String(value.url)).not.toContain("s3cret")
    }),
  )

  it.effect("EDDY_REDIS_CLUSTER takes host:port seeds, with credentials and TLS written once on a URL entry", () =>
    Effect.gen(function* () {
      const plain = Option.getOrThrow(
        yield* read(EddyConfig.redisCluster, { EDDY_REDIS_CLUSTER: "10.0.0.1:7000, 10.0.0.2:7001" }),
      )
      expect(plain.nodes).toEqual([
        { host: "10.0.0.1", port: 7000 },
        { host: "10.0.0.2", port: 7001 },
      ])
      expect(plain.tls).toBe(false)
      expect(plain.password).toBeUndefined()

      const secure = Option.getOrThrow(
        yield* read(EddyConfig.redisCluster, {
          EDDY_REDIS_CLUSTER: "rediss://app:s3cret@node-a:7000,node-b:7001,[::1]:7002",
        }),
      )
      expect(secure.nodes).toEqual([
        { host: "node-a", port: 7000 },
        { host: "node-b", port: 7001 },
        { host: "::1", port: 7002 },
      ])
      expect(secure.tls).toBe(true)
      expect(secure.username).toBe("app")
      expect(Redacted.value(secure.password ?? Redacted.make(""))).toBe("s3cret")
      expect(secure.display).toBe("cluster rediss://app:***@node-a:7000,node-b:7001,[::1]:7002")
      expect(String(secure.password)).not.toContain("s3cret")

      // Through redisConnection, which every process reads.
      const either = Option.getOrThrow(
        yield* read(EddyConfig.redisConnection, { EDDY_REDIS_CLUSTER: "127.0.0.1:7000" }),
      )
      expect(either.kind).toBe("cluster")
      expect(Option.getOrThrow(yield* read(EddyConfig.redisConnection, { EDDY_REDIS_URL: "redis://h:1" })).kind).toBe(
        "server",
      )
      expect(Option.isNone(yield* read(EddyConfig.redisConnection, {}))).toBe(true)
    }),
  )

  it.effect("a bad EDDY_REDIS_CLUSTER names the variable and what is wrong, with passwords masked", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["", "an empty entry"],
        ["host", '"host" is not host:port'],
        ["host:7000,,host:7001", "an empty entry"],
        ["host:99999", "port 99999 is outside 1..65535"],
        ["http://u:hunter2@h:1", "is not redis:// or rediss://"],
        ["redis://h:7000/3", "a cluster has only database 0"],
        ["redis://h", "needs a host and a port"],
        ["redis://a:7000,rediss://b:7001", "redis:// and rediss:// entries mixed"],
        ["redis://u:hunter2@a:7000,redis://u:other@b:7001", "different credentials"],
      ]
      for (const [value, why] of cases) {
        const message = yield* failure(EddyConfig.redisCluster, { EDDY_REDIS_CLUSTER: value })
        expect(message, value).toContain("EDDY_REDIS_CLUSTER")
        expect(message, value).toContain("seed nodes")
        expect(message, value).toContain(why)
        expect(message, value).not.toContain("hunter2")
      }
    }),
  )

  it.effect("EDDY_REDIS_URL and EDDY_REDIS_CLUSTER together are refused, naming both", () =>
    Effect.gen(function* () {
      const message = yield* failure(EddyConfig.redisConnection, {
        EDDY_REDIS_URL: "redis://h:6379",
        EDDY_REDIS_CLUSTER: "h:7000",
      })
      expect(message).toContain("EDDY_REDIS_URL and EDDY_REDIS_CLUSTER are both set")
    }),
  )

  it.effect("EDDY_PREFIX takes a plain namespace and rejects braces, which would break hash tags", () =>
    Effect.gen(function* () {
      expect(yield* read(EddyConfig.prefix, { EDDY_PREFIX: "my-app.v2_1" })).toBe("my-app.v2_1")
      expect(yield* read(EddyConfig.prefix, { EDDY_PREFIX: " spaced " })).toBe("spaced")
      for (const bad of ["{eddy}", "ed{dy", "eddy}", "a:b", "", "x".repeat(65)]) {
        const message = yield* failure(EddyConfig.prefix, { EDDY_PREFIX: bad })
        expect(message).toContain("EDDY_PREFIX")
        expect(message).toContain("[A-Za-z0-9_.-]")
        expect(message).toContain(JSON.stringify(bad))
      }
    }),
  )

  it.effect("EDDY_LOG_LEVEL takes every documented name in any case, and defaults to info", () =>
    Effect.gen(function* () {
      const expected: Array<[string, LogLevel.LogLevel]> = [
        ["trace", LogLevel.Trace],
        ["debug", LogLevel.Debug],
        ["info", LogLevel.Info],
        ["warning", LogLevel.Warning],
        ["warn", LogLevel.Warning],
        ["WARNING", LogLevel.Warning],
        ["error", LogLevel.Error],
        ["Fatal", LogLevel.Fatal],
        ["none", LogLevel.None],
      ]
      for (const [raw, level] of expected) {
        expect(yield* read(EddyConfig.logLevel, { EDDY_LOG_LEVEL: raw })).toEqual(level)
      }
      expect(yield* read(EddyConfig.logLevel, {})).toEqual(LogLevel.Info)
    }),
  )

  it.effect("a bad EDDY_LOG_LEVEL names the variable, the choices and the value", () =>
    Effect.gen(function* () {
      for (const bad of ["loud", "toString", "constructor"]) {
        const message = yield* failure(EddyConfig.logLevel, { EDDY_LOG_LEVEL: bad })
        expect(message).toContain("EDDY_LOG_LEVEL")
        expect(message).toContain("one of trace, debug, info, warning, error, fatal, none")
        expect(message).toContain(`"${bad}"`)
      }
    }),
  )

  it.effect("EDDY_REDIS_TIMEOUT takes duration strings and plain milliseconds, and defaults to 2 s", () =>
    Effect.gen(function* () {
      const millis = (raw: string) =>
        read(EddyConfig.redisTimeout, { EDDY_REDIS_TIMEOUT: raw }).pipe(Effect.map(Duration.toMillis))
      expect(yield* millis("2 seconds")).toBe(2_000)
      expect(yield* millis("500 millis")).toBe(500)
      expect(yield* millis("1.5 seconds")).toBe(1_500)
      expect(yield* millis("1 minute")).toBe(60_000)
      expect(yield* millis("750")).toBe(750)
      expect(yield* millis(" 250 ")).toBe(250)
      expect(Duration.toMillis(yield* read(EddyConfig.redisTimeout, {}))).toBe(2_000)
    }),
  )

  it.effect("a bad EDDY_REDIS_TIMEOUT names the variable, the expectation and the value", () =>
    Effect.gen(function* () {
      for (const bad of ["soon", "2s", "-5 seconds", "-100", "0", "0 seconds", "1.5"]) {
        const message = yield* failure(EddyConfig.redisTimeout, { EDDY_REDIS_TIMEOUT: bad })
        expect(message).toContain("EDDY_REDIS_TIMEOUT")
        expect(message).toContain('"2 seconds", "500 millis" or a number of milliseconds')
        expect(message).toContain(JSON.stringify(bad))
      }
    }),
  )
})
