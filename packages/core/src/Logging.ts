/**
 * pino as the backend of Effect's `Logger`: JSON lines on stderr by default, pretty on a terminal
 * or with `EDDY_LOG_PRETTY=1`. Log annotations (actor, jobId, attempt, …) become fields of every
 * line; values under secret-looking keys and `Redacted` values never reach the output.
 */
import { Cause, Effect, FiberRef, HashMap, HashSet, Layer, List, Logger, type LogLevel, Redacted } from "effect"
import { type DestinationStream, type Level, pino, destination as pinoDestination, stdTimeFunctions } from "pino"
import pretty from "pino-pretty"
import * as EddyConfig from "./EddyConfig.js"

/**
 * Field names whose values are always censored, at any depth and in any case (`Password`,
 * `api_key`). Names ending in one of `secretSuffixes` (`redisPassword`, `clientSecret`) too.
 */
export const redactedKeys = ["password", "apiKey", "apiKeys", "authorization", "token", "secret", "url"] as const

const secretSuffixes = ["password", "passwd", "secret", "apikey", "apikeys", "accesstoken", "authtoken"]
const normalize = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, "")
const exactSecretKeys = new Set(redactedKeys.map(normalize))
const isSecretKey = (key: string): boolean => {
  const normalized = normalize(key)
  return exactSecretKeys.has(normalized) || secretSuffixes.some((suffix) => normalized.endsWith(suffix))
}

const censored = "<redacted>"

const hasToJSON = (value: object): value is { toJSON: () => unknown } =>
  typeof (value as { toJSON?: unknown }).toJSON === "function"

/**
 * A value as JSON-safe data with secrets censored: `Redacted` values, and values under secret
 * names however deep (pino's own `redact` only reaches the paths it is given).
 */
const censor = (value: unknown, seen: WeakSet<object> = new WeakSet(), depth = 0): unknown => {
  if (Redacted.isRedacted(value)) return censored
  if (typeof value !== "object" || value === null) return value
  if (seen.has(value)) return "[Circular]"
  if (depth > 16) return "[…]"
  seen.add(value)
  try {
    if (Array.isArray(value)) return value.map((item) => censor(item, seen, depth + 1))
    // Effect data types, dates and the like describe themselves; censor what they say.
    let json: unknown = value
    try {
      if (hasToJSON(value)) json = value.toJSON()
    } catch {
      return {}
    }
    if (json !== value) return censor(json, seen, depth + 1)
    if (value instanceof Error) return { name: value.name, message: value.message }
    const entries = Object.entries(value).map(([key, item]) => [
      key,
      isSecretKey(key) ? censored : censor(item, seen, depth + 1),
    ])
    return Object.fromEntries(entries)
  } finally {
    seen.delete(value)
  }
}

/** Failures and defects that are not `Error`s are rendered as JSON by `Cause.pretty`: censor them. */
const censorCause = (cause: Cause.Cause<unknown>): Cause.Cause<unknown> =>
  Cause.match(cause, {
    onEmpty: Cause.empty,
    onFail: (error) => Cause.fail(error instanceof Error ? error : censor(error)),
    onDie: (defect) => Cause.die(defect instanceof Error ? defect : censor(defect)),
    onInterrupt: Cause.interrupt,
    onSequential: Cause.sequential,
    onParallel: Cause.parallel,
  })

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

const text = (message: unknown): string => {
  const parts = Array.isArray(message) ? message : [message]
  return parts
    .map((part) => {
      const value = censor(part)
      return typeof value === "string" ? value : JSON.stringify(value)
    })
    .join(" ")
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
    },
    destination,
  )
  return Logger.make(({ logLevel, message, annotations, cause, spans }) => {
    const fields: Record<string, unknown> = {}
    for (const [key, value] of HashMap.toEntries(annotations)) fields[key] = isSecretKey(key) ? censored : censor(value)
    if (!List.isNil(spans)) fields.spans = List.toArray(spans).map((span) => span.label)
    if (!Cause.isEmpty(cause)) fields.err = Cause.pretty(censorCause(cause), { renderErrorCause: true })
    base[pinoLevel(logLevel)](fields, text(message))
  })
}

/**
 * Replaces Effect's default logger with pino, at the given level. Built in sequence: with
 * `Layer.merge`, both changes outlived an `Effect.provide` of the layer.
 */
export const layer = (options: Options): Layer.Layer<never> => {
  const logger = makeLogger(options)
  ours.add(logger)
  // Replaces Effect's default logger and any pino logger provided before (a program nested in
  // another, as `eddy start` runs `npm start`'s), so every line is written once.
  const install = Layer.scopedDiscard(
    Effect.locallyScopedWith(FiberRef.currentLoggers, (loggers) =>
      HashSet.add(
        HashSet.filter(loggers, (existing) => existing !== Logger.defaultLogger && !ours.has(existing)),
        logger,
      ),
    ),
  )
  return Layer.provideMerge(install, Logger.minimumLogLevel(options.level))
}

/** The loggers this module made, so a later `layer` can replace an earlier one. */
const ours = new WeakSet<Logger.Logger<unknown, unknown>>()

/** The logger configured from `EDDY_LOG_LEVEL` and `EDDY_LOG_PRETTY`. */
export const layerConfig = Layer.unwrapEffect(
  Effect.gen(function* () {
    const level = yield* EddyConfig.logLevel
    const pretty = yield* EddyConfig.logPretty
    return layer({ level, pretty })
  }),
)
