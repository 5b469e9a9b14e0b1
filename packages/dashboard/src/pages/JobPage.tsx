/**
 * One job: its status (input, output or error with its stack, attempt, lane, correlation and
 * causation links), its timeline from the event log — the same steps `eddy replay` prints, from
 * core's `JobTimeline` — followed live until the job ends, and its actions.
 */
import * as JobTimeline from "@eddy/core/JobTimeline"
import { useEffect, useState } from "preact/hooks"
import { ActionButton, ErrorNote } from "../Actions.js"
import type { Can } from "../App.js"
import { apiKey, call, follow, get } from "../Client.js"
import { duration, href, json, time } from "../Format.js"
import type { JobEvent, JobStatus } from "../Types.js"

const terminal = new Set(["succeeded", "deadLettered", "cancelled"])

// Long text wraps on the page: nothing to clip.
const details = (event: JobEvent): string => JobTimeline.details(event, { time, clip: (text) => text })

const curlOf = (status: JobStatus): string => {
  const key = apiKey() === undefined ? "" : " -H 'authorization: Bearer $EDDY_API_KEY'"
  const body = JSON.stringify({ input: status.input }).replaceAll("'", "'\\''")
  return `curl -X POST${key} -H 'content-type: application/json' -d '${body}' ${location.origin}/v1/actors/${encodeURIComponent(status.actor)}/jobs`
}

const stackOf = (data: unknown): string | undefined =>
  typeof data === "object" && data !== null && typeof (data as { stack?: unknown }).stack === "string"
    ? (data as { stack: string }).stack
    : undefined

const Timeline = ({ events }: { readonly events: ReadonlyArray<JobEvent> }) => {
  const timeline = JobTimeline.of(events)
  if (timeline === undefined) return <p>No events (the log may have been trimmed).</p>
  return (
    <>
      <p class="muted">
        {timeline.attempts} attempt(s), {timeline.steps.length} events, {timeline.last} after{" "}
        {duration(timeline.totalMs)}
      </p>
      <ol class="timeline" data-testid="timeline">
        {timeline.steps.map(({ event, offsetMs, waitedMs, ranMs }) => (
          <li key={event.id} class={`step ${event.type}`} data-type={event.type}>
            <span class="offset">+{duration(offsetMs)}</span>
            <span class="type">{event.type}</span>
            <span class="attempt">#{event.attempt}</span>
            {event.worker !== undefined && <span class="worker mono">@{event.worker}</span>}
            <span class="details">{details(event)}</span>
            {waitedMs !== undefined && <span class="note">waited {duration(waitedMs)}</span>}
            {ranMs !== undefined && <span class="note">ran {duration(ranMs)}</span>}
          </li>
        ))}
      </ol>
    </>
  )
}

