/**
 * The lifecycle property's model: the calls a few simulated workers and an operator can make
 * (`Op`), and the fast-check generators of scenarios (a few submissions first, then anything).
 */
import fc from "fast-check"

const jobCount = 5
/** The simulated workers' consumer names. */
export const consumers = ["c1", "c2", "c3"] as const

/** The calls that only the consumer holding a delivery may make. */
export type Fenced = "start" | "complete" | "release" | "confirmCancel" | "progress"
/** One step of a scenario. */
export type Op =
  | { readonly op: "submit"; readonly job: number; readonly delayMs: number; readonly maxAttempts: number }
  | { readonly op: "read"; readonly consumer: number; readonly count: number }
  | { readonly op: "take"; readonly consumer: number }
  | { readonly op: Fenced; readonly consumer: number; readonly pick: number }
  | {
      readonly op: "fail"
      readonly consumer: number
      readonly pick: number
      readonly retryable: boolean
      readonly retryDelayMs: number
    }
  | { readonly op: "renew"; readonly consumer: number }
  | { readonly op: "reclaim"; readonly consumer: number; readonly count: number; readonly maxDeliveries: number }
  | { readonly op: "promote" }
  | { readonly op: "cancel"; readonly job: number }
  | { readonly op: "sleep"; readonly ms: number }
  | { readonly op: "claim"; readonly consumer: number; readonly count: number }
  | { readonly op: "requeue" | "purge"; readonly job: number }
  | { readonly op: "expire" }

const job = fc.nat({ max: jobCount - 1 })
const consumer = fc.nat({ max: consumers.length - 1 })
const pick = fc.nat({ max: 7 })
const fenced = (op: Fenced) => fc.record({ op: fc.constant(op), consumer, pick })

const submitArb = fc.record({
  op: fc.constant("submit" as const),
  job,
  delayMs: fc.constantFrom(0, 0, 20, 50),
  maxAttempts: fc.integer({ min: 1, max: 3 }),
})

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: submitArb },
  { weight: 5, arbitrary: fc.record({ op: fc.constant("take" as const), consumer }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("read" as const), consumer, count: fc.integer({ min: 1, max: 3 }) }),
  },
  { weight: 2, arbitrary: fenced("start") },
  { weight: 4, arbitrary: fenced("complete") },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("fail" as const),
      consumer,
      pick,
      retryable: fc.boolean(),
      retryDelayMs: fc.constantFrom(0, 20),
    }),
  },
  { weight: 1, arbitrary: fenced("release") },
  { weight: 1, arbitrary: fenced("confirmCancel") },
  { weight: 1, arbitrary: fenced("progress") },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("renew" as const), consumer }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("reclaim" as const),
      consumer,
      count: fc.integer({ min: 1, max: 4 }),
      maxDeliveries: fc.integer({ min: 2, max: 4 }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ op: "promote" as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("cancel" as const), job }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("sleep" as const), ms: fc.integer({ min: 0, max: 30 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("claim" as const), consumer, count: fc.integer({ min: 1, max: 3 }) }),
  },
)

/** The operator's calls that delete or revive jobs: the read-model property adds them. */
const operatorArb: fc.Arbitrary<Op> = fc.oneof(
  opArb,
  fc.record({ op: fc.constantFrom("requeue" as const, "purge" as const), job }),
  fc.constant({ op: "expire" as const }),
)

/** A few submissions first, then anything. */
const scenarioOf = (ops: fc.Arbitrary<Op>) =>
  fc
    .tuple(
      fc.array(submitArb, { minLength: 2, maxLength: 5 }),
      fc.array(ops, { minLength: 10, maxLength: 35, size: "max" }),
    )
    .map(([first, rest]): ReadonlyArray<Op> => [...first, ...rest])

/** A scenario of workers' calls. */
export const scenario = scenarioOf(opArb)
/** A scenario of workers' calls and the operator's (requeue, purge, expire). */
export const operatorScenario = scenarioOf(operatorArb)
