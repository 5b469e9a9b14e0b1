/**
 * What every job of a handler shares, made once per handler rather than per job (the benchmark's
 * no-op jobs showed each of these as a per-job cost): the input and output codecs, the actor's
 * metrics, the retry of recording calls through Redis trouble, and the timeout.
 */
import { Duration, Effect, Either, Metric, Schedule, Schema } from "effect"
import type * as Handler from "../Handler.js"
import * as WorkerMetrics from "../WorkerMetrics.js"

/** What a handler's every job needs, prepared once per handler rather than per job. */
export interface Prepared {
  readonly contract: Handler.Any["contract"]
  /** The stored input (JSON text) decoded with the contract; a Left when it is not JSON or does not decode. */
  readonly decodeInput: (text: string) => Either.Either<unknown, unknown>
  /**
   * The handler's output encoded with the contract, as the JSON text to record; a Left (why) when
   * it does not encode or is no JSON value. Nothing (a void output) is recorded as `null`.
   */
  readonly encodeOutput: (output: unknown) => Either.Either<string, string>
  readonly metrics: WorkerMetrics.ActorMetrics
  /**
   * Adds one to a counter of the actor. Made once: an Effect is a reusable description, and
   * `Metric.increment` builds a new one (and its closures) on every call.
   */
  readonly count: Record<WorkerMetrics.CounterName, Effect.Effect<void>>
  /**
   * Redis trouble while recording an outcome: retry within the lease. Past it another worker
   * reclaims the job anyway, so giving up then loses nothing.
   */
  readonly persistently: <A, E extends { readonly _tag: string }, R>(
    self: Effect.Effect<A, E, R>,
  ) => Effect.Effect<A, E, R>
  readonly timeoutMs: number
}

const preparedByHandler = new WeakMap<Handler.Any, Prepared>()

export const prepare = (handler: Handler.Any): Prepared => {
  const known = preparedByHandler.get(handler)
  if (known !== undefined) return known
  const { contract } = handler
  const schedule = Schedule.exponential("100 millis").pipe(
    Schedule.union(Schedule.spaced("2 seconds")),
    Schedule.upTo(contract.policy.lease),
  )
  // Synchronous: no Effect to run per job for what is plain validation.
  const decode = Schema.decodeUnknownEither(contract.input)
  const encode = Schema.encodeEither(contract.output)
  const metrics = WorkerMetrics.ofActor(contract.name)
  const prepared: Prepared = {
    contract,
    decodeInput: (text) => {
      try {
        return decode(JSON.parse(text))
      } catch (error) {
        return Either.left(error)
      }
    },
    encodeOutput: (output) =>
      Either.flatMap(
        Either.mapLeft(encode(output), (error) => error.message),
        (encoded) => {
          try {
            return Either.right(JSON.stringify(encoded) ?? "null")
          } catch (error) {
            // A cycle, a BigInt, or a value nested deeper than the stack allows.
            return Either.left(
              `the output is not a JSON value: ${error instanceof Error ? error.message : String(error)}`,
            )
          }
        },
      ),
    metrics,
    count: {
      started: Metric.increment(metrics.started),
      succeeded: Metric.increment(metrics.succeeded),
      failed: Metric.increment(metrics.failed),
      retried: Metric.increment(metrics.retried),
      deadLettered: Metric.increment(metrics.deadLettered),
      cancelled: Metric.increment(metrics.cancelled),
      released: Metric.increment(metrics.released),
      rejected: Metric.increment(metrics.rejected),
      alreadyApplied: Metric.increment(metrics.alreadyApplied),
    },
    // Retried only once it failed: setting up the schedule for every call costs on the hot path.
    persistently: (self) =>
      Effect.catchIf(
        self,
        (error) => error._tag === "RedisUnavailable",
        () => Effect.retry(self, { schedule, while: (error) => error._tag === "RedisUnavailable" }),
      ),
    timeoutMs: Duration.toMillis(contract.policy.timeout),
  }
  preparedByHandler.set(handler, prepared)
  return prepared
}
