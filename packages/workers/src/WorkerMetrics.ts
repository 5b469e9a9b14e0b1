/**
 * Worker metrics (Effect `Metric`), each tagged with the actor: jobs started, succeeded, failed
 * (each failed attempt), retried, dead-lettered, cancelled, results rejected because the lease
 * was lost, and the duration of attempts. The gateway's `/metrics` and the CLI read them.
 */
import { Metric, MetricBoundaries, MetricKey, type MetricKeyType, type MetricState } from "effect"

const counterKey = (name: string, description: string) => MetricKey.counter(name, { description, incremental: true })

const keys = {
  started: counterKey("eddy_jobs_started_total", "Attempts started"),
  succeeded: counterKey("eddy_jobs_succeeded_total", "Jobs that succeeded"),
  failed: counterKey("eddy_jobs_failed_total", "Attempts that failed"),
  retried: counterKey("eddy_jobs_retried_total", "Failed attempts scheduled for a retry"),
  deadLettered: counterKey("eddy_jobs_dead_lettered_total", "Jobs dead-lettered"),
  cancelled: counterKey("eddy_jobs_cancelled_total", "Running jobs stopped by a cancel"),
  released: counterKey("eddy_jobs_released_total", "Jobs handed back at shutdown"),
  rejected: counterKey(
    "eddy_results_rejected_total",
    "Results not applied because this worker no longer held the job (lease lost, reclaimed, already finished)",
  ),
  alreadyApplied: counterKey(
    "eddy_results_already_applied_total",
    "Results this worker had applied already (an earlier call that timed out had gone through): not rejections",
  ),
  duration: MetricKey.histogram(
    "eddy_job_duration_seconds",
    MetricBoundaries.exponential({ start: 0.001, factor: 2, count: 18 }),
    "Duration of attempts, in seconds",
  ),
}

export const started = Metric.fromMetricKey(keys.started)
export const succeeded = Metric.fromMetricKey(keys.succeeded)
export const failed = Metric.fromMetricKey(keys.failed)
export const retried = Metric.fromMetricKey(keys.retried)
export const deadLettered = Metric.fromMetricKey(keys.deadLettered)
export const cancelled = Metric.fromMetricKey(keys.cancelled)
export const released = Metric.fromMetricKey(keys.released)
export const rejected = Metric.fromMetricKey(keys.rejected)
export const alreadyApplied = Metric.fromMetricKey(keys.alreadyApplied)
export const duration = Metric.fromMetricKey(keys.duration)

/** A metric for one actor. */
export const forActor = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>, actor: string) =>
  Metric.tagged(metric, "actor", actor)

/** The counters of an actor (every metric but the duration). */
export type CounterName = Exclude<keyof ActorMetrics, "duration">

/** Every metric of one actor. */
export interface ActorMetrics {
  readonly started: Metric.Metric.Counter<number>
  readonly succeeded: Metric.Metric.Counter<number>
  readonly failed: Metric.Metric.Counter<number>
  readonly retried: Metric.Metric.Counter<number>
  readonly deadLettered: Metric.Metric.Counter<number>
  readonly cancelled: Metric.Metric.Counter<number>
  readonly released: Metric.Metric.Counter<number>
  readonly rejected: Metric.Metric.Counter<number>
  readonly alreadyApplied: Metric.Metric.Counter<number>
  readonly duration: Metric.Metric<MetricKeyType.MetricKeyType.Histogram, number, MetricState.MetricState.Histogram>
}

const byActor = new Map<string, ActorMetrics>()

/**
 * The metrics of one actor, made once per actor, with the actor in the metric's key rather than
 * added on each update: `Metric.tagged` merges its tags into a fresh array on every update,
 * which misses Effect's hook cache and hashes the whole key again (a cost per job).
 */
export const ofActor = (actor: string): ActorMetrics => {
  const known = byActor.get(actor)
  if (known !== undefined) return known
  // biome-ignore lint/suspicious/noExplicitAny: any metric key type (counter, histogram)
  const keyed = <Type extends MetricKeyType.MetricKeyType<any, any>>(key: MetricKey.MetricKey<Type>) =>
    Metric.fromMetricKey(MetricKey.tagged(key, "actor", actor))
  const metrics: ActorMetrics = {
    started: keyed(keys.started),
    succeeded: keyed(keys.succeeded),
    failed: keyed(keys.failed),
    retried: keyed(keys.retried),
    deadLettered: keyed(keys.deadLettered),
    cancelled: keyed(keys.cancelled),
    released: keyed(keys.released),
    rejected: keyed(keys.rejected),
    alreadyApplied: keyed(keys.alreadyApplied),
    duration: keyed(keys.duration),
  }
  byActor.set(actor, metrics)
  return metrics
}
