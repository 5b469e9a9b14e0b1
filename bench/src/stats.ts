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
