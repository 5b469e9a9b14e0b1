/** Summaries of samples: nearest-rank percentiles, so a reported p99 is a latency that happened. */

/** The `p`-th percentile (0 < p <= 100) of `samples` by nearest rank; NaN when there are none. */
export const percentile = (samples: ReadonlyArray<number>, p: number): number => {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1] as number
}

/** The median, by nearest rank. */
export const median = (samples: ReadonlyArray<number>): number => percentile(samples, 50)

/** Items per second over a span in milliseconds. */
export const perSecond = (count: number, spanMs: number): number => (spanMs > 0 ? (count / spanMs) * 1000 : Number.NaN)

/**
 * The median of repeated runs' values: the middle one, or the mean of the two middle ones. NaN
 * (a run that failed) is left out; NaN when no run has a value.
 */
export const medianOfRuns = (values: ReadonlyArray<number>): number => {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}
