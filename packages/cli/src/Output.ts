/**
 * Printing and failing, the same way for every command: `--json` prints machine-readable
 * JSON on stdout; a failure prints one line `eddy: …` on stderr and exits 1; a usage error
 * exits 2.
 */
import { type CliApp, type Command, Options } from "@effect/cli"
import { ConfigError, Console, Data, Duration, Effect } from "effect"

/** A failure the CLI explains in one line. */
export class CliFailure extends Data.TaggedError("CliFailure")<{ readonly message: string }> {}

/** A usage problem the parser cannot see (e.g. a missing `--yes`): exit 2. */
export class UsageFailure extends Data.TaggedError("UsageFailure")<{ readonly message: string }> {}

/** The `--json` flag of read commands. */
export const json = Options.boolean("json").pipe(Options.withDescription("print JSON instead of text"))

/** Prints a value as JSON or as text. */
export const show = (value: unknown, asJson: boolean, text: () => string) =>
  Console.log(asJson ? JSON.stringify(value, null, 2) : text())

/** Milliseconds as a short human duration. */
export const duration = (ms: number): string =>
  ms < 1_000 ? `${Math.round(ms)} ms` : ms < 60_000 ? `${(ms / 1_000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`

/** A timestamp as ISO time in UTC, without the `T` and `Z` (what `--since` reads back as UTC). */
export const time = (ms: number): string => new Date(ms).toISOString().replace("T", " ").replace("Z", "")

/** The one line a failure prints. */
export const describeFailure = (error: unknown): string => {
  // Its message alone would not say which variable is wrong: the path holds that.
  if (ConfigError.isConfigError(error)) return `invalid setting ${String(error)}`
  const tagged = error as {
    _tag?: string
    message?: string
    jobId?: string
    state?: string
    reason?: string
    error?: { tag?: string; message?: string }
    timeoutMs?: number
    redisSaid?: string
  }
  switch (tagged._tag) {
    case "CliFailure":
    case "UsageFailure":
      return tagged.message ?? "failed"
    case "RedisUnavailable":
      // Redis answered, in its own words: "is it running" would point the wrong way.
      return tagged.redisSaid === undefined
        ? `Redis is unreachable (${tagged.message}); is it running, and is EDDY_REDIS_URL (or EDDY_REDIS_CLUSTER) right?`
        : `Redis refused the connection: ${tagged.redisSaid}`
    case "JobNotFound":
      return `no job ${tagged.jobId}`
    case "JobAlreadyFinished":
      return `job ${tagged.jobId} is already ${tagged.state}`
    case "JobDeadLettered":
      return `job ${tagged.jobId} was dead-lettered (${tagged.reason})${tagged.error === undefined ? "" : `: ${tagged.error.tag}: ${tagged.error.message}`}`
    case "JobCancelled":
      return `job ${tagged.jobId} was cancelled`
    case "ResultTimeout":
      return `job ${tagged.jobId} did not finish within ${Duration.format(Duration.millis(tagged.timeoutMs ?? 0))}; it goes on (eddy status ${tagged.jobId})`
    default:
      return `${tagged._tag ?? "Error"}: ${tagged.message ?? String(error)}`
  }
}

/** Fails with a one-line explanation. */
export const fail = (message: string) => Effect.fail(new CliFailure({ message }))

/**
 * The type every command is exported as: it needs only the CLI's platform services, and its
 * failures are all reported the same way by `main`.
 */
// biome-ignore lint/suspicious/noExplicitAny: a command's parsed arguments differ per command
export type Cli<Name extends string> = Command.Command<Name, CliApp.CliApp.Environment, unknown, any>
