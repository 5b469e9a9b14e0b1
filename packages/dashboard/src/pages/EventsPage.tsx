/** A live tail of the event log, filtered by actor and event type, that can be paused. */
import { useEffect, useRef, useState } from "preact/hooks"
import { ErrorNote } from "../Actions.js"
import { type ApiError, follow } from "../Client.js"
import { FilterSelect } from "../FilterSelect.js"
import { href, time } from "../Format.js"
import type { JobEvent, Overview } from "../Types.js"

const types = [
  "submitted",
  "started",
  "progress",
  "succeeded",
  "failed",
  "stalled",
  "deadLettered",
  "cancelRequested",
  "cancelled",
  "released",
  "requeued",
  "purged",
]
/** Events kept on the page. */
const keep = 500

export const EventsPage = ({ overview }: { readonly overview: Overview | undefined }) => {
  const [actor, setActor] = useState("")
  const [type, setType] = useState("")
  const [paused, setPaused] = useState(false)
  const [events, setEvents] = useState<ReadonlyArray<JobEvent>>([])
  const [held, setHeld] = useState(0)
  const [error, setError] = useState<ApiError | undefined>(undefined)
  const pausedRef = useRef(false)
  const buffer = useRef<Array<JobEvent>>([])
  pausedRef.current = paused

  useEffect(() => {
    setEvents([])
    buffer.current = []
    const params = new URLSearchParams({
      limit: "100",
      ...(actor === "" ? {} : { actor }),
      ...(type === "" ? {} : { type }),
    })
    const seen = new Set<string>()
    return follow(
      `/v1/events?${params}`,
      (kind, data) => {
        if (kind === "error") return
        const event = JSON.parse(data) as JobEvent
        if (seen.has(event.id)) return
        seen.add(event.id)
        buffer.current = [event, ...buffer.current].slice(0, keep)
        if (pausedRef.current) setHeld((n) => n + 1)
        else setEvents(buffer.current)
      },
      (state) => setError(state.kind === "down" ? state.error : undefined),
    )
  }, [actor, type])

  return (
    <>
      <h1>Live events</h1>
      <div class="toolbar">
        <FilterSelect
          name="actor"
          options={overview?.actors.map((a) => a.name) ?? []}
          value={actor}
          onChange={setActor}
        />
        <FilterSelect name="type" options={types} value={type} onChange={setType} />
        <button
          type="button"
          data-testid="tail-pause"
          onClick={() => {
            if (paused) {
              setEvents(buffer.current)
              setHeld(0)
            }
            setPaused(!paused)
          }}
        >
          {paused ? `Resume${held > 0 ? ` (${held} new)` : ""}` : "Pause"}
        </button>
      </div>
      <ErrorNote error={error} />
      <div class="table-wrap">
        <table data-testid="events">
          <thead>
            <tr>
              <th>time</th>
              <th>type</th>
              <th>actor</th>
              <th>job</th>
              <th>attempt</th>
              <th>worker</th>
            </tr>
          </thead>
          <tbody>
            {events.map((event) => (
              <tr key={event.id} data-type={event.type}>
                <td>{time(event.at)}</td>
                <td>
                  <span class={`state ${event.type}`}>{event.type}</span>
                </td>
                <td>{event.actor}</td>
                <td class="mono">
                  <a href={href.job(event.jobId)}>{event.jobId}</a>
                </td>
                <td>{event.attempt}</td>
                <td class="mono">{event.worker ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  )
}
