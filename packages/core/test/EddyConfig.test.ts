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
