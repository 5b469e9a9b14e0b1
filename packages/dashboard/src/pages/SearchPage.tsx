/** Jobs found by job id, idempotency key or correlation id. */
import { useEffect, useState } from "preact/hooks"
import { ErrorNote } from "../Actions.js"
import { get } from "../Client.js"
import { href, time } from "../Format.js"
import type { SearchResult } from "../Types.js"

export const SearchResults = ({ query, actor }: { readonly query: string; readonly actor?: string }) => {
  const [result, setResult] = useState<SearchResult | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  useEffect(() => {
    setResult(undefined)
    setError(undefined)
    if (query === "") return
    const params = new URLSearchParams({ q: query, ...(actor === undefined ? {} : { actor }) })
    get<SearchResult>(`/v1/search?${params}`).then(setResult, setError)
  }, [query, actor])
  if (error !== undefined) return <ErrorNote error={error} />
  if (result === undefined) return query === "" ? null : <p>Searching…</p>
  return (
    <div data-testid="search-results">
      {result.matches.length === 0 ? (
        <p>No job matches “{query}”.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>job</th>
                <th>actor</th>
                <th>state</th>
                <th>submitted</th>
                <th>matched by</th>
              </tr>
            </thead>
            <tbody>
              {result.matches.map((match) => (
                <tr key={match.jobId}>
                  <td class="mono">
                    <a href={href.job(match.jobId)}>{match.jobId}</a>
                  </td>
                  <td>{match.actor}</td>
                  <td>
                    <span class={`state ${match.state}`}>{match.state}</span>
                  </td>
                  <td>{time(match.submittedAt)}</td>
                  <td>{match.matchedBy}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {result.truncated && (
        <p class="muted">The correlation scan stopped after {result.scannedEvents} events: older jobs may exist.</p>
      )}
    </div>
  )
}

export const SearchPage = ({ query }: { readonly query: string }) => (
  <>
    <h1>Search: {query}</h1>
    <SearchResults query={query} />
  </>
)
