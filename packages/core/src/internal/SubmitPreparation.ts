/**
 * Turns an input and its submit options into a `JobStore.SubmitRequest`, or refuses them before
 * anything is written: the input must encode (or, untyped, decode) with the actor's Schema, its
 * JSON text must fit the payload limit, and the options must be well formed. Synchronous per
 * item, so a batch is checked whole before its first write.
 */
import { Duration, Effect, Either, ParseResult, Schema } from "effect"
import type * as Actor from "../Actor.js"
import { InvalidInput, InvalidOptions, PayloadTooLarge } from "../JobErrors.js"
import * as JobId from "../JobId.js"
import type * as JobStore from "../JobStore.js"
import { Settings } from "../Settings.js"

/** How to submit one job. Every field is optional. */
export interface SubmitOptions {
  /** Your own job id (1-128 of `A-Za-z0-9._~-`); a repeated id is a duplicate. */
  readonly jobId?: string
  /**
   * Maps to a job id per actor: the same key finds the same job for the retention window. With a
   * `partitionKey`, the pair decides: the same key under another partition key is another job.
   */
  readonly idempotencyKey?: string
  /** Run no earlier than this from now. */
  readonly delay?: Duration.DurationInput
  readonly lane?: Actor.Lane
  /** Jobs with the same partition key share a partition (and so their order in the log). */
  readonly partitionKey?: string
  readonly correlationId?: string
  readonly causationId?: string
}

/** Why a submission was refused before anything was written. */
export type SubmitRefusal = InvalidInput | PayloadTooLarge | InvalidOptions

const maxDelay = Duration.days(365)
const limitedText = (name: string, max: number, value: string | undefined) =>
  value !== undefined && (value.length === 0 || value.length > max) ? [`${name} must be 1-${max} characters`] : []
const isJobId = Schema.is(JobId.JobId)

const checkOptions = (
  actor: string,
  options: SubmitOptions,
): Either.Either<{ jobId: string; delayMs: number }, InvalidOptions> => {
  const { jobId, idempotencyKey, partitionKey, correlationId, causationId, delay } = options
  // Most submissions set no option (a batch's items, typically): nothing to check.
  if (
    jobId === undefined &&
    idempotencyKey === undefined &&
    partitionKey === undefined &&
    correlationId === undefined &&
    causationId === undefined &&
    delay === undefined
  )
    return Either.right({ jobId: JobId.generate(), delayMs: 0 })
  const problems = [
    ...limitedText("idempotencyKey", 256, idempotencyKey),
    ...limitedText("partitionKey", 256, partitionKey),
    ...limitedText("correlationId", 128, correlationId),
    ...limitedText("causationId", 128, causationId),
  ]
  if (jobId !== undefined && !isJobId(jobId))
    problems.push("jobId must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', '~' and '-'")
  if (jobId !== undefined && idempotencyKey !== undefined) problems.push("give jobId or idempotencyKey, not both")
  const decoded = Duration.decode(delay ?? 0)
  if (Duration.greaterThan(decoded, maxDelay)) problems.push("delay must be at most 365 days")
  if (problems.length > 0) return Either.left(new InvalidOptions({ message: problems.join("; ") }))
  return Either.right({
    jobId:
      jobId ??
      (idempotencyKey === undefined ? JobId.generate() : JobId.fromIdempotencyKey(actor, idempotencyKey, partitionKey)),
    delayMs: Duration.toMillis(decoded),
  })
}

const invalid = (actor: string, error: ParseResult.ParseError) => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    path: issue.path.map((key) => (typeof key === "number" ? key : String(key))),
    message: issue.message,
  }))
  const first = issues[0]
  const where = first === undefined || first.path.length === 0 ? "" : ` at ${first.path.join(".")}`
  return new InvalidInput({
    actor,
    message: `input for ${actor} is invalid${where}: ${first?.message ?? error.message}`,
    issues,
  })
}

const jsonText = (actor: string, encoded: unknown): Either.Either<string, InvalidInput> => {
  let input: string | undefined
  try {
    input = JSON.stringify(encoded)
  } catch {
    // A value nested deeper than the stack allows cannot be stored (nor read back).
    return Either.left(new InvalidInput({ actor, message: `input for ${actor} is nested too deeply`, issues: [] }))
  }
  return input === undefined
    ? Either.left(new InvalidInput({ actor, message: `input for ${actor} must be a JSON value`, issues: [] }))
    : Either.right(input)
}

