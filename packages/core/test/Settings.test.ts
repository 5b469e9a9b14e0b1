import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either, Layer } from "effect"
import * as Settings from "../src/Settings.js"

const fromEnv = (env: Record<string, string>) =>
  Settings.Settings.pipe(
    Effect.provide(
      Settings.layerConfig.pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))),
      ),
    ),
  )

describe("Settings", () => {
  it.effect("reads every bound from EDDY_* variables", () =>
    Effect.gen(function* () {
      const settings = yield* fromEnv({
        EDDY_PREFIX: "acme",
        EDDY_PARTITIONS: "4",
        EDDY_EVENTS_MAXLEN: "50000",
        EDDY_EVENTS_RETENTION: "36 hours",
        EDDY_RETENTION: "2 hours",
        EDDY_DEAD_LETTER_RETENTION: "3 days",
        EDDY_DEAD_LETTERS_MAXLEN: "1000",
        EDDY_MAX_PAYLOAD_BYTES: "2048",
        EDDY_SUBMIT_REPLICAS: "1",
        EDDY_SUBMIT_REPLICAS_TIMEOUT: "250 millis",
      })
      expect(settings.keyspace.prefix).toBe("acme")
      expect(settings.keyspace.partitions).toBe(4)
      expect(settings.keyspace.partition(3).jobs).toBe("acme:{p3}:jobs")
      expect(settings.eventsMaxLen).toBe(50_000)
      expect(Duration.toHours(settings.eventsRetention)).toBe(36)
      expect(Duration.toHours(settings.retention)).toBe(2)
      expect(Duration.toDays(settings.deadLetterRetention)).toBe(3)
      expect(settings.deadLettersMaxLen).toBe(1000)
      expect(settings.maxPayloadBytes).toBe(2048)
      expect(settings.submitReplicas).toBe(1)
      expect(Duration.toMillis(settings.submitReplicasTimeout)).toBe(250)
    }),
  )

  it.effect("defaults what is unset", () =>
    Effect.gen(function* () {
      const settings = yield* fromEnv({})
      expect(settings.keyspace.prefix).toBe("eddy")
      expect(settings.maxPayloadBytes).toBe(1024 * 1024)
      expect(Duration.toHours(settings.retention)).toBe(24)
      expect(Duration.toDays(settings.eventsRetention)).toBe(7)
      expect(settings.submitReplicas).toBe(0)
    }),
  )

  it.effect("a bad bound names its variable", () =>
    Effect.gen(function* () {
      const result = yield* Effect.either(fromEnv({ EDDY_MAX_PAYLOAD_BYTES: "lots" }))
      expect(Either.isLeft(result) && String(result.left)).toContain("EDDY_MAX_PAYLOAD_BYTES")
      const zero = yield* Effect.either(fromEnv({ EDDY_EVENTS_RETENTION: "0 seconds" }))
      expect(Either.isLeft(zero) && String(zero.left)).toContain("EDDY_EVENTS_RETENTION")
      const replicas = yield* Effect.either(fromEnv({ EDDY_SUBMIT_REPLICAS: "-1" }))
      expect(Either.isLeft(replicas) && String(replicas.left)).toContain("EDDY_SUBMIT_REPLICAS")
    }),
  )

  it("a partition outside the key space is a RangeError", () => {
    expect(() => Settings.make({ prefix: "x", partitions: 2 }).keyspace.partition(2)).toThrow(RangeError)
  })
})
