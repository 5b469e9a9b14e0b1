import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Schedule, Schema } from "effect"
import * as Actor from "../src/Actor.js"

const Io = { input: Schema.Struct({ a: Schema.Number }), output: Schema.String }

describe("Actor", () => {
  it("fills every policy field with its default", () => {
    const actor = Actor.define("resize-image", Io)
    expect(actor.policy.attempts).toBe(4)
    expect(Duration.toMillis(actor.policy.lease)).toBe(30_000)
    expect(Duration.toMillis(actor.policy.timeout)).toBe(600_000)
    expect(actor.policy.maxDeliveries).toBe(3)
    expect(actor.policy.rateLimit).toBeUndefined()
  })

  it("refuses bad names and policies with a message naming the field", () => {
    expect(() => Actor.define("Resize", Io)).toThrow(/lowercase|a-z/)
    expect(() => Actor.define("-x", Io)).toThrow(Actor.InvalidActorDefinition)
    expect(() => Actor.define("x".repeat(65), Io)).toThrow(/1-64/)
    expect(() => Actor.define("ok", { ...Io, policy: { attempts: 0 } })).toThrow(/attempts/)
    expect(() => Actor.define("ok", { ...Io, policy: { lease: 0 } })).toThrow(/lease/)
    expect(() => Actor.define("ok", { ...Io, policy: { rateLimit: { limit: 0, per: "1 second" } } })).toThrow(
      /rateLimit.limit/,
    )
    expect(
      Actor.define("a-1", { ...Io, policy: { rateLimit: { limit: 5, per: "1 second" } } }).policy.rateLimit,
    ).toEqual({ limit: 5, per: Duration.seconds(1) })
  })

  it.effect("the default backoff waits about 5 s, 15 s, 45 s, then stays capped", () =>
    Effect.gen(function* () {
      const policy = Actor.defaultPolicy
      const delays = yield* Effect.forEach([1, 2, 3, 4], (attempt) => Actor.retryDelay(policy, attempt))
      const [first, second, third, fourth] = delays.map(Duration.toMillis)
      expect(first).toBeGreaterThanOrEqual(4_000)
      expect(first).toBeLessThanOrEqual(6_000)
      expect(second).toBeGreaterThanOrEqual(12_000)
      expect(second).toBeLessThanOrEqual(18_000)
      expect(third).toBeGreaterThanOrEqual(36_000)
      expect(third).toBeLessThanOrEqual(54_000)
      expect(fourth).toBeLessThanOrEqual(54_000)
    }),
  )

  it.effect("fixed and custom backoffs give their own delays", () =>
    Effect.gen(function* () {
      const fixed = Actor.define("f", { ...Io, policy: { backoff: Actor.fixed("250 millis") } }).policy
      expect(Duration.toMillis(yield* Actor.retryDelay(fixed, 3))).toBe(250)
      const custom = Actor.define("c", {
        ...Io,
        policy: { backoff: Actor.custom(Schedule.fromDelays("1 second", "2 seconds", "7 seconds")) },
      }).policy
      expect(Duration.toMillis(yield* Actor.retryDelay(custom, 3))).toBe(7_000)
      const exact = Actor.define("e", {
        ...Io,
        policy: { backoff: Actor.exponential({ base: "100 millis", factor: 2, max: "300 millis", jitter: false }) },
      }).policy
      const delays = yield* Effect.forEach([1, 2, 3], (n) => Actor.retryDelay(exact, n))
      expect(delays.map(Duration.toMillis)).toEqual([100, 200, 300])
    }),
  )

  it("describes the contract as JSON Schema with the input's examples and the policy", () => {
    const actor = Actor.define("greet", {
      input: Schema.Struct({ name: Schema.String }).annotations({ examples: [{ name: "Ada" }] }),
      output: Schema.String,
      policy: { backoff: Actor.fixed("1 second", { jitter: true }), rateLimit: { limit: 3, per: "1 second" } },
    })
    const described = Actor.describe(actor)
    expect(described.input).toMatchObject({ type: "object", required: ["name"], examples: [{ name: "Ada" }] })
    expect(described.policy).toMatchObject({
      attempts: 4,
      backoff: { type: "fixed", delayMs: 1000, jitter: true },
      rateLimit: { limit: 3, perMs: 1000 },
    })
    expect(Actor.describe(Actor.define("d", Io)).policy.backoff).toMatchObject({ type: "exponential", baseMs: 5000 })
    expect(
      Actor.describe(Actor.define("k", { ...Io, policy: { backoff: Actor.custom(Schedule.once) } })).policy.backoff,
    ).toEqual({
      type: "custom",
    })
  })
})