/**
 * Turns an encoded input into a submit request, checking size and options. Synchronous, no
 * Effect per item: `submitMany` runs it for every job of a batch before anything is written.
 */
const request = (
  actor: Actor.Any,
  encoded: unknown,
  options: SubmitOptions,
  maxPayloadBytes: number,
): Either.Either<JobStore.SubmitRequest, SubmitRefusal> => {
  // Early returns rather than Either's combinators: run per item of a batch, their closures were
  // a third of the check (docs/benchmarks.md, session 12).
  const text = jsonText(actor.name, encoded)
  if (Either.isLeft(text)) return Either.left(text.left)
  const input = text.right
  // Only text that could be over the limit is measured (UTF-8 takes at most 3 bytes per UTF-16 unit).
  const size = input.length * 3 > maxPayloadBytes ? Buffer.byteLength(input, "utf8") : input.length
  if (size > maxPayloadBytes)
    return Either.left(
      new PayloadTooLarge({
        actor: actor.name,
        size,
        limit: maxPayloadBytes,
        message: `input for ${actor.name} is ${size} bytes, over the limit of ${maxPayloadBytes} bytes`,
      }),
    )
  const checked = checkOptions(actor.name, options)
  if (Either.isLeft(checked)) return Either.left(checked.left)
  return Either.right({
    jobId: checked.right.jobId,
    actor: actor.name,
    lane: options.lane ?? "normal",
    input,
    maxAttempts: actor.policy.attempts,
    delayMs: checked.right.delayMs,
    correlationId: options.correlationId,
    causationId: options.causationId,
    partitionKey: options.partitionKey,
  })
}

/** Report every problem of an input, not only the first. */
const allIssues = { errors: "all" } as const

const noOptions: SubmitOptions = {}

/** The synchronous check of a typed input against its actor's contract (see `prepare`). */
export const prepareWith = <I, O, IE, OE>(actor: Actor.Actor<I, O, IE, OE>, maxPayloadBytes: number) => {
  const encode = Schema.encodeEither(actor.input)
  return (input: I, options: SubmitOptions = noOptions): Either.Either<JobStore.SubmitRequest, SubmitRefusal> => {
    const encoded = encode(input, allIssues)
    return Either.isLeft(encoded)
      ? Either.left(invalid(actor.name, encoded.left))
      : request(actor, encoded.right, options, maxPayloadBytes)
  }
}

/** Validates a typed input: encodes it with the contract's input Schema. Writes nothing. */
export const prepare = <I, O, IE, OE>(actor: Actor.Actor<I, O, IE, OE>, input: I, options: SubmitOptions = {}) =>
  Effect.flatMap(Settings, ({ maxPayloadBytes }) => prepareWith(actor, maxPayloadBytes)(input, options))

/** The size refusal of an input as given, when its JSON text is over the limit. */
const oversized = (actor: Actor.Any, input: unknown, maxPayloadBytes: number): PayloadTooLarge | undefined => {
  const text = jsonText(actor.name, input)
  if (Either.isLeft(text)) return undefined
  const size = Buffer.byteLength(text.right, "utf8")
  return size > maxPayloadBytes
    ? new PayloadTooLarge({
        actor: actor.name,
        size,
        limit: maxPayloadBytes,
        message: `input for ${actor.name} is ${size} bytes, over the limit of ${maxPayloadBytes} bytes`,
      })
    : undefined
}

/**
 * Validates an untyped input (e.g. JSON from HTTP): it must decode with the contract's input
 * Schema; what is stored is its canonical encoding. Writes nothing. Size comes before content:
 * an input that is over the limit as given and fails its Schema is refused as too large (413),
 * not as invalid, so a client is not sent to fix fields of an input that could never be stored.
 */
export const prepareUnknown = (actor: Actor.Any, input: unknown, options: SubmitOptions = {}) =>
  Effect.flatMap(Settings, ({ maxPayloadBytes }) =>
    Schema.decodeUnknownEither(actor.input)(input, allIssues).pipe(
      Either.flatMap((decoded) => Schema.encodeEither(actor.input)(decoded, allIssues)),
      Either.match({
        // Measured only when refused: an accepted input is measured in its canonical encoding below.
        onLeft: (error): Either.Either<JobStore.SubmitRequest, SubmitRefusal> =>
          Either.left(oversized(actor, input, maxPayloadBytes) ?? invalid(actor.name, error)),
        onRight: (encoded) => request(actor, encoded, options, maxPayloadBytes),
      }),
    ),
  )
