/**
 * Handlers: the implementation of an actor contract, as an Effect (`handle`) or as a plain async
 * function (`handleAsync`). A handler gets the decoded input and a context: the job's id and
 * attempt, an `AbortSignal` fired on cancel, lease loss, timeout or shutdown, throttled progress
 * reports, `send` for follow-up jobs, and logs annotated with actor, job and attempt.
 */
import type { Actor, DurableSubmit, JobEvent, Producer } from "@eddy/core"
import { Data, Effect, LogLevel, Runtime } from "effect"

/** What a handler knows about the job it runs. */
export interface JobContext {
  readonly jobId: string
  readonly actor: string
  /** 1 for the first try. */
  readonly attempt: number
  readonly maxAttempts: number
  readonly correlationId: string | undefined
  /** Fired when the job must stop: cancelled, lease lost, timed out, or the worker shuts down. */
  readonly signal: AbortSignal
  /** Reports progress (0..1). Throttled: reports closer together than the throttle are dropped. */
  readonly progress: (fraction: number, note?: string) => Effect.Effect<void>
  /** Submits a follow-up job carrying this job's correlation id and this job as its cause. */
  readonly send: <I, O, IE, OE>(
    actor: Actor.Actor<I, O, IE, OE>,
    input: I,
    options?: Producer.SubmitOptions,
  ) => Effect.Effect<Producer.Submitted, Producer.SubmitRefusal | DurableSubmit.SubmitFailure>
}

/** The plain-async view of the context: the same, with Promises. */
export interface AsyncJobContext extends Omit<JobContext, "progress" | "send"> {
  readonly progress: (fraction: number, note?: string) => Promise<void>
  readonly send: <I, O, IE, OE>(
    actor: Actor.Actor<I, O, IE, OE>,
    input: I,
    options?: Producer.SubmitOptions,
  ) => Promise<Producer.Submitted>
  /** Logs through the worker's logger, annotated with actor, job and attempt. */
  readonly log: {
    readonly debug: (message: string) => void
    readonly info: (message: string) => void
    readonly warn: (message: string) => void
    readonly error: (message: string) => void
  }
}

/**
 * Fail with this (or any error with `retryable: false`) to dead-letter the job at once instead
 * of retrying: the input can never succeed.
 */
export class NonRetryable extends Data.TaggedError("NonRetryable")<{
  readonly message: string
  readonly data?: unknown
}> {
  readonly retryable = false
}

/** A handler: the contract and the function that runs it. */
export interface Handler<I = unknown, O = unknown> {
  // biome-ignore lint/suspicious/noExplicitAny: the encoded sides of the schemas vary per actor
  readonly contract: Actor.Actor<I, O, any, any>
  /** Runs one attempt; typed failures and defects are retried per the contract's policy. */
  readonly run: (input: I, context: JobContext) => Effect.Effect<O, unknown>
  /** Most jobs of this actor one process runs at once (default: the contract's policy). */
  readonly concurrency: number
}

/** Any handler, whatever its types. */
// biome-ignore lint/suspicious/noExplicitAny: handlers of different actors live in one array
export type Any = Handler<any, any>

/** Options of one handler. */
export interface HandlerOptions {
  readonly concurrency?: number
}

/** Implements a contract with an Effect. */
export const handle = <I, O, IE, OE, E>(
  contract: Actor.Actor<I, O, IE, OE>,
  run: (input: I, context: JobContext) => Effect.Effect<O, E>,
  options: HandlerOptions = {},
): Handler<I, O> => ({ contract, run, concurrency: options.concurrency ?? contract.policy.concurrency })

/** Implements a contract with an async function; `context.signal` tells it when to stop. */
export const handleAsync = <I, O, IE, OE>(
  contract: Actor.Actor<I, O, IE, OE>,
  run: (input: I, context: AsyncJobContext) => Promise<O>,
  options: HandlerOptions = {},
): Handler<I, O> =>
  handle(
    contract,
    (input, context) =>
      Effect.gen(function* () {
        // The handler fiber's runtime carries the job's log annotations into every line.
        const runtime = yield* Effect.runtime<never>()
        const runPromise = Runtime.runPromise(runtime)
        const log = (level: LogLevel.LogLevel) => (message: string) =>
          Runtime.runFork(runtime)(Effect.logWithLevel(level, message))
        return yield* Effect.tryPromise({
          // Effect's signal fires when this fiber is interrupted (cancel, lease loss, timeout, shutdown).
          try: (signal) =>
            run(input, {
              ...context,
              signal: AbortSignal.any([context.signal, signal]),
              progress: (fraction, note) => runPromise(context.progress(fraction, note)),
              send: (actor, value, sendOptions) => runPromise(context.send(actor, value, sendOptions)),
              log: {
                debug: log(LogLevel.Debug),
                info: log(LogLevel.Info),
                warn: log(LogLevel.Warning),
                error: log(LogLevel.Error),
              },
            }),
          catch: (error) => error,
        })
      }),
    options,
  )

/** How an error travels: `{ tag, message, data? }`, never a stack. */
export const errorInfo = (error: unknown): JobEvent.ErrorInfo => {
  if (typeof error === "object" && error !== null) {
    const record = error as { _tag?: unknown; name?: unknown; message?: unknown; data?: unknown }
    const tag = typeof record._tag === "string" ? record._tag : typeof record.name === "string" ? record.name : "Error"
    const message = typeof record.message === "string" ? record.message : String(error)
    return record.data === undefined ? { tag, message } : { tag, message, data: record.data }
  }
  return { tag: "Error", message: String(error) }
}

/** Whether a failure may be retried: not when it says `retryable: false`. */
export const isRetryable = (error: unknown): boolean =>
  !(typeof error === "object" && error !== null && (error as { retryable?: unknown }).retryable === false)
