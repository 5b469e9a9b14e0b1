/**
 * Re-running recorded inputs through new handler code, locally: the inputs and outcomes come
 * from the event log; the handler runs in this process with a context that writes nothing
 * (progress is dropped, `send` is refused-but-recorded as a dry run); each job is reported as
 * matching its recorded output, differing (with a diff), now failing, now succeeding, or still
 * failing.
 */
import { type Actor, JobEvent, RedisClient, Settings } from "@eddy/core"
import type { Handler } from "@eddy/workers"
import { type Duration, Effect, Exit, Option, Schema } from "effect"

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

/** Runs one recorded input through the handler, writing nothing anywhere. */
export const rerun = (handler: Handler.Any, job: Recorded, timeout: Duration.Duration) =>
  Effect.gen(function* () {
    const contract: Actor.Any = handler.contract
    const controller = new AbortController()
    const context: Handler.JobContext = {
      jobId: job.jobId,
      actor: contract.name,
      attempt: 1,
      maxAttempts: contract.policy.attempts,
      correlationId: job.jobId,
      signal: controller.signal,
      progress: () => Effect.void,
      send: () => Effect.succeed({ jobId: "dry-run", duplicate: false, state: "queued" as const }),
    }
    const exit = yield* Schema.decodeUnknown(contract.input)(job.input).pipe(
      Effect.flatMap((input) => handler.run(input, context)),
      Effect.timeout(timeout),
      Effect.flatMap((output) => Schema.encode(contract.output)(output)),
      Effect.ensuring(Effect.sync(() => controller.abort())),
      Effect.exit,
    )
    const ran: { ok: true; output: unknown } | { ok: false; error: string } = Exit.isSuccess(exit)
      ? { ok: true, output: canonical(exit.value) }
      : {
          ok: false,
          error:
            String(
              Exit.causeOption(exit).pipe(
                Option.map((c) => c.toString()),
                Option.getOrElse(() => "failed"),
              ),
            ).split("\n")[0] ?? "failed",
        }
    const outcome = job.outcome
    if (outcome.kind === "pending")
      return {
        jobId: job.jobId,
        verdict: "no recorded outcome",
        ...(ran.ok ? { output: ran.output } : { error: ran.error }),
      } satisfies Result
    if (outcome.kind === "succeeded") {
      if (!ran.ok) return { jobId: job.jobId, verdict: "now fails", error: ran.error } satisfies Result
      const changes = diff(canonical(outcome.output), ran.output)
      return changes.length === 0
        ? ({ jobId: job.jobId, verdict: "matches" } satisfies Result)
        : ({ jobId: job.jobId, verdict: "differs", diff: changes, output: ran.output } satisfies Result)
    }
    return ran.ok
      ? ({ jobId: job.jobId, verdict: "now succeeds", output: ran.output } satisfies Result)
      : ({ jobId: job.jobId, verdict: "still fails", error: ran.error } satisfies Result)
  })
