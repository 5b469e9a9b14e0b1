/**
 * Worker metrics (Effect `Metric`), each tagged with the actor: jobs started, succeeded, failed
 * (each failed attempt), retried, dead-lettered, cancelled, results rejected because the lease
 * was lost, and the duration of attempts. The gateway's `/metrics` and the CLI read them.
 */
import { Metric, MetricBoundaries } from "effect"

const counter = (name: string, description: string) => Metric.counter(name, { description, incremental: true })

export const started = counter("eddy_jobs_started_total", "Attempts started")
export const succeeded = counter("eddy_jobs_succeeded_total", "Jobs that succeeded")
export const failed = counter("eddy_jobs_failed_total", "Attempts that failed")
export const retried = counter("eddy_jobs_retried_total", "Failed attempts scheduled for a retry")
export const deadLettered = counter("eddy_jobs_dead_lettered_total", "Jobs dead-lettered")
export const cancelled = counter("eddy_jobs_cancelled_total", "Running jobs stopped by a cancel")
export const released = counter("eddy_jobs_released_total", "Jobs handed back at shutdown")
export const rejected = counter(
  "eddy_results_rejected_total",
  "Results not applied because this worker no longer held the job (lease lost, reclaimed, already finished)",
)
export const duration = Metric.histogram(
  "eddy_job_duration_seconds",
  MetricBoundaries.exponential({ start: 0.001, factor: 2, count: 18 }),
  "Duration of attempts, in seconds",
)

/** A metric for one actor. */
export const forActor = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>, actor: string) =>
  Metric.tagged(metric, "actor", actor)
