/**
 * One actor: pause/resume, bulk actions, search within it, and its jobs by state with cursor
 * paging (newest first).
 */
import { useEffect, useState } from "preact/hooks"
import { ActionButton, bulkDone, ErrorNote } from "../Actions.js"
import type { Can } from "../App.js"
import { call, get } from "../Client.js"
import { duration, href, time } from "../Format.js"
import { type ActorInfo, type JobPage, type Overview, states } from "../Types.js"
import { SearchResults } from "./SearchPage.js"

const JobList = ({ actor, state, version }: { actor: string; state: string; version: number }) => {
  // Cursors of the pages before this one: "Newer" goes back through them.
  const [cursors, setCursors] = useState<ReadonlyArray<string>>([])
  const [page, setPage] = useState<JobPage | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const cursor = cursors[cursors.length - 1]
  useEffect(() => setCursors([]), [actor, state])
  useEffect(() => {
    setError(undefined)
    const params = new URLSearchParams({ state, limit: "25", ...(cursor === undefined ? {} : { cursor }) })
    get<JobPage>(`/v1/actors/${encodeURIComponent(actor)}/jobs?${params}`).then(setPage, (e) => {
      setPage(undefined)
      setError(e)
    })
  }, [actor, state, cursor, version])
  if (error !== undefined) return <ErrorNote error={error} />
  if (page === undefined) return <p>Loading…</p>
  return (
    <>
      {page.jobs.length === 0 ? (
        <p>No {state} jobs.</p>
      ) : (
        <div class="table-wrap">
          <table data-testid="job-list">
            <thead>
              <tr>
                <th>job</th>
                <th>state</th>
                <th>attempt</th>
                <th>submitted</th>
                <th>ran</th>
                <th>error</th>
              </tr>
            </thead>
            <tbody>
              {page.jobs.map((job) => (
                <tr key={job.jobId}>
                  <td class="mono">
                    <a href={href.job(job.jobId)}>{job.jobId}</a>
                  </td>
                  <td>
                    <span class={`state ${job.state}`}>{job.state}</span>
                  </td>
                  <td>{job.attempt}</td>
                  <td>{time(job.submittedAt)}</td>
                  <td>{job.runMs === undefined ? "" : duration(job.runMs)}</td>
                  <td>{job.error === undefined ? "" : `${job.error.tag}: ${job.error.message}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="pager">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Newer
        </button>
        <button
          type="button"
          disabled={page.nextCursor === undefined}
          onClick={() => page.nextCursor !== undefined && setCursors([...cursors, page.nextCursor])}
        >
          Older →
        </button>
      </div>
    </>
  )
}

export const ActorPage = ({ actor, overview, can }: { actor: string; overview: Overview | undefined; can: Can }) => {
  const [state, setState] = useState<string>("queued")
  const [info, setInfo] = useState<ActorInfo | undefined>(undefined)
  const [infoError, setInfoError] = useState<unknown>(undefined)
  const [version, setVersion] = useState(0)
  const [query, setQuery] = useState("")
  const [searched, setSearched] = useState("")
  const path = `/v1/actors/${encodeURIComponent(actor)}`
  useEffect(() => {
    get<ReadonlyArray<ActorInfo>>("/v1/actors").then((actors) => {
      const found = actors.find((a) => a.name === actor)
      setInfo(found)
      setInfoError(found === undefined ? new Error(`no actor named "${actor}"`) : undefined)
    }, setInfoError)
    // Read again when the pushed overview says it was paused or resumed elsewhere.
  }, [actor, version, overview?.actors.find((a) => a.name === actor)?.paused])
  const refresh = () => setVersion((n) => n + 1)
  const live = overview?.actors.find((a) => a.name === actor)
  const paused = info?.paused === true
  return (
    <>
      <h1>
        {actor}{" "}
        {paused && (
          <span class="badge bad" data-testid="paused">
            paused
          </span>
        )}
      </h1>
      <ErrorNote error={infoError} />
      {live !== undefined && (
        <p class="muted">
          {live.depth} waiting · {live.counts.active ?? 0} active · {live.delayed} delayed ·{" "}
          {live.counts.deadLettered ?? 0} dead-lettered · {live.workers} workers
        </p>
      )}
      {can.admin && (
        <div class="toolbar" data-testid="actor-actions">
          {paused ? (
            <ActionButton
              label="Resume"
              testId="resume"
              confirm={`Resume ${actor}? Workers start claiming its jobs again.`}
              run={() => call("POST", `${path}/resume`)}
              done={() => "resumed"}
              after={refresh}
            />
          ) : (
            <ActionButton
              label="Pause"
              testId="pause"
              confirm={`Pause ${actor}? Workers everywhere stop claiming its jobs until it is resumed; running jobs finish.`}
              run={() => call("POST", `${path}/pause`)}
              done={() => "paused"}
              after={refresh}
            />
          )}
          <ActionButton
            label="Retry all dead letters"
            confirm={`Send every dead letter of ${actor} back to its inbox?`}
            run={() => call("POST", "/v1/dead-letters/retry", { actor })}
            done={bulkDone}
            after={refresh}
          />
          <ActionButton
            label="Purge dead letters"
            danger
            confirm={`Delete every dead letter of ${actor} and its job? This cannot be undone.`}
            run={() => call("POST", "/v1/dead-letters/purge", { actor })}
            done={bulkDone}
            after={refresh}
          />
          <ActionButton
            label="Cancel queued and delayed"
            danger
            confirm={`Cancel every queued or delayed job of ${actor}?`}
            run={() => call("POST", `${path}/cancel-waiting`)}
            done={bulkDone}
            after={refresh}
          />
        </div>
      )}
      <form
        class="inline-search"
        onSubmit={(event) => {
          event.preventDefault()
          setSearched(query.trim())
        }}
      >
        <input
          type="search"
          name="actor-q"
          placeholder={`search ${actor}: job id, idempotency key, correlation id`}
          value={query}
          onInput={(e) => setQuery(e.currentTarget.value)}
        />
        <button type="submit">Search</button>
      </form>
      {searched !== "" && <SearchResults query={searched} actor={actor} />}
      <div class="tabs" role="tablist">
        {states.map((s) => (
          <button
            type="button"
            role="tab"
            key={s}
            aria-selected={s === state}
            class={s === state ? "tab selected" : "tab"}
            onClick={() => setState(s)}
          >
            {s}
            {live?.counts[s] !== undefined ? ` (${live.counts[s]})` : ""}
          </button>
        ))}
      </div>
      <JobList actor={actor} state={state} version={version} />
    </>
  )
}
