/**
 * pino as the backend of Effect's `Logger`: JSON lines on stderr by default, pretty on a terminal
 * or with `EDDY_LOG_PRETTY=1`. Log annotations (actor, jobId, attempt, …) become fields of every
 * line; values under secret-looking keys and `Redacted` values never reach the output.
 */
import { Cause, Effect, HashMap, Inspectable, Layer, List, Logger, type LogLevel, Redacted } from "effect"
import { type DestinationStream, type Level, pino, destination as pinoDestination, stdTimeFunctions } from "pino"
import pretty from "pino-pretty"
import * as EddyConfig from "./EddyConfig.js"

/** Field names whose values are always censored. */
export const redactedKeys = ["password", "apiKey", "apiKeys", "authorization", "token", "secret", "url"] as const

const pinoLevel = (level: LogLevel.LogLevel): Level => {
  switch (level._tag) {
    case "Fatal":
      return "fatal"
    case "Error":
      return "error"
    case "Warning":
      return "warn"
    case "Info":
      return "info"
    case "Debug":
      return "debug"
    default:
      return "trace"
  }
}

/** Annotation values as JSON-safe data; `Redacted` values stay redacted. */
const plain = (value: unknown): unknown => (Redacted.isRedacted(value) ? "<redacted>" : Inspectable.toJSON(value))

const text = (message: unknown): string => {
  const parts = Array.isArray(message) ? message : [message]
  return parts.map((part) => (typeof part === "string" ? part : Inspectable.format(plain(part)))).join(" ")
}

/** Options for the pino instance behind the logger. */
export interface Options {
  readonly pretty: boolean
  readonly level: LogLevel.LogLevel
  /** Where lines go. Default: stderr (stdout stays free for command output such as `--json`). */
  readonly destination?: DestinationStream
}

/** An Effect logger that writes through pino. */
export const makeLogger = (options: Options): Logger.Logger<unknown, void> => {
  const destination =
    options.destination ??
    (options.pretty
      ? pretty({ sync: true, destination: 2, colorize: process.stderr.isTTY === true, ignore: "pid,hostname" })
      : pinoDestination({ fd: 2, sync: true }))
  const base = pino(
    {
      level: "trace",
      base: { pid: process.pid },
      timestamp: stdTimeFunctions.isoTime,
      redact: { paths: redactedKeys.flatMap((key) => [key, `*.${key}`]), censor: "<redacted>" },
    },
    destination,
  )
  return Logger.make(({ logLevel, message, annotations, cause, spans }) => {
    const fields: Record<string, unknown> = {}
    for (const [key, value] of HashMap.toEntries(annotations)) fields[key] = plain(value)
    if (!List.isNil(spans)) fields.spans = List.toArray(spans).map((span) => span.label)
    if (!Cause.isEmpty(cause)) fields.err = Cause.pretty(cause, { renderErrorCause: true })
    base[pinoLevel(logLevel)](fields, text(message))
  })
}

/** Replaces Effect's default logger with pino, at the given level. */
export const layer = (options: Options): Layer.Layer<never> =>
  Layer.merge(Logger.replace(Logger.defaultLogger, makeLogger(options)), Logger.minimumLogLevel(options.level))

/** The logger configured from `EDDY_LOG_LEVEL` and `EDDY_LOG_PRETTY`. */
export const layerConfig = Layer.unwrapEffect(
  Effect.gen(function* () {
    const level = yield* EddyConfig.logLevel
    const pretty = yield* EddyConfig.logPretty
    return layer({ level, pretty })
  }),
)
