/**
 * Actor contracts: a name, an input Schema, an output Schema and a policy. A contract holds no
 * handler code, so producers import it without pulling in the implementation.
 */
import { Data, Duration, Effect, JSONSchema, Schedule, type Schema } from "effect"

/** Priority lanes; workers serve high before normal before low. */
export type Lane = "high" | "normal" | "low"

/** How long to wait before the next attempt. */
export type Backoff =
  | {
      readonly _tag: "exponential"
      readonly base: Duration.Duration
      readonly factor: number
      readonly max: Duration.Duration
      readonly jitter: boolean
    }
  | { readonly _tag: "fixed"; readonly delay: Duration.Duration; readonly jitter: boolean }
  | { readonly _tag: "custom"; readonly schedule: Schedule.Schedule<unknown, unknown> }

/** Exponential backoff: `base`, `base·factor`, … capped at `max`, each ±20 % when jittered. */
export const exponential = (options: {
  readonly base: Duration.DurationInput
  readonly factor?: number
  readonly max?: Duration.DurationInput
  readonly jitter?: boolean
}): Backoff => ({
  _tag: "exponential",
  base: Duration.decode(options.base),
  factor: options.factor ?? 3,
  max: Duration.decode(options.max ?? "1 hour"),
  jitter: options.jitter ?? true,
})

/** The same delay before every retry. */
export const fixed = (delay: Duration.DurationInput, options?: { readonly jitter?: boolean }): Backoff => ({
  _tag: "fixed",
  delay: Duration.decode(delay),
  jitter: options?.jitter ?? false,
})

/** Any Effect `Schedule`: its n-th delay is the wait before attempt n + 1. */
export const custom = (schedule: Schedule.Schedule<unknown, unknown>): Backoff => ({ _tag: "custom", schedule })

/** Requests per window, across every worker of the actor. */
export interface RateLimit {
  readonly limit: number
  readonly per: Duration.Duration
}

/** An actor's policy, every field filled in. */
export interface Policy {
  /** Tries in all, the first included. */
  readonly attempts: number
  readonly backoff: Backoff
  /** Per attempt. */
  readonly timeout: Duration.Duration
  /** How long a delivery may go unrenewed before another worker reclaims it. */
  readonly lease: Duration.Duration
  /** Deliveries of one attempt (first run plus reclaims) before it is dead-lettered as stalled. */
  readonly maxDeliveries: number
  readonly rateLimit: RateLimit | undefined
  /** Most jobs of this actor one worker process runs at once. */
  readonly concurrency: number
}

/** What `define` accepts: every policy field is optional. */
export interface PolicyInput {
  readonly attempts?: number
  readonly backoff?: Backoff
  readonly timeout?: Duration.DurationInput
  readonly lease?: Duration.DurationInput
  readonly maxDeliveries?: number
  readonly rateLimit?: { readonly limit: number; readonly per: Duration.DurationInput }
  readonly concurrency?: number
}

/** The defaults: 4 tries, 5 s / 15 s / 45 s backoff with jitter, 10 min timeout, 30 s lease. */
export const defaultPolicy: Policy = {
  attempts: 4,
  backoff: exponential({ base: "5 seconds", factor: 3, max: "45 seconds" }),
  timeout: Duration.minutes(10),
  lease: Duration.seconds(30),
  maxDeliveries: 3,
  rateLimit: undefined,
  concurrency: 10,
}

/** A typed contract for one actor. */
export interface Actor<I, O, IE = I, OE = O> {
  readonly name: string
  readonly input: Schema.Schema<I, IE>
  readonly output: Schema.Schema<O, OE>
  readonly policy: Policy
}

/** Any contract, whatever its types. */
// biome-ignore lint/suspicious/noExplicitAny: a contract's types vary per actor
export type Any = Actor<any, any, any, any>

/** A contract could not be defined: the message says which field and why. */
export class InvalidActorDefinition extends Data.TaggedError("InvalidActorDefinition")<{ readonly message: string }> {}

const namePattern = /^[a-z0-9][a-z0-9-]{0,63}$/

const positiveInteger = (name: string, field: string, value: number) => {
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidActorDefinition({ message: `actor "${name}": ${field} must be a whole number >= 1, got ${value}` })
  return value
}

