/** Every actor at a glance: its counts, workers, oldest waiting job and the last hour's outcomes. */
import { OutcomesChart } from "../Chart.js"
import { duration, href } from "../Format.js"
import type { ActorOverview, Overview } from "../Types.js"

const Stat = ({ label, name, value }: { label: string; name: string; value: string | number }) => (
  <div class="stat" data-stat={name}>
    <span class="value">{value}</span>
    <span class="label">{label}</span>
  </div>
)

const ActorCard = ({ actor }: { readonly actor: ActorOverview }) => {
  const lastHour = actor.perMinute.reduce(
    (sum, m) => ({ ok: sum.ok + m.succeeded, failed: sum.failed + m.failed, dead: sum.dead + m.deadLettered }),
    { ok: 0, failed: 0, dead: 0 },
  )
  return (
    <section class="card" data-actor={actor.name}>
      <h2>
        <a href={href.actor(actor.name)}>{actor.name}</a>
        {actor.paused && <span class="badge bad"> paused</span>}
      </h2>
      <div class="stats">
        <Stat label="waiting" name="depth" value={actor.depth} />
        <Stat label="active" name="active" value={actor.counts.active ?? 0} />
        <Stat label="delayed" name="delayed" value={actor.delayed} />
        <Stat label="retrying" name="retrying" value={actor.counts.retrying ?? 0} />
        <Stat label="dead-lettered" name="deadLettered" value={actor.counts.deadLettered ?? 0} />
        <Stat label="succeeded" name="succeeded" value={actor.counts.succeeded ?? 0} />
        <Stat label="workers" name="workers" value={actor.workers} />
        <Stat
          label="oldest waiting"
          name="oldestWaiting"
          value={actor.oldestWaitingMs === undefined ? "—" : duration(actor.oldestWaitingMs)}
        />
      </div>
      <p class="muted">
        last hour: {lastHour.ok} succeeded, {lastHour.failed} failed attempts, {lastHour.dead} dead-lettered
      </p>
      <OutcomesChart minutes={actor.perMinute} />
    </section>
  )
}

export const OverviewPage = ({ overview }: { readonly overview: Overview | undefined }) => {
  if (overview === undefined) return <p>Waiting for the first overview…</p>
  return (
    <>
      <h1>Overview</h1>
      <p class="muted">
        {overview.actors.length} actors · {overview.workers.length} workers · updated live
      </p>
      <div class="cards">
        {overview.actors.map((actor) => (
          <ActorCard key={actor.name} actor={actor} />
        ))}
      </div>
    </>
  )
}
