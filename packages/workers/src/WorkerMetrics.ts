/**
 * Worker metrics (Effect `Metric`), each tagged with the actor: jobs started, succeeded, failed
 * (each failed attempt), retried, dead-lettered, cancelled, results rejected because the lease
 * was lost, and the duration of attempts. The gateway's `/metrics` and the CLI read them.
 */
import { Metric, MetricBoundaries, type MetricKeyType, type MetricState } from "effect"

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

/** Every metric of one actor, tagged once: tagging looks the metric up by a hashed key each time. */
export interface ActorMetrics {
  readonly started: Metric.Metric.Counter<number>
  readonly succeeded: Metric.Metric.Counter<number>
  readonly failed: Metric.Metric.Counter<number>
  readonly retried: Metric.Metric.Counter<number>
  readonly deadLettered: Metric.Metric.Counter<number>
  readonly cancelled: Metric.Metric.Counter<number>
  readonly released: Metric.Metric.Counter<number>
  readonly rejected: Metric.Metric.Counter<number>
  readonly duration: Metric.Metric<MetricKeyType.MetricKeyType.Histogram, number, MetricState.MetricState.Histogram>
}

const byActor = new Map<string, ActorMetrics>()

/** The metrics of one actor (made once per actor). */
export const ofActor = (actor: string): ActorMetrics => {
  const known = byActor.get(actor)
  if (known !== undefined) return known
  const metrics: ActorMetrics = {
    started: forActor(started, actor),
    succeeded: forActor(succeeded, actor),
    failed: forActor(failed, actor),
    retried: forActor(retried, actor),
    deadLettered: forActor(deadLettered, actor),
    cancelled: forActor(cancelled, actor),
    released: forActor(released, actor),
    rejected: forActor(rejected, actor),
    duration: forActor(duration, actor),
  }
  byActor.set(actor, metrics)
  return metrics
}