const positiveDuration = (name: string, field: string, value: Duration.DurationInput) => {
  const duration = Duration.decode(value)
  if (!Duration.greaterThan(duration, Duration.zero))
    throw new InvalidActorDefinition({ message: `actor "${name}": ${field} must be longer than zero` })
  return duration
}

/**
 * Defines a contract. Names are lowercase letters, digits and `-`, at most 64 characters.
 * Throws `InvalidActorDefinition` for a bad name or policy: contracts are module constants.
 */
export const define = <I, O, IE, OE>(
  name: string,
  options: {
    readonly input: Schema.Schema<I, IE>
    readonly output: Schema.Schema<O, OE>
    readonly policy?: PolicyInput
  },
): Actor<I, O, IE, OE> => {
  if (!namePattern.test(name))
    throw new InvalidActorDefinition({
      message: `actor name "${name}" must be 1-64 characters of a-z, 0-9 and '-', starting with a letter or digit`,
    })
  const input = options.policy ?? {}
  const policy: Policy = {
    attempts: positiveInteger(name, "attempts", input.attempts ?? defaultPolicy.attempts),
    backoff: input.backoff ?? defaultPolicy.backoff,
    timeout: positiveDuration(name, "timeout", input.timeout ?? defaultPolicy.timeout),
    lease: positiveDuration(name, "lease", input.lease ?? defaultPolicy.lease),
    maxDeliveries: positiveInteger(name, "maxDeliveries", input.maxDeliveries ?? defaultPolicy.maxDeliveries),
    rateLimit:
      input.rateLimit === undefined
        ? undefined
        : {
            limit: positiveInteger(name, "rateLimit.limit", input.rateLimit.limit),
            per: positiveDuration(name, "rateLimit.per", input.rateLimit.per),
          },
    concurrency: positiveInteger(name, "concurrency", input.concurrency ?? defaultPolicy.concurrency),
  }
  return { name, input: options.input, output: options.output, policy }
}

/** The backoff as an Effect `Schedule` whose n-th delay precedes attempt n + 1. */
export const backoffSchedule = (backoff: Backoff): Schedule.Schedule<unknown, unknown> => {
  switch (backoff._tag) {
    case "exponential": {
      const capped = Schedule.exponential(backoff.base, backoff.factor).pipe(
        Schedule.modifyDelay((delay) => Duration.min(delay, backoff.max)),
      )
      return backoff.jitter ? Schedule.jittered(capped) : capped
    }
    case "fixed": {
      const spaced = Schedule.spaced(backoff.delay)
      return backoff.jitter ? Schedule.jittered(spaced) : spaced
    }
    case "custom":
      return backoff.schedule
  }
}

/** The wait before `attempt + 1`, after `attempt` (1-based) failed. */
export const retryDelay = (policy: Policy, attempt: number): Effect.Effect<Duration.Duration> =>
  Schedule.run(
    Schedule.delays(backoffSchedule(policy.backoff)),
    0,
    Array.from({ length: attempt }, () => undefined),
  ).pipe(
    Effect.map((delays) => {
      const all = Array.from(delays)
      return all[all.length - 1] ?? Duration.zero
    }),
  )

/** A JSON description of the contract, for the gateway and the docs. */
export const describe = (actor: Any) => ({
  name: actor.name,
  input: JSONSchema.make(actor.input),
  output: JSONSchema.make(actor.output),
  policy: {
    attempts: actor.policy.attempts,
    backoff: describeBackoff(actor.policy.backoff),
    timeoutMs: Duration.toMillis(actor.policy.timeout),
    leaseMs: Duration.toMillis(actor.policy.lease),
    maxDeliveries: actor.policy.maxDeliveries,
    concurrency: actor.policy.concurrency,
    rateLimit:
      actor.policy.rateLimit === undefined
        ? null
        : { limit: actor.policy.rateLimit.limit, perMs: Duration.toMillis(actor.policy.rateLimit.per) },
  },
})

const describeBackoff = (backoff: Backoff) => {
  switch (backoff._tag) {
    case "exponential":
      return {
        type: "exponential",
        baseMs: Duration.toMillis(backoff.base),
        factor: backoff.factor,
        maxMs: Duration.toMillis(backoff.max),
        jitter: backoff.jitter,
      }
    case "fixed":
      return { type: "fixed", delayMs: Duration.toMillis(backoff.delay), jitter: backoff.jitter }
    case "custom":
      return { type: "custom" }
  }
}
