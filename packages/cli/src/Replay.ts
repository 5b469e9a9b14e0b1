/**
 * Re-running recorded inputs through new handler code, locally: the inputs and outcomes come
 * from the event log; the handler runs in this process with a context that writes nothing
 * (progress is dropped, `send` is recorded but submits nothing); each job is reported as
 * matching its recorded output, differing (with a diff), now failing, now succeeding, or still
 * failing.
 */
import { type Actor, JobEvent, RedisClient, Settings } from "@eddy/core"
import * as Handler from "@eddy/workers/Handler"
import { Cause, Duration, Effect, Exit, Option, Schema } from "effect"

/** A recorded job of the actor: its input and how it ended (if it did). */
export interface Recorded {
  readonly jobId: string
  readonly input: unknown
  readonly submittedAt: number
  readonly outcome:
    | { readonly kind: "succeeded"; readonly output: unknown }
    | { readonly kind: "failed"; readonly error: JobEvent.ErrorInfo | undefined }
    | { readonly kind: "pending" }
}

export type Verdict = "matches" | "differs" | "now fails" | "now succeeds" | "still fails" | "no recorded outcome"

export interface Result {
  readonly jobId: string
  readonly verdict: Verdict
  readonly diff?: ReadonlyArray<string>
  readonly error?: string
  readonly output?: unknown
  /** Tries the re-run took (retryable failures are tried again, up to the contract's attempts). */
  readonly attempts: number
  /** Follow-up jobs the handler would have submitted. */
  readonly sent?: ReadonlyArray<Sent>
}

/** Reads the submissions of `actor` in [since, until] and their outcomes from every partition's log. */
export const recorded = (actor: string, since: number, until: number) =>
  Effect.gen(function* () {
    const { keyspace } = yield* Settings.Settings
    const redis = yield* RedisClient.RedisClient
    const jobs = new Map<string, { input: unknown; submittedAt: number; outcome: Recorded["outcome"] }>()
    for (const partition of keyspace.all) {
      let from = `${since}-0`
      while (true) {
        const entries = yield* redis.run((c) => c.xrange(partition.events, from, "+", "COUNT", 1000))
        for (const [id, fields] of entries) {
          const event = JobEvent.fromEntry(id, fields)
          if (Option.isNone(event) || event.value.actor !== actor) continue
          const e = event.value
          if (e.type === "submitted" && e.at <= until)
            jobs.set(e.jobId, { input: e.input, submittedAt: e.at, outcome: { kind: "pending" } })
          const job = jobs.get(e.jobId)
          if (job === undefined) continue
          if (e.type === "succeeded") job.outcome = { kind: "succeeded", output: e.output }
          if (e.type === "deadLettered") job.outcome = { kind: "failed", error: e.error }
          if (e.type === "requeued" && e.from === "deadLetter") job.outcome = { kind: "pending" }
        }
        const last = entries[entries.length - 1]
        if (last === undefined || entries.length < 1000) break
        from = `(${last[0]}`
      }
    }
    return [...jobs.entries()].map(([jobId, job]): Recorded => ({ jobId, ...job }))
  })

const canonical = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? null))

/** Paths where two JSON values differ: `path: recorded → now`. */
export const diff = (recordedValue: unknown, now: unknown, path = "$"): Array<string> => {
  if (JSON.stringify(recordedValue) === JSON.stringify(now)) return []
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null
  if (isObject(recordedValue) && isObject(now) && Array.isArray(recordedValue) === Array.isArray(now)) {
    const keys = [...new Set([...Object.keys(recordedValue), ...Object.keys(now)])]
    return keys.flatMap((key) =>
      diff(recordedValue[key], now[key], Array.isArray(now) ? `${path}[${key}]` : `${path}.${key}`),
    )
  }
  return [`${path}: ${JSON.stringify(recordedValue)} → ${JSON.stringify(now)}`]
}