export const JobPage = ({ jobId, can }: { readonly jobId: string; readonly can: Can }) => {
  const [status, setStatus] = useState<JobStatus | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const [events, setEvents] = useState<ReadonlyArray<JobEvent>>([])
  const [streamError, setStreamError] = useState<unknown>(undefined)
  const [version, setVersion] = useState(0)
  const [copied, setCopied] = useState<string | undefined>(undefined)
  const path = `/v1/jobs/${encodeURIComponent(jobId)}`

  useEffect(() => {
    get<JobStatus>(path).then((s) => {
      setStatus(s)
      setError(undefined)
    }, setError)
  }, [jobId, version])

  // History then live events; after a retry (a new life) it follows again.
  useEffect(() => {
    const byId = new Map<string, JobEvent>()
    let ended = false
    setEvents([])
    return follow(
      `${path}/events`,
      (type, data) => {
        if (type === "error") return setStreamError(new Error(`the event stream failed: ${data}`))
        const event = JSON.parse(data) as JobEvent
        byId.set(event.id, event)
        ended = terminal.has(event.type)
        setEvents([...byId.values()].sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1)))
        setVersion((n) => n + 1)
      },
      (state) => setStreamError(state.kind === "down" ? state.error : undefined),
      { reconnect: () => !ended },
    )
  }, [jobId, status?.state === "deadLettered" || status?.state === "cancelled" ? "ended" : "live"])

  if (error !== undefined) return <ErrorNote error={error} />
  if (status === undefined) return <p>Loading…</p>
  const refresh = () => setVersion((n) => n + 1)
  const finished = terminal.has(status.state)
  const stack = stackOf(status.error?.data)
  return (
    <>
      <h1 class="mono">{status.jobId}</h1>
      <dl class="facts">
        <dt>actor</dt>
        <dd>
          <a href={href.actor(status.actor)}>{status.actor}</a>
        </dd>
        <dt>state</dt>
        <dd>
          <span class={`state ${status.state}`} data-testid="job-state">
            {status.state}
          </span>
          {status.cancelRequested && " (cancel requested)"}
          {status.deadLetterReason !== undefined && ` (${status.deadLetterReason})`}
        </dd>
        <dt>attempt</dt>
        <dd>
          {status.attempt} of {status.maxAttempts}
        </dd>
        <dt>lane</dt>
        <dd>{status.lane}</dd>
        <dt>progress</dt>
        <dd>{Math.round(status.progress * 100)}%</dd>
        <dt>submitted</dt>
        <dd>{time(status.submittedAt)}</dd>
        {status.finishedAt !== undefined && (
          <>
            <dt>finished</dt>
            <dd>{time(status.finishedAt)}</dd>
          </>
        )}
        {status.worker !== undefined && (
          <>
            <dt>worker</dt>
            <dd class="mono">{status.worker}</dd>
          </>
        )}
        {status.correlationId !== undefined && (
          <>
            <dt>correlation</dt>
            <dd class="mono">
              <a href={href.job(status.correlationId)}>{status.correlationId}</a>
            </dd>
          </>
        )}
        {status.causationId !== undefined && (
          <>
            <dt>caused by</dt>
            <dd class="mono">
              <a href={href.job(status.causationId)}>{status.causationId}</a>
            </dd>
          </>
        )}
      </dl>
      <div class="toolbar" data-testid="job-actions">
        {can.submit && !finished && (
          <ActionButton
            label="Cancel"
            danger
            confirm={`Cancel job ${status.jobId}?`}
            run={() => call("POST", `${path}/cancel`)}
            done={(answer) => (answer as { status: string }).status}
            after={refresh}
          />
        )}
        {can.admin && status.state === "deadLettered" && (
          <ActionButton
            label="Retry"
            testId="retry-job"
            confirm={`Send job ${status.jobId} back to its inbox with a fresh attempt budget?`}
            run={() => call("POST", `/v1/dead-letters/${encodeURIComponent(status.jobId)}/retry`)}
            done={() => "requeued"}
            after={refresh}
          />
        )}
        <button
          type="button"
          onClick={() => {
            const text = curlOf(status)
            navigator.clipboard?.writeText(text).then(
              () => setCopied(text),
              () => setCopied(text),
            ) ?? setCopied(text)
          }}
        >
          Copy as curl
        </button>
      </div>
      {copied !== undefined && <pre class="code">{copied}</pre>}
      <h2>Input</h2>
      <pre class="code">{json(status.input)}</pre>
      {status.output !== undefined && (
        <>
          <h2>Output</h2>
          <pre class="code">{json(status.output)}</pre>
        </>
      )}
      {status.error !== undefined && (
        <>
          <h2>Error</h2>
          <pre class="code error-text">
            {status.error.tag}: {status.error.message}
            {stack !== undefined
              ? `\n\n${stack}`
              : status.error.data !== undefined
                ? `\n\n${json(status.error.data)}`
                : ""}
          </pre>
        </>
      )}
      <h2>Timeline {!finished && <span class="badge good">live</span>}</h2>
      <ErrorNote error={streamError} />
      <Timeline events={events} />
    </>
  )
}
