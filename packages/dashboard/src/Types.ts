/** The shapes of the gateway's answers the page reads (see the gateway's /openapi.json). */
import type { JobEvent } from "@eddy/core/JobEvent"

export type { JobEvent }

export interface MinuteOutcomes {
  readonly minute: number
  readonly succeeded: number
  readonly failed: number
  readonly deadLettered: number
}

export interface Presence {
  readonly id: string
  readonly host: string
  readonly pid: number
  readonly actors: ReadonlyArray<string>
  readonly concurrency: number
  readonly inFlight: number
  readonly startedAt: number
  readonly expiresAt: number
  readonly heartbeatAt?: number
}

export interface ActorOverview {
  readonly name: string
  readonly counts: Readonly<Record<string, number>>
  readonly depth: number
  readonly delayed: number
  readonly workers: number
  readonly paused: boolean
  readonly oldestWaitingMs?: number
  readonly perMinute: ReadonlyArray<MinuteOutcomes>
}

export interface Overview {
  readonly at: number
  readonly version: string
  readonly redis: { readonly up: boolean; readonly ms?: number; readonly error?: string }
  readonly actors: ReadonlyArray<ActorOverview>
  readonly workers: ReadonlyArray<Presence>
}

export interface Session {
  readonly auth: "open" | "key"
  readonly scopes: ReadonlyArray<"submit" | "read" | "admin">
}

export interface ErrorInfo {
  readonly tag: string
  readonly message: string
  readonly data?: unknown
}

export interface JobStatus {
  readonly jobId: string
  readonly actor: string
  readonly lane: string
  readonly state: string
  readonly attempt: number
  readonly maxAttempts: number
  readonly progress: number
  readonly cancelRequested: boolean
  readonly input: unknown
  readonly output?: unknown
  readonly error?: ErrorInfo
  readonly deadLetterReason?: string
  readonly submittedAt: number
  readonly startedAt?: number
  readonly finishedAt?: number
  readonly dueAt?: number
  readonly worker?: string
  readonly correlationId?: string
  readonly causationId?: string
}

export interface JobView {
  readonly jobId: string
  readonly actor: string
  readonly state: string
  readonly attempt: number
  readonly progress: number
  readonly submittedAt: number
  readonly finishedAt?: number
  readonly runMs?: number
  readonly error?: ErrorInfo
  readonly deadLetterReason?: string
}

export interface JobPage {
  readonly jobs: ReadonlyArray<JobView>
  readonly nextCursor?: string
}

export interface ActorInfo {
  readonly name: string
  readonly paused?: boolean
}

export interface DeadLetter {
  readonly jobId: string
  readonly actor: string
  readonly reason: string
  readonly attempt: number
  readonly at: number
  readonly error?: unknown
  readonly cursor: string
}

export interface DeadLetterPage {
  readonly items: ReadonlyArray<DeadLetter>
  readonly nextCursor?: string
}

export interface SearchResult {
  readonly query: string
  readonly matches: ReadonlyArray<{
    readonly jobId: string
    readonly actor: string
    readonly state: string
    readonly submittedAt: number
    readonly matchedBy: string
  }>
  readonly scannedEvents: number
  readonly truncated: boolean
}

export interface BulkResult {
  readonly matched: number
  readonly done: number
  readonly failed: ReadonlyArray<{ readonly jobId: string; readonly message: string }>
  readonly more: boolean
}

/** The states a job list can show, in the order of a job's life. */
export const states = ["queued", "delayed", "active", "retrying", "succeeded", "deadLettered", "cancelled"] as const
