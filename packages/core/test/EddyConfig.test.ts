import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Option, Redacted } from "effect"
import * as EddyConfig from "../src/EddyConfig.js"

const read = <A>(config: import("effect").Config.Config<A>, env: Record<string, string>) =>
  Effect.withConfigProvider(config, ConfigProvider.fromMap(new Map(Object.entries(env))))

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
})
