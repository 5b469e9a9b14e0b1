/** How the page writes times, durations and values. */

/** Milliseconds as a short human duration. */
export const duration = (ms: number): string =>
  ms < 1_000
    ? `${Math.round(ms)} ms`
    : ms < 60_000
      ? `${(ms / 1_000).toFixed(1)} s`
      : ms < 3_600_000
        ? `${(ms / 60_000).toFixed(1)} min`
        : `${(ms / 3_600_000).toFixed(1)} h`

/** A time of day in the browser's zone, with the date when it is not today. */
export const time = (ms: number): string => {
  const date = new Date(ms)
  const today = new Date().toDateString() === date.toDateString()
  return today ? date.toLocaleTimeString() : date.toLocaleString()
}

/** JSON for display. */
export const json = (value: unknown): string => JSON.stringify(value, null, 2) ?? "undefined"

/** Hash routes. */
export const href = {
  overview: "#/",
  actor: (name: string) => `#/actors/${encodeURIComponent(name)}`,
  job: (id: string) => `#/jobs/${encodeURIComponent(id)}`,
  search: (q: string) => `#/search/${encodeURIComponent(q)}`,
  failed: "#/failed",
  workers: "#/workers",
  events: "#/events",
}
