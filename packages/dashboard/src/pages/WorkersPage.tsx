/** Worker processes: host, pid, actors, running jobs, started at, last heartbeat; stale ones marked. */
import { duration, time } from "../Format.js"
import type { Overview, Presence } from "../Types.js"

/** A heartbeat is stale when two beats were missed (presence lasts three beats). */
const isStale = (worker: Presence, now: number): boolean => {
  if (worker.heartbeatAt === undefined) return false
  const ttl = worker.expiresAt - worker.heartbeatAt
  return now - worker.heartbeatAt > (ttl * 2) / 3
}

export const WorkersPage = ({ overview }: { readonly overview: Overview | undefined }) => {
  if (overview === undefined) return <p>Waiting for the first overview…</p>
  return (
    <>
      <h1>Workers</h1>
      {overview.workers.length === 0 ? (
        <p>No worker is running.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>worker</th>
                <th>host</th>
                <th>pid</th>
                <th>actors</th>
                <th>running</th>
                <th>started</th>
                <th>last heartbeat</th>
                <th>status</th>
              </tr>
            </thead>
            <tbody>
              {overview.workers.map((worker) => {
                const stale = isStale(worker, overview.at)
                return (
                  <tr key={worker.id} data-worker={worker.id} class={stale ? "stale" : ""}>
                    <td class="mono">{worker.id}</td>
                    <td>{worker.host}</td>
                    <td>{worker.pid}</td>
                    <td>{worker.actors.join(", ")}</td>
                    <td>
                      {worker.inFlight} / {worker.concurrency}
                    </td>
                    <td>{time(worker.startedAt)}</td>
                    <td>
                      {worker.heartbeatAt === undefined ? "—" : `${duration(overview.at - worker.heartbeatAt)} ago`}
                    </td>
                    <td>{stale ? <span class="badge bad">stale</span> : <span class="badge good">live</span>}</td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  )
}
