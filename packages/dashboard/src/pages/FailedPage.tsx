/**
 * The failed-jobs panel: the dead letters of every actor, newest first, filtered by actor and
 * reason; retry or purge one, or all that match the filter.
 */
import { useEffect, useState } from "preact/hooks"
import { ActionButton, bulkDone, ErrorNote } from "../Actions.js"
import type { Can } from "../App.js"
import { call, get } from "../Client.js"
import { FilterSelect } from "../FilterSelect.js"
import { href, time } from "../Format.js"
import type { DeadLetter, DeadLetterPage, Overview } from "../Types.js"

const reasons = ["attemptsExhausted", "nonRetryable", "stalled", "malformed"]

const errorText = (error: unknown): string => {
  if (error === undefined) return ""
  if (typeof error === "object" && error !== null && "message" in error)
    return `${(error as { tag?: string }).tag ?? "Error"}: ${String((error as { message: unknown }).message)}`
  return typeof error === "string" ? error : JSON.stringify(error)
}

export const FailedPage = ({ overview, can }: { readonly overview: Overview | undefined; readonly can: Can }) => {
  const [actor, setActor] = useState("")
  const [reason, setReason] = useState("")
  const [items, setItems] = useState<ReadonlyArray<DeadLetter> | undefined>(undefined)
  const [nextCursor, setNextCursor] = useState<string | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const [version, setVersion] = useState(0)
  // Dead-lettered counts of every actor: when they change, the list is read again (pushed, not polled).
  const deadCount = overview?.actors.reduce((sum, a) => sum + (a.counts.deadLettered ?? 0), 0)
  const query = (cursor?: string) =>
    new URLSearchParams({
      limit: "50",
      ...(actor === "" ? {} : { actor }),
      ...(reason === "" ? {} : { reason }),
      ...(cursor === undefined ? {} : { cursor }),
    })
  useEffect(() => {
    get<DeadLetterPage>(`/v1/dead-letters?${query()}`).then((page) => {
      setItems(page.items)
      setNextCursor(page.nextCursor)
      setError(undefined)
    }, setError)
  }, [actor, reason, version, deadCount])
  const more = () =>
    nextCursor !== undefined &&
    get<DeadLetterPage>(`/v1/dead-letters?${query(nextCursor)}`).then((page) => {
      setItems([...(items ?? []), ...page.items])
      setNextCursor(page.nextCursor)
    }, setError)
  const refresh = () => setVersion((n) => n + 1)
  const filter = { ...(actor === "" ? {} : { actor }), ...(reason === "" ? {} : { reason }) }
  const scope = `${actor === "" ? "every actor" : actor}${reason === "" ? "" : ` with reason ${reason}`}`
  return (
    <>
      <h1>Failed jobs</h1>
      <div class="toolbar">
        <FilterSelect
          name="actor"
          options={overview?.actors.map((a) => a.name) ?? []}
          value={actor}
          onChange={setActor}
        />
        <FilterSelect name="reason" options={reasons} value={reason} onChange={setReason} />
        {can.admin && (
          <>
            <ActionButton
              label="Retry all"
              testId="retry-all"
              confirm={`Retry every dead letter of ${scope}?`}
              run={() => call("POST", "/v1/dead-letters/retry", filter)}
              done={bulkDone}
              after={refresh}
            />
            <ActionButton
              label="Purge all"
              danger
              testId="purge-all"
              confirm={`Delete every dead letter of ${scope} and its job? This cannot be undone.`}
              run={() => call("POST", "/v1/dead-letters/purge", filter)}
              done={bulkDone}
              after={refresh}
            />
          </>
        )}
      </div>
      <ErrorNote error={error} />
      {items === undefined ? (
        <p>Loading…</p>
      ) : items.length === 0 ? (
        <p>No dead letters{reason === "" && actor === "" ? "" : " match"}.</p>
      ) : (
        <div class="table-wrap">
          <table data-testid="dead-letters">
            <thead>
              <tr>
                <th>job</th>
                <th>actor</th>
                <th>reason</th>
                <th>error</th>
                <th>attempt</th>
                <th>time</th>
                {can.admin && <th />}
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr key={item.cursor} data-job={item.jobId}>
                  <td class="mono">
                    <a href={href.job(item.jobId)}>{item.jobId}</a>
                  </td>
                  <td>{item.actor}</td>
                  <td>{item.reason}</td>
                  <td class="error-text">{errorText(item.error)}</td>
                  <td>{item.attempt}</td>
                  <td>{time(item.at)}</td>
                  {can.admin && (
                    <td class="row-actions">
                      <ActionButton
                        label="Retry"
                        testId="retry"
                        confirm={`Retry job ${item.jobId}?`}
                        run={() => call("POST", `/v1/dead-letters/${encodeURIComponent(item.jobId)}/retry`)}
                        done={() => "requeued"}
                        after={refresh}
                      />
                      <ActionButton
                        label="Purge"
                        danger
                        testId="purge"
                        confirm={`Delete job ${item.jobId} and its dead letter?`}
                        run={() => call("DELETE", `/v1/dead-letters/${encodeURIComponent(item.jobId)}`)}
                        done={() => "purged"}
                        after={refresh}
                      />
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {nextCursor !== undefined && (
        <button type="button" onClick={() => void more()}>
          More
        </button>
      )}
    </>
  )
}
