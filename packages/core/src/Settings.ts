/**
 * The settings every eddy component shares: the key space and the bounds that keep Redis from
 * growing without limit. Read once from `EDDY_*` variables (see EddyConfig), or given in tests.
 */
import { Config, Context, Duration, Effect, Layer } from "effect"
import * as EddyConfig from "./EddyConfig.js"
import * as StreamKeys from "./StreamKeys.js"

export interface SettingsService {
  readonly keyspace: StreamKeys.Keyspace
  /** Approximate cap of each partition's event log (XADD MAXLEN ~). */
  readonly eventsMaxLen: number
  /**
   * How long events stay in the log (trimmed by `EventRetention`, never past what a consumer
   * group of the log has yet to read or acknowledge), beside the length cap.
   */
  readonly eventsRetention: Duration.Duration
  /** How long a finished job's record stays (and its idempotency key holds). */
  readonly retention: Duration.Duration
  /** How long a dead-lettered job's record stays unless retried or purged. */
  readonly deadLetterRetention: Duration.Duration
  /** Approximate cap of each actor's dead-letter stream. */
  readonly deadLettersMaxLen: number
  /** Largest encoded input accepted, in bytes. */
  readonly maxPayloadBytes: number
  /**
   * Replicas a submission must reach before it is acknowledged (`WAIT`); 0: acknowledged once
   * the master has it. See `DurableSubmit`.
   */
  readonly submitReplicas: number
  /** How long a submission waits for its replicas before failing with `SubmitNotReplicated`. */
  readonly submitReplicasTimeout: Duration.Duration
}

export class Settings extends Context.Tag("@eddy/core/Settings")<Settings, SettingsService>() {}

/** Defaults for every field but the key space. */
export const defaults = {
  eventsMaxLen: 1_000_000,
  eventsRetention: Duration.days(7),
  retention: Duration.hours(24),
  deadLetterRetention: Duration.days(7),
  deadLettersMaxLen: 100_000,
  maxPayloadBytes: 1024 * 1024,
  submitReplicas: 0,
  submitReplicasTimeout: Duration.seconds(1),
} as const

/** Settings for a prefix and partition count, with the other fields defaulted or overridden. */
export const make = (
  options: { readonly prefix: string; readonly partitions?: number } & Partial<Omit<SettingsService, "keyspace">>,
): SettingsService => ({
  ...defaults,
  ...options,
  keyspace: StreamKeys.make(options.prefix, options.partitions ?? 1),
})

export const layer = (options: Parameters<typeof make>[0]): Layer.Layer<Settings> =>
  Layer.succeed(Settings, make(options))

/**
 * Settings from `EDDY_PREFIX`, `EDDY_PARTITIONS`, `EDDY_EVENTS_MAXLEN`, `EDDY_EVENTS_RETENTION`,
 * `EDDY_RETENTION`, …, `EDDY_SUBMIT_REPLICAS`, `EDDY_SUBMIT_REPLICAS_TIMEOUT`.
 */
export const layerConfig = Layer.effect(
  Settings,
  Effect.gen(function* () {
    const prefix = yield* EddyConfig.prefix
    const partitions = yield* EddyConfig.partitions
    const eventsMaxLen = yield* EddyConfig.integerIn("EDDY_EVENTS_MAXLEN", 1_000, 1_000_000_000).pipe(
      Config.withDefault(defaults.eventsMaxLen),
    )
    const eventsRetention = yield* EddyConfig.duration("EDDY_EVENTS_RETENTION", { positive: true }).pipe(
      Config.withDefault(defaults.eventsRetention),
    )
    const retention = yield* EddyConfig.duration("EDDY_RETENTION").pipe(Config.withDefault(defaults.retention))
    const deadLetterRetention = yield* EddyConfig.duration("EDDY_DEAD_LETTER_RETENTION").pipe(
      Config.withDefault(defaults.deadLetterRetention),
    )
    const deadLettersMaxLen = yield* EddyConfig.integerIn("EDDY_DEAD_LETTERS_MAXLEN", 100, 1_000_000_000).pipe(
      Config.withDefault(defaults.deadLettersMaxLen),
    )
    const maxPayloadBytes = yield* EddyConfig.integerIn("EDDY_MAX_PAYLOAD_BYTES", 1, 512 * 1024 * 1024).pipe(
      Config.withDefault(defaults.maxPayloadBytes),
    )
    const submitReplicas = yield* EddyConfig.integerIn("EDDY_SUBMIT_REPLICAS", 0, 16).pipe(
      Config.withDefault(defaults.submitReplicas),
    )
    const submitReplicasTimeout = yield* EddyConfig.duration("EDDY_SUBMIT_REPLICAS_TIMEOUT", { positive: true }).pipe(
      Config.withDefault(defaults.submitReplicasTimeout),
    )
    return make({
      prefix,
      partitions,
      eventsMaxLen,
      eventsRetention,
      retention,
      deadLetterRetention,
      deadLettersMaxLen,
      maxPayloadBytes,
      submitReplicas,
      submitReplicasTimeout,
    })
  }),
)
