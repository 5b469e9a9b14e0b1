/**
 * Contracts and handlers the gateway tests run against real workers.
 */
import { Actor } from "@eddy/core"
import { Effect, Schema } from "effect"
import type { Handler } from "../../../workers/src/index.js"
import * as Worker from "../../../workers/src/Worker.js"
import * as TestGateway from "./TestGateway.js"

/** Answers at once. */
export const Greet = Actor.define("greet", {
  input: Schema.Struct({ name: Schema.String }).annotations({ examples: [{ name: "Ada" }] }),
  output: Schema.Struct({ greeting: Schema.String }),
})

/**
 * Reports progress, then sleeps `ms`. A short lease makes the heartbeat (every lease/3) notice
 * a cancel within a second.
 */
export const Slow = Actor.define("slow", {
  input: Schema.Struct({ ms: Schema.Int.pipe(Schema.between(0, 60_000)) }),
  output: Schema.Struct({ slept: Schema.Number }),
  policy: { lease: "3 seconds", attempts: 1 },
})

/** Fails with `NonRetryable` unless its `n` has been healed. */
export const Poison = Actor.define("poison", {
  input: Schema.Struct({ n: Schema.Number }),
  output: Schema.Struct({ n: Schema.Number }),
  policy: { attempts: 3, backoff: Actor.fixed("10 millis") },
})

/** A nested input, for path-level issues. */
export const Order = Actor.define("order", {
  input: Schema.Struct({
    customer: Schema.Struct({ email: Schema.String.pipe(Schema.pattern(/@/)) }),
    items: Schema.Array(Schema.Struct({ sku: Schema.String, qty: Schema.Int.pipe(Schema.positive()) })),
  }),
  output: Schema.Struct({ total: Schema.Number }),
})

/** No handler runs it, so its jobs stay queued. */
export const Parked = Actor.define("parked", {
  input: Schema.Struct({ i: Schema.Int, note: Schema.optional(Schema.String) }),
  output: Schema.Unknown,
})

/** Takes any JSON; no handler runs it. */
export const Anything = Actor.define("anything", { input: Schema.Unknown, output: Schema.Unknown })

/** The `n`s of `Poison` that succeed from now on (module state: one per test file). */
export const healed = new Set<number>()

export const greet: Handler.Any = Worker.handle(Greet, ({ name }) => Effect.succeed({ greeting: `hello ${name}` }))

export const slow: Handler.Any = Worker.handle(Slow, ({ ms }, context) =>
  Effect.gen(function* () {
    yield* context.progress(0.5, "half way")
    yield* Effect.sleep(ms)
    return { slept: ms }
  }),
)

export const poison: Handler.Any = Worker.handle(Poison, ({ n }) =>
  healed.has(n) ? Effect.succeed({ n }) : Effect.fail(new Worker.NonRetryable({ message: `poison input ${n}` })),
)

export const order: Handler.Any = Worker.handle(Order, ({ items }) =>
  Effect.succeed({ total: items.reduce((sum, item) => sum + item.qty, 0) }),
)

export const contracts: ReadonlyArray<Actor.Any> = [Greet, Slow, Poison, Order, Parked, Anything]
export const handlers: ReadonlyArray<Handler.Any> = [greet, slow, poison, order]

/** A gateway over these contracts, with workers running their handlers. */
export const gateway = (options: Partial<TestGateway.Options> = {}): ReturnType<typeof TestGateway.layer> =>
  TestGateway.layer({ contracts, handlers, ...options })