/** A follow-up job the handler asked for during a re-run: recorded, never submitted. */
export interface Sent {
  readonly actor: string
  readonly input: unknown
}

const describe = (error: unknown): string => {
  const info = Handler.errorInfo(error)
  return `${info.tag}: ${info.message}`.split("\n")[0] ?? info.tag
}

/**
 * Runs one recorded input through the handler, writing nothing anywhere. Like a worker, it tries
 * again (at once: no backoff) while a failure is retryable, up to the contract's attempts, so a
 * job that needed a retry when it ran live is not reported as newly failing.
 */
export const rerun = (handler: Handler.Any, job: Recorded, timeout: Duration.Duration): Effect.Effect<Result> =>
  Effect.gen(function* () {
    const contract: Actor.Any = handler.contract
    const sent: Array<Sent> = []
    const attemptOnce = (attempt: number) =>
      Effect.gen(function* () {
        const controller = new AbortController()
        const context: Handler.JobContext = {
          jobId: job.jobId,
          actor: contract.name,
          attempt,
          maxAttempts: contract.policy.attempts,
          correlationId: job.jobId,
          signal: controller.signal,
          progress: () => Effect.void,
          send: (actor, input) =>
            Effect.sync(() => {
              sent.push({ actor: actor.name, input })
              return { jobId: "dry-run", duplicate: false, state: "queued" as const }
            }),
        }
        return yield* Schema.decodeUnknown(contract.input)(job.input).pipe(
          // A recorded input that no longer decodes, or an output that does not encode, cannot get better.
          Effect.mapError((error) => ({ _tag: "InvalidInput", message: error.message, retryable: false })),
          Effect.flatMap((input) =>
            handler.run(input, context).pipe(
              Effect.timeoutFail({
                duration: timeout,
                onTimeout: () => ({ _tag: "Timeout", message: `timed out after ${Duration.format(timeout)}` }),
              }),
            ),
          ),
          Effect.flatMap((output) =>
            Schema.encode(contract.output)(output).pipe(
              Effect.mapError((error) => ({ _tag: "InvalidOutput", message: error.message, retryable: false })),
            ),
          ),
          Effect.ensuring(Effect.sync(() => controller.abort())),
          Effect.exit,
        )
      })
    let attempts = 0
    let ran: { ok: true; output: unknown } | { ok: false; error: string } = { ok: false, error: "not run" }
    while (attempts < contract.policy.attempts) {
      attempts += 1
      const exit = yield* attemptOnce(attempts)
      if (Exit.isSuccess(exit)) {
        ran = { ok: true, output: canonical(exit.value) }
        break
      }
      const failure = Cause.failureOption(exit.cause)
      const error = Option.isSome(failure) ? failure.value : Cause.squash(exit.cause)
      ran = { ok: false, error: describe(error) }
      if (!Handler.isRetryable(error)) break
    }
    const extra = { attempts, ...(sent.length === 0 ? {} : { sent }) }
    const outcome = job.outcome
    if (outcome.kind === "pending")
      return {
        jobId: job.jobId,
        verdict: "no recorded outcome",
        ...(ran.ok ? { output: ran.output } : { error: ran.error }),
        ...extra,
      } satisfies Result
    if (outcome.kind === "succeeded") {
      if (!ran.ok) return { jobId: job.jobId, verdict: "now fails", error: ran.error, ...extra } satisfies Result
      const changes = diff(canonical(outcome.output), ran.output)
      return changes.length === 0
        ? ({ jobId: job.jobId, verdict: "matches", ...extra } satisfies Result)
        : ({ jobId: job.jobId, verdict: "differs", diff: changes, output: ran.output, ...extra } satisfies Result)
    }
    return ran.ok
      ? ({ jobId: job.jobId, verdict: "now succeeds", output: ran.output, ...extra } satisfies Result)
      : ({ jobId: job.jobId, verdict: "still fails", error: ran.error, ...extra } satisfies Result)
  })
